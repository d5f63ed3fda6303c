"""Durability (issue 3, capability 11; DESIGN §9): `kill -9` the real server while 50 tickets wait
and two visits run; after a restart on the same data dir every waiting ticket is there in the same
order and the two visits and their tickets are `interrupted`, not lost. And a recorded visit killed
mid-call: after the restart its recording, up to the crash, is ready, playable and hashed."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from hall.demo import DEMO_PASSWORD
from hall.queue.lines import LINES
from recording.integrity import sha256_file_blocking
from tests import run_logs
from tests.media_fixtures import PlayerClient, wait_for
from tests.recording.test_recorder import decode_errors, ffprobe
from tests.support import registration, valid_id_number
from tests.web.test_cli import HALL, free_port
from tests.web.test_deadlines_cli import run_hall
from tests.web.test_visit_media import connect_media
from tests.web.test_ws import frame

WAITING = 50
VISIT_SECONDS = 6.0


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base: str


async def start(data_dir: Path) -> Server:
    """`hall serve` on a free port, once it answers /healthz."""
    port = free_port()
    log = run_logs.server_log("durability")  # read by tests/test_run_logs.py
    proc = await asyncio.create_subprocess_exec(
        *HALL,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        env={**os.environ, "JIEFANG_HALL_DEMO": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    log.close()  # the child holds its own descriptor
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, "hall serve exited early"
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return Server(proc, base)
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, "hall serve did not come up"
            await asyncio.sleep(0.1)


@dataclass
class Session:
    http: aiohttp.ClientSession
    base: str
    csrf: str

    async def post(self, path: str, body: object = None, *, status: int = 201) -> Any:
        async with self.http.post(
            self.base + path, json=body, headers={"X-CSRF-Token": self.csrf}
        ) as resp:
            data = await resp.json()
            assert resp.status == status, (resp.status, data)
            return data

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


@asynccontextmanager
async def logged_in(base: str, username: str) -> AsyncIterator[Session]:
    # unsafe=True keeps the cookies of an IP-address host like 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/login") as page:
            html = await page.text()
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
        async with http.post(f"{base}/login", data=form, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(f"{base}/api/me") as resp:
            csrf = (await resp.json())["csrf_token"]
        yield Session(http, base, csrf)


def body(i: int) -> dict[str, object]:
    """Tickets across the seven lines; every fifth one of the priority class."""
    out: dict[str, object] = {
        "name": f"钱{i}",
        "id_number": valid_id_number(f"61010219800101{i:03d}"),
        "phone": "13800138000",
        "village_id": 1,
        "head_count": 1,
        "summary": f"事项{i}",
        "line": LINES[i % len(LINES)].code,
    }
    if i % 5 == 0:
        out |= {"priority_class": "priority", "priority_reason": "elderly"}
    return out


async def waiting_order(desk: Session) -> dict[str, list[str]]:
    queues = await desk.get("/api/queues")
    return {q["line"]: [t["number"] for t in q["waiting"]] for q in queues["lines"]}


async def test_sigkill_with_50_waiting_and_two_live_visits_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    server = await start(data_dir)
    try:
        async with (
            logged_in(server.base, "desk") as desk,
            logged_in(server.base, "village-zhangzhuang") as terminal,
        ):
            for i in range(WAITING + 2):  # two of them are called below
                # The legal line's tickets come from a village terminal (remote video).
                await (terminal if i % 7 == 3 else desk).post("/api/visit-requests", body(i))
            async with (
                logged_in(server.base, "officer-urban") as urban,
                logged_in(server.base, "officer-legal") as legal,
            ):
                visits = [
                    await urban.post("/api/queue/call-next"),
                    await legal.post("/api/queue/call-next"),
                ]
            before = await waiting_order(desk)
        assert sum(len(numbers) for numbers in before.values()) == WAITING
    finally:
        server.process.send_signal(signal.SIGKILL)
        await server.process.wait()
    assert server.process.returncode == -signal.SIGKILL

    server = await start(data_dir)
    try:
        async with logged_in(server.base, "desk") as desk:
            assert await waiting_order(desk) == before
            # No terminal is connected yet: remote tickets keep their place in a grace window.
            queues = {q["line"]: q["waiting"] for q in (await desk.get("/api/queues"))["lines"]}
            assert queues["legal"] and all(t["away"] for t in queues["legal"])
            assert not any(t["away"] for t in queues["urban"])
            for visit in visits:
                ticket = await desk.get(f"/api/tickets/{visit['ticket']['id']}")
                assert ticket["state"] == "interrupted"
                log = await desk.get(f"/api/tickets/{visit['ticket']['id']}/log")
                assert [e["kind"] for e in log][-2:] == ["answered", "interrupted"]
            # The queue carries on from where it was: the head of urban is called next.
            async with logged_in(server.base, "officer-urban") as urban:
                called = await urban.post("/api/queue/call-next")
            assert called["ticket"]["number"] == before["urban"][0]
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), 30) == 0

    with sqlite3.connect(data_dir / "hall.db") as db:
        states = dict(db.execute("SELECT state, count(*) FROM tickets GROUP BY state").fetchall())
        visit_states = db.execute("SELECT id, state FROM visits ORDER BY id").fetchall()
        interrupted = db.execute(
            "SELECT ticket_id FROM ticket_events WHERE kind = 'interrupted' ORDER BY ticket_id"
        ).fetchall()
    assert states == {"waiting": WAITING - 1, "interrupted": 2, "serving": 1}
    assert visit_states[:2] == [(v["visit_id"], "interrupted") for v in visits]
    assert [t for (t,) in interrupted] == sorted(v["ticket"]["id"] for v in visits)


async def join_media(session: Session, room: str, media: Path) -> PlayerClient:
    """Open a WebSocket as ``session`` and send ``media`` into the visit's room (aiortc peer)."""
    ws = await session.http.ws_connect(session.base + "/ws")
    assert (await frame(ws))["type"] == "welcome"
    peer = PlayerClient(media)
    try:
        await connect_media(ws, room, peer)
    except BaseException:
        await peer.close()
        raise
    return peer


async def test_sigkill_mid_visit_keeps_the_recording_up_to_the_crash(
    tmp_path: Path, sample_webm: Path
) -> None:
    data_dir = tmp_path / "var"
    server = await start(data_dir)
    peers: list[PlayerClient] = []
    try:
        async with (
            logged_in(server.base, "village-zhangzhuang") as terminal,
            logged_in(server.base, "officer-urban") as officer,
        ):
            await terminal.post("/api/visit-requests", registration())
            called = await officer.post("/api/queue/call-next")
            peers.append(await join_media(officer, called["room"], sample_webm))
            peers.append(await join_media(terminal, called["room"], sample_webm))
            for peer in peers:
                await wait_for(lambda p=peer: len(p.received["video"]) > 30, within=20)  # type: ignore[misc]
            started = time.monotonic()
            await asyncio.sleep(VISIT_SECONDS)  # the visit goes on, recorded, until the crash
            server.process.send_signal(signal.SIGKILL)
            await server.process.wait()
            crashed_after = time.monotonic() - started
    finally:
        if server.process.returncode is None:
            server.process.send_signal(signal.SIGKILL)
            await server.process.wait()
        for peer in peers:
            await peer.close()
    folder = data_dir / "recordings" / f"visit-{called['visit_id']}"
    assert len(list(folder.glob("*.webm.part"))) == 2  # what the crash left

    server = await start(data_dir)
    try:
        async with logged_in(server.base, "officer-urban") as officer:
            deadline = time.monotonic() + 120
            while True:
                case = await officer.get(f"/api/cases/{called['case']['id']}")
                (visit,) = case["visits"]
                states = [r["state"] for r in visit["recordings"]]
                if "processing" not in states:
                    break
                assert time.monotonic() < deadline, states
                await asyncio.sleep(0.5)
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), 60) == 0

    assert visit["state"] == "interrupted"
    assert [(r["kind"], r["state"], r["salvaged"]) for r in visit["recordings"]] == [
        ("participant", "ready", True),
        ("participant", "ready", True),
        ("composite", "ready", True),
    ]
    with sqlite3.connect(data_dir / "hall.db") as db:
        rows = db.execute("SELECT path, sha256, duration_s FROM recordings ORDER BY id").fetchall()
        kinds = [k for (k,) in db.execute("SELECT kind FROM case_events ORDER BY case_id, seq")]
    for path, sha256, duration_s in rows:
        # Each file plays: ffprobe gives its duration, ffmpeg decodes it without a complaint.
        probed = float(ffprobe(Path(path), "-show_format")["format"]["duration"])
        assert probed >= VISIT_SECONDS - 2.0, (path, probed, crashed_after)
        assert abs(probed - duration_s) < 0.5
        assert decode_errors(Path(path)) == ""
        assert sha256 == sha256_file_blocking(Path(path))
    assert kinds.count("recording_salvaged") == 2 and "visit_interrupted" in kinds
    chain = run_hall("verify-chain", "--data-dir", str(data_dir))
    assert chain.returncode == 0, chain.stdout + chain.stderr
    assert ": intact" in chain.stdout
