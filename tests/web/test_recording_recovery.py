"""Start-up recovery of recordings, through real restarts of the app on one data folder: the
`.part` files a crash left are salvaged into ready, hashed recordings marked 录制因服务中断而截止,
or quarantined with a failed row naming the file; a second restart changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from hall.cases.tables import CaseEvent
from hall.cases.timeline import verify_chain
from hall.visits.tables import Recording, Visit
from recording.integrity import sha256_file_blocking
from tests.support import login, registration
from web import keys
from web.app import create_app
from web.config import Config


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[TestServer]:
    """The app started on ``config`` (start-up recovery included) and stopped afterwards."""
    server = TestServer(create_app(config))
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def start_visit(server: TestServer) -> dict[str, Any]:
    """A village terminal's request called by the urban officer: the visit is live."""
    http = TestClient(server)
    await http.start_server()
    try:
        terminal = await login(http, "village-zhangzhuang")
        await terminal.post("/api/visit-requests", registration(), status=201)
        officer = await login(http, "officer-urban")
        called = await officer.post("/api/queue/call-next", status=201)
    finally:
        await http.close()
    assert isinstance(called, dict)
    return called


def leave_parts(config: Config, visit_id: int, media: Path) -> dict[str, Path]:
    """What a crash leaves in the visit's folder: the officer's file torn half-way through its
    clusters, the terminal's empty (the crash came before its first cluster)."""
    folder = config.recording.directory / f"visit-{visit_id}"
    folder.mkdir(parents=True, exist_ok=True)
    torn = media.read_bytes()
    parts = {
        "officer": folder / f"visit-{visit_id}-officer-2.webm.part",
        "terminal": folder / f"visit-{visit_id}-terminal-9.webm.part",
    }
    parts["officer"].write_bytes(torn[: len(torn) // 2])
    parts["terminal"].write_bytes(b"")
    return parts


async def crashed_visit(config: Config, media: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """A live visit whose server went away (the visit stays live in the database, as after a
    SIGKILL) leaving the parts of :func:`leave_parts`."""
    async with running(config) as server:
        called = await start_visit(server)
    return called, leave_parts(config, called["visit_id"], media)


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


async def state_of(server: TestServer, case_id: int) -> tuple[list[tuple[Any, ...]], list[str]]:
    async with server.app[keys.DB].reader() as session:
        rows = await session.scalars(select(Recording).order_by(Recording.id))
        recordings = [
            (r.id, r.kind, r.participant, r.state, r.path, r.sha256, r.salvaged, r.error)
            for r in rows
        ]
        events = await session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
        return recordings, list(events)


async def test_a_restart_salvages_what_a_crash_cut_short_and_quarantines_the_rest(
    config: Config, sample_webm: Path
) -> None:
    called, parts = await crashed_visit(config, sample_webm)
    visit_id, case_id = called["visit_id"], called["case"]["id"]
    directory = config.recording.directory
    stray = directory / "visit-999" / "visit-999-officer-2.webm.part"  # no such visit
    stray.parent.mkdir()
    stray.write_bytes(b"\x1a\x45\xdf\xa3 torn")

    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        recordings, events = await state_of(server, case_id)
        async with server.app[keys.DB].reader() as session:
            visit = await session.get_one(Visit, visit_id)
            rows = list(await session.scalars(select(Recording).order_by(Recording.id)))
            assert await verify_chain(session, case_id) == []
            salvaged_event = await session.scalar(
                select(CaseEvent).where(CaseEvent.kind == "recording_salvaged")
            )
        http = TestClient(server)
        await http.start_server()
        try:
            officer = await login(http, "officer-urban")
            case = await officer.get(f"/api/cases/{case_id}")
        finally:
            await http.close()

    assert visit.state == "interrupted"
    officer_row, terminal_row, composite = rows
    assert [(r.kind, r.participant, r.state, r.salvaged) for r in rows] == [
        ("participant", "officer-2", "ready", True),
        ("participant", "terminal-9", "failed", True),
        ("composite", "", "ready", True),
    ], [r.error for r in rows]
    folder = f"visit-{visit_id}"
    # The officer's half file plays: the sample is 12 s, half its bytes hold about 6 s.
    assert officer_row.path == str(parts["officer"].with_suffix(""))
    assert officer_row.duration_s is not None and 4.0 < officer_row.duration_s < 8.0
    assert officer_row.sha256 == sha256_file_blocking(Path(officer_row.path))
    assert composite.duration_s is not None
    assert abs(composite.duration_s - officer_row.duration_s) < 1.0
    assert composite.sha256 == sha256_file_blocking(Path(composite.path))
    # The empty one is kept in quarantine, its row names the file and the reason.
    quarantined = f"quarantine/{folder}/{parts['terminal'].name}"
    assert str(parts["terminal"]) in terminal_row.error
    assert "empty file" in terminal_row.error and quarantined in terminal_row.error
    assert tree(directory) == sorted(
        [
            f"{folder}/visit-{visit_id}-officer-2.webm",
            f"{folder}/visit-{visit_id}-composite.webm",
            f"{folder}/visit-{visit_id}-composite.jpg",
            quarantined,
            "quarantine/visit-999/visit-999-officer-2.webm.part",
        ]
    )
    # The case timeline tells the story, hash-chained.
    assert events[-5:] == [
        "visit_interrupted",
        "recording_salvaged",
        "recording_quarantined",
        "recording_ready",
        "recording_ready",
    ]
    assert salvaged_event is not None
    assert salvaged_event.data["duration_s"] == pytest.approx(officer_row.duration_s, abs=0.01)
    assert salvaged_event.data["participant"] == "officer-2"
    assert isinstance(case, dict)
    listed = case["visits"][0]["recordings"]
    assert [(r["kind"], r["state"], r["salvaged"]) for r in listed] == [
        ("participant", "ready", True),
        ("participant", "failed", True),
        ("composite", "ready", True),
    ]

    # Idempotent: one more restart changes nothing, in the database or on disk.
    files = tree(directory)
    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        assert await state_of(server, case_id) == (recordings, events)
    assert tree(directory) == files


async def test_a_crash_during_post_processing_is_processed_again(
    config: Config, sample_webm: Path
) -> None:
    """A visit ended normally, but the server died while its composite was being made: the
    restart runs post-processing again instead of failing the recording."""
    called, _ = await crashed_visit(config, sample_webm)
    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        async with server.app[keys.DB].transaction() as session:
            rows = list(await session.scalars(select(Recording).order_by(Recording.id)))
            for row in rows:  # the ready ones as they were while the composite was being made
                if row.state == "ready":
                    row.state, row.sha256, row.duration_s = "processing", None, None
    composite = Path(rows[-1].path)
    composite.unlink()
    composite.with_suffix(".jpg").unlink()
    composite.with_name(composite.name + ".part").write_bytes(b"half a composite")

    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        async with server.app[keys.DB].reader() as session:
            again = list(await session.scalars(select(Recording).order_by(Recording.id)))
    assert [r.state for r in again] == ["ready", "failed", "ready"]
    assert again[-1].sha256 == sha256_file_blocking(composite)
    assert not composite.with_name(composite.name + ".part").exists()
    assert again[0].visit_id == called["visit_id"]


async def test_a_graceful_stop_mid_visit_keeps_the_finished_files_with_the_case(
    config: Config, sample_webm: Path
) -> None:
    """A stop (SIGTERM) during a visit: the recorder finished its file as ``.webm``, but the visit
    was still live; the next start-up interrupts it and adopts the file like a salvaged one."""
    async with running(config) as server:
        called = await start_visit(server)
    visit_id, case_id = called["visit_id"], called["case"]["id"]
    folder = config.recording.directory / f"visit-{visit_id}"
    folder.mkdir(parents=True, exist_ok=True)
    finished = folder / f"visit-{visit_id}-officer-2.webm"
    finished.write_bytes(sample_webm.read_bytes())

    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        recordings, events = await state_of(server, case_id)
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in recordings] == [
        ("participant", "officer-2", "ready", str(finished), True),
        ("composite", "", "ready", str(folder / f"visit-{visit_id}-composite.webm"), True),
    ], [r[7] for r in recordings]
    assert recordings[0][5] == sha256_file_blocking(finished)
    assert "visit_interrupted" in events

    async with running(config) as server:  # idempotent: nothing more to adopt
        await server.app[keys.CALLS].wait_idle()
        again, _ = await state_of(server, case_id)
    assert again == recordings
