"""Evidence documents (证据材料) in the domain: typed from the content, size-limited and hashed
while streaming, `.part` until accepted, nothing left by a refused or broken upload; who may
add and read them; each added document is a timeline event and each read is audited."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hall import demo
from hall.audit import AuditEntry
from hall.cases import cases, documents
from hall.cases.document_store import DocumentStore
from hall.cases.tables import Case, CaseEvent, Visibility
from hall.cases.timeline import verify_chain
from hall.db import Database, migrate
from hall.errors import (
    Conflict,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    UnsupportedType,
)
from tests.document_fixtures import HTML, exe, jpeg_head, padded_png, pdf, png, webp_head
from tests.hall.cases.test_case_states import new_case
from tests.support import T0, principal
from tests.web import test_cli

LIMIT = 64 * 1024
pg_url = test_cli.pg_url  # a fresh PostgreSQL database (skipped when none is reachable)


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    folder = tmp_path / "documents"
    folder.mkdir()
    return DocumentStore(folder, max_bytes=LIMIT)


async def stream(
    data: bytes, size: int = 1000, pulled: list[int] | None = None
) -> AsyncIterator[bytes]:
    """`data` in chunks of `size` bytes, as a multipart part arrives; counts what was pulled."""
    for start in range(0, len(data), size):
        if pulled is not None:
            pulled.append(start)
        yield data[start : start + size]


def files(store: DocumentStore) -> list[str]:
    return sorted(p.name for p in store.directory.iterdir())


async def test_a_png_is_kept_under_a_random_name_with_its_hash(store: DocumentStore) -> None:
    data = png(64, 64)
    staged = await store.receive(stream(data, size=100))
    assert staged.media_type == "image/png"
    assert staged.size_bytes == len(data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert files(store) == [staged.storage_name + ".part"]  # complete, not yet accepted
    await staged.keep()
    assert files(store) == [staged.storage_name]
    assert staged.storage_name.endswith(".png") and len(staged.storage_name) == 36
    assert store.path(staged.storage_name).read_bytes() == data
    assert os.stat(store.path(staged.storage_name)).st_mode & 0o077 == 0
    again = await store.receive(stream(data))
    assert again.storage_name != staged.storage_name  # random, not derived from the content


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (png(), "image/png"),
        (jpeg_head(), "image/jpeg"),
        (webp_head(), "image/webp"),
        (pdf(), "application/pdf"),
        (pdf() + b"\x00" * 20000, "application/pdf"),  # typed across chunks past 8 KiB
    ],
)
async def test_accepted_types_are_sniffed_from_the_content(
    store: DocumentStore, data: bytes, media_type: str
) -> None:
    staged = await store.receive(stream(data, size=700))
    assert staged.media_type == media_type
    assert staged.storage_name.endswith(
        "." + {"image/jpeg": "jpg"}.get(media_type, media_type.split("/")[1])
    )


@pytest.mark.parametrize("data", [exe(), HTML, b"%PD", b"plain text, named photo.jpg"])
async def test_other_content_is_refused_and_nothing_is_written(
    store: DocumentStore, data: bytes
) -> None:
    with pytest.raises(UnsupportedType) as refused:
        await store.receive(stream(data))
    assert refused.value.code == "unsupported_type"
    assert "文件类型不支持" in refused.value.message
    assert files(store) == []


async def test_an_empty_file_is_invalid(store: DocumentStore) -> None:
    with pytest.raises(InvalidInput):
        await store.receive(stream(b""))
    assert files(store) == []


async def test_a_file_over_the_limit_stops_the_stream_and_leaves_nothing(
    store: DocumentStore,
) -> None:
    pulled: list[int] = []
    with pytest.raises(FileTooLarge) as refused:
        await store.receive(stream(padded_png(LIMIT * 4), size=4096, pulled=pulled))
    assert "文件过大" in refused.value.message
    assert files(store) == []
    # Refused as soon as the limit was passed, not after reading everything.
    assert len(pulled) == LIMIT // 4096 + 1
    exactly = await store.receive(stream(padded_png(LIMIT)))
    assert exactly.size_bytes == LIMIT


async def test_an_interrupted_upload_leaves_no_part_file(store: DocumentStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield padded_png(20000)
        raise ConnectionResetError("Connection lost")

    with pytest.raises(ConnectionResetError):
        await store.receive(broken())
    assert files(store) == []


async def test_discard_removes_a_staged_or_kept_file(store: DocumentStore) -> None:
    staged = await store.receive(stream(png()))
    await staged.discard()
    assert files(store) == []
    kept = await store.receive(stream(png()))
    await kept.keep()
    await kept.discard()  # the row's transaction failed after the rename
    await kept.discard()
    assert files(store) == []


async def test_recover_removes_leftovers_only(store: DocumentStore) -> None:
    kept = await store.receive(stream(png()))
    await kept.keep()
    leftover = await store.receive(stream(pdf()))  # a crash before the rename
    orphan = await store.receive(stream(png()))
    await orphan.keep()  # a crash between the rename and the commit
    (store.directory / "README.txt").write_text("not ours")
    assert await store.recover({kept.storage_name}, older_than_s=3600) == []  # maybe in flight
    removed = await store.recover({kept.storage_name}, older_than_s=0)
    assert sorted(removed) == sorted([leftover.storage_name + ".part", orphan.storage_name])
    assert files(store) == sorted(["README.txt", kept.storage_name])


def test_a_storage_name_cannot_point_elsewhere(store: DocumentStore) -> None:
    for name in ("../hall.db", "a" * 32 + ".exe", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="storage name"):
            store.path(name)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("现场照片.png", "现场照片.png"),
        ("C:\\Users\\村委\\Desktop\\收据.pdf", "收据.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..hidden\u202egnp.exe", "hiddengnp.exe"),
        ("a\r\nb\tc\u3000d.jpg", "a b c d.jpg"),
        (None, "未命名"),
        ("...", "未命名"),
        ("长" * 300, "长" * documents.NAME_MAX),
    ],
)
def test_the_file_name_is_sanitised_for_display(raw: str | None, shown: str) -> None:
    assert documents.sanitise_name(raw) == shown


async def add_png(
    db: Database, store: DocumentStore, username: str, case_id: int, visibility: Visibility
) -> int:
    who = await principal(db, username)
    staged = await store.receive(stream(png()))
    async with db.transaction() as session:
        row = await documents.add(
            session,
            who,
            case_id,
            staged,
            name="照片.png",
            visibility=visibility,
            note="现场",
            now=T0,
            max_per_case=3,
        )
        await staged.keep()
        return row.id


async def test_each_document_is_a_chained_timeline_event(
    db: Database, store: DocumentStore
) -> None:
    case_id = await new_case(db, 1)
    doc = await add_png(db, store, "officer-urban", case_id, Visibility.PETITIONER)
    async with db.reader() as session:
        event = await session.scalar(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == "document_added"
            )
        )
        assert event is not None
        assert event.visibility == Visibility.PETITIONER
        assert event.data == {
            "document_id": doc,
            "name": "照片.png",
            "media_type": "image/png",
            "size_bytes": len(png()),
            "sha256": hashlib.sha256(png()).hexdigest(),
            "note": "现场",
        }
        assert event.actor_id == (await principal(db, "officer-urban")).user_id
        assert await verify_chain(session, case_id) == []


async def test_who_may_add_and_read(db: Database, store: DocumentStore) -> None:
    remote = await new_case(db, 1, by="village-zhangzhuang")
    walk_in = await new_case(db, 2)
    legal = await new_case(db, 3, line="legal")
    terminal = await principal(db, "village-zhangzhuang")
    other_terminal = await principal(db, "village-lijiawan")
    officer = await principal(db, "officer-urban")
    department = await principal(db, "dept-zhujian")
    async with db.reader() as session:
        await documents.case_for_upload(session, terminal, remote, max_per_case=0)
        await documents.case_for_upload(session, officer, walk_in, max_per_case=0)
        refused = [
            (terminal, walk_in),  # not registered from its station
            (other_terminal, remote),
            (officer, legal),  # another line
            (department, remote),  # departments read, they do not add
        ]
        for who, case_id in refused:
            with pytest.raises(Forbidden):
                await documents.case_for_upload(session, who, case_id, max_per_case=0)
            with pytest.raises(Forbidden):
                await documents.list_documents(session, who, case_id)
        with pytest.raises(NotFound):
            await documents.case_for_upload(session, officer, 9999, max_per_case=0)

    own = await add_png(db, store, "village-zhangzhuang", remote, Visibility.STAFF)
    internal = await add_png(db, store, "officer-urban", remote, Visibility.STAFF)
    shared = await add_png(db, store, "officer-urban", remote, Visibility.PETITIONER)
    async with db.reader() as session:
        seen = [d.id for d in await documents.list_documents(session, terminal, remote)]
        assert seen == [own, shared]  # not the bureau's internal one
        everything = [d.id for d in await documents.list_documents(session, officer, remote)]
        assert everything == [own, internal, shared]
        with pytest.raises(Conflict, match="已达上限"):
            await documents.case_for_upload(session, officer, remote, max_per_case=3)
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await documents.open_for_reading(session, terminal, internal, now=T0, action="download")
        row = await documents.open_for_reading(session, terminal, own, now=T0, action="download")
        assert row.sha256 == hashlib.sha256(png()).hexdigest()
    async with db.reader() as session:
        entries = list(await session.scalars(select(AuditEntry)))
        assert [(e.user_id, e.action, e.target_type, e.target_id) for e in entries] == [
            (terminal.user_id, "download", "document", str(own))
        ]


async def test_a_department_reads_its_cases_but_never_an_accusation(
    db: Database, store: DocumentStore
) -> None:
    case_id = await new_case(db, 1)
    internal = await add_png(db, store, "officer-urban", case_id, Visibility.STAFF)
    doc = await add_png(db, store, "officer-urban", case_id, Visibility.PETITIONER)
    department = await principal(db, "dept-zhujian")
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        case.department_id = department.department_id
    async with db.reader() as session:
        # What the department's timeline shows: shared documents, never staff-only ones.
        assert [d.id for d in await documents.list_documents(session, department, case_id)] == [doc]
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await documents.open_for_reading(
                session, department, internal, now=T0, action="download"
            )
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        case.classification = "accusation"
    async with db.reader() as session:
        with pytest.raises(Forbidden):
            await documents.list_documents(session, department, case_id)
        # ... nor its traces: the timeline hides the document events from the department.
        view = await cases.case_view(session, department, case_id)
        assert "document_added" not in [e.kind for e in view.events]
        staff = await cases.case_view(session, await principal(db, "officer-urban"), case_id)
        assert [e.kind for e in staff.events].count("document_added") == 2


def test_visibility_and_note_are_checked() -> None:
    assert documents.parse_visibility("") == Visibility.STAFF
    assert documents.parse_visibility("petitioner") == Visibility.PETITIONER
    for bad in ("public", "restricted", "STAFF"):
        with pytest.raises(InvalidInput):
            documents.parse_visibility(bad)
    assert documents.parse_note("  现场  照片 ") == "现场 照片"
    with pytest.raises(InvalidInput):
        documents.parse_note("长" * (documents.NOTE_MAX + 1))


async def test_documents_on_postgresql(pg_url: str, store: DocumentStore) -> None:
    """The same rows, event and audited read on the production database."""
    await migrate(pg_url)
    pg = Database(pg_url)
    try:
        async with pg.transaction() as session:
            await demo.ensure_reference_data(session)
            await demo.seed_demo(session, now=T0)
        case_id = await new_case(pg, 1, by="village-zhangzhuang")
        doc = await add_png(pg, store, "village-zhangzhuang", case_id, Visibility.STAFF)
        officer = await principal(pg, "officer-urban")
        async with pg.transaction() as session:
            row = await documents.open_for_reading(session, officer, doc, now=T0, action="view")
            assert row.created_at == T0 and row.storage_name in files(store)
            assert await verify_chain(session, case_id) == []
        async with pg.reader() as session:
            assert await documents.storage_names(session) == {row.storage_name}
    finally:
        await pg.close()
