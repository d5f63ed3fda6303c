"""The official calendar's overrides: their tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class CalendarOverride(Base):
    """One day of the official calendar (法定节假日 / 调休上班日) entered by an administrator.

    It wins over the `chinese_calendar` package, so a bureau can enter next year's State Council
    notice (or a local statutory holiday) before the package knows it.
    """

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class CalendarYear(Base):
    """A year the package does not know, marked complete (本年已完整录入) by an administrator.

    Only then do its days without an override follow the week: a year with a few entries but
    no mark stays unknown, so a half-entered year never freezes a wrong due date.
    """

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime]
