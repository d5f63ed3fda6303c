"""Audit log: who read which personal record or recording, and security events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class AuditEntry(Base):
    """Audit log of reads of personal records and recordings, and of security events."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    user_id: int | None,
    action: str,
    target_type: str,
    target_id: str | int,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit entry inside the caller's transaction."""
    session.add(
        AuditEntry(
            at=at,
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=dict(detail or {}),
        )
    )


async def record_change(
    session: AsyncSession,
    by: int | None,
    now: datetime,
    action: str,
    target: tuple[str, str | int],
    detail: Mapping[str, Any],
) -> None:
    """An administrator's change (`by`, the user id; None from the CLI) of `target` (type, id)."""
    await record(
        session,
        at=now,
        user_id=by,
        action=action,
        target_type=target[0],
        target_id=target[1],
        detail=detail,
    )
