"""Evidence documents of a case (证据材料): who may add and read them, their rows and timeline
events. Every read of a file is audited. The files themselves are `hall.cases.document_store`'s.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts import stations
from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.cases import cases
from hall.cases.document_store import StagedFile
from hall.cases.tables import Case, CaseDocument, Classification, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound

EVENT_KIND = "document_added"
# Staff roles that add documents; a terminal adds to the cases its station acts for (a ticket
# it issued, or its agent a party: `hall.accounts.stations`).
STAFF_UPLOADERS = (Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
# Who a document (and its timeline event) is shown to: the bureau only, or also the petitioner
# (and so the village terminal that acts for them, and the department handling the case).
VISIBILITIES = {"staff": Visibility.STAFF, "petitioner": Visibility.PETITIONER}
# What a terminal or a department sees besides a terminal's own uploads: the same visibility
# rule as the case timeline's petitioner-facing events.
SHARED = (Visibility.PUBLIC, Visibility.PETITIONER)
NOTE_MAX = 200
NAME_MAX = 120


def sanitise_name(raw: str | None) -> str:
    """The uploader's file name made safe for display: no folders, no control characters,
    at most `NAME_MAX` characters; "未命名" when nothing is left. Never used as a path."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Any space or line break becomes one space; other controls and format marks (such as a
    # right-to-left override that disguises "gnp.exe") are dropped.
    spaced = (" " if c.isspace() else c for c in text)
    text = "".join(c for c in spaced if unicodedata.category(c)[0] not in ("C", "Z") or c == " ")
    text = " ".join(text.split()).lstrip(".")
    return text[:NAME_MAX] or "未命名"


async def _case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    return case


async def _station_case(session: AsyncSession, who: Principal, case: Case) -> bool:
    """Whether the caller is a terminal whose station acts for the case."""
    if who.role != Role.TERMINAL:
        return False
    return await stations.station_acts_for(session, who.terminal_id, case.id)


async def _may_read(session: AsyncSession, who: Principal, case: Case) -> bool:
    if who.role == Role.TERMINAL:
        return await _station_case(session, who, case)
    if who.role == Role.DEPARTMENT and case.classification == Classification.ACCUSATION:
        # 检举控告 never reaches the accused unit, its evidence least of all.
        return False
    # A merged case's documents are read from the case it went into (its page lists them).
    return await cases.readable_through_merge(session, who, case)


async def case_for_upload(
    session: AsyncSession, who: Principal, case_id: int, *, max_per_case: int, lock: bool = False
) -> Case:
    """The case `who` may add a document to; `not_found`, `forbidden`, or `conflict` when the
    case already holds `max_per_case` documents (0: no limit). `lock` takes the case row's
    lock first (PostgreSQL), so that two uploads cannot both pass the count."""
    if lock:
        await session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
    case = await _case(session, case_id)
    if who.role == Role.TERMINAL:
        allowed = await _station_case(session, who, case)
    else:
        allowed = who.role in STAFF_UPLOADERS and cases.may_read(who, case)
    if not allowed:
        raise Forbidden("无权向该信访事项上传材料")
    if max_per_case:
        held = await session.scalar(
            select(func.count()).select_from(CaseDocument).where(CaseDocument.case_id == case.id)
        )
        if (held or 0) >= max_per_case:
            raise Conflict(f"该信访事项的材料已达上限（{max_per_case} 份）")
    return case


def parse_visibility(value: str) -> Visibility:
    """`staff` (default) or `petitioner`; `invalid_input` otherwise."""
    visibility = VISIBILITIES.get(value or "staff")
    if visibility is None:
        raise InvalidInput(
            "可见范围有误", fields={"visibility": "可见范围应为 staff 或 petitioner"}
        )
    return visibility


def parse_note(value: str) -> str:
    """A short description (说明) of the document; `invalid_input` when too long."""
    note = " ".join(value.split())
    if len(note) > NOTE_MAX:
        raise InvalidInput("说明过长", fields={"note": f"说明不能超过 {NOTE_MAX} 字"})
    return note


async def add(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    staged: StagedFile,
    *,
    name: str,
    visibility: Visibility,
    note: str,
    now: datetime,
    max_per_case: int,
) -> CaseDocument:
    """The row of a received file and its `document_added` timeline event (name, type, size,
    SHA-256), inside the caller's transaction; the caller keeps the file before committing."""
    case = await case_for_upload(session, who, case_id, max_per_case=max_per_case, lock=True)
    row = CaseDocument(
        case_id=case.id,
        uploaded_by=who.user_id,
        terminal_id=who.terminal_id if who.role == Role.TERMINAL else None,
        name=name,
        media_type=staged.media_type,
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        storage_name=staged.storage_name,
        visibility=visibility,
        note=note,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        case_id=case.id,
        kind=EVENT_KIND,
        at=now,
        actor_id=who.user_id,
        visibility=visibility,
        data={
            "document_id": row.id,
            "name": row.name,
            "media_type": row.media_type,
            "size_bytes": row.size_bytes,
            "sha256": row.sha256,
            "note": note,
        },
    )
    return row


def _shown_to(who: Principal, row: CaseDocument) -> bool:
    if who.role == Role.TERMINAL:
        # A terminal sees what it added and what the bureau shared with the petitioner.
        own = row.terminal_id is not None and row.terminal_id == who.terminal_id
        return own or row.visibility in SHARED
    if who.role == Role.DEPARTMENT:
        # A department sees what its timeline shows: never the bureau's staff-only material.
        return row.visibility in SHARED
    return True


async def list_documents(session: AsyncSession, who: Principal, case_id: int) -> list[CaseDocument]:
    """The case's documents the caller may see, oldest first, with those of the cases merged
    into it that the caller may read (`hall.cases.cases.readable_merged`); `not_found` /
    `forbidden`."""
    case = await _case(session, case_id)
    if not await _may_read(session, who, case):
        raise Forbidden("无权查看该信访事项的材料")
    case_ids = [case.id]
    if who.role != Role.TERMINAL:
        case_ids += [c.id for c in await cases.readable_merged(session, who, case.id)]
    rows = await session.scalars(
        select(CaseDocument).where(CaseDocument.case_id.in_(case_ids)).order_by(CaseDocument.id)
    )
    return [row for row in rows if _shown_to(who, row)]


async def open_for_reading(
    session: AsyncSession, who: Principal, document_id: int, *, now: datetime, action: str
) -> CaseDocument:
    """The document `who` may read; the read is audited (`action`: download | view)."""
    row = await session.get(CaseDocument, document_id)
    if row is None:
        raise NotFound(f"材料 {document_id} 不存在")
    case = await _case(session, row.case_id)
    if not await _may_read(session, who, case) or not _shown_to(who, row):
        raise Forbidden("无权查看该材料")
    await audit.record(
        session,
        at=now,
        user_id=who.user_id,
        action=action,
        target_type="document",
        target_id=row.id,
        detail={"case_id": row.case_id, "sha256": row.sha256},
    )
    return row


async def storage_names(session: AsyncSession) -> set[str]:
    """Every stored file name that has a row (start-up recovery keeps exactly these)."""
    return set(await session.scalars(select(CaseDocument.storage_name)))
