"""A recorded 1:1 visit through the real WebSocket endpoint, with aiortc client peers that send
pre-encoded VP8 + Opus (nothing is decoded or encoded on the server)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hall.audit import AuditEntry
from hall.visits.tables import Recording
from tests.conftest import ClientFactory
from tests.media_fixtures import PlayerClient, wait_for
from tests.support import registration
from tests.web.test_ws import frame, open_ws
from web import keys


async def connect_media(
    ws: aiohttp.ClientWebSocketResponse, room: str, peer: PlayerClient
) -> dict[str, Any]:
    await ws.send_str(json.dumps({"type": "join", "room": room, "ref": "j"}))
    joined = await frame(ws, ref="j")
    assert joined["type"] == "joined", joined
    sdp, _ = await peer.offer()
    await ws.send_str(json.dumps({"type": "offer", "room": room, "sdp": sdp, "ref": "o"}))
    answer = await frame(ws, ref="o")
    assert answer["type"] == "answer", answer
    await peer.accept(answer["sdp"], answer["sdp_type"])
    return joined


def rate(items: list[Any], window_s: float) -> float:
    if not items:
        return 0.0
    last = items[-1].at
    return sum(1 for i in items if i.at > last - window_s) / window_s


async def test_recorded_visit_through_the_websocket(
    server: TestServer, client_as: ClientFactory, sample_webm: Path
) -> None:
    terminal = await client_as("village-zhangzhuang")
    officer = await client_as("officer-urban")
    created = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(created, dict)
    village_ws = await open_ws(terminal)
    topic = f"ticket:{created['ticket']['id']}"
    await village_ws.send_str(json.dumps({"type": "subscribe", "topic": topic}))
    called = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(called, dict)
    started = await frame(village_ws, type="event", name="visit_started")
    room = started["data"]["room"]
    assert room == called["room"]

    officer_ws = await open_ws(officer)
    village_peer = PlayerClient(sample_webm)
    officer_peer = PlayerClient(sample_webm)
    try:
        joined = await connect_media(officer_ws, room, officer_peer)
        assert joined["recording"] is True
        await connect_media(village_ws, room, village_peer)
        for peer in (village_peer, officer_peer):
            await wait_for(
                lambda p=peer: len(p.received["video"]) > 90,  # type: ignore[misc]
                within=15,
                what="video",
            )
        await asyncio.sleep(2.0)
        for peer in (village_peer, officer_peer):
            video, audio = peer.received["video"], peer.received["audio"]
            # Encoded packets arrive (the pass-through forwards, nothing decodes), at about the
            # source's 30 frames/s and Opus's 50 packets/s.
            assert all(item.is_packet for item in video + audio)
            assert video[0].keyframe
            assert rate(video, 2.0) >= 24, rate(video, 2.0)
            assert rate(audio, 2.0) >= 40, rate(audio, 2.0)
    finally:
        ended = await officer.post(
            f"/api/visits/{called['visit_id']}/end", {"outcome": "answered", "notes": "已答复"}
        )
        await village_peer.close()
        await officer_peer.close()
    assert isinstance(ended, dict)
    finished = await frame(village_ws, type="event", name="visit_ended")
    assert finished["data"]["case_number"] == ended["case_number"]
    # The event names the case only; the terminal reads the query code from its own ticket.
    assert "query_code" not in finished["data"]
    status = await terminal.get(f"/api/tickets/{created['ticket']['id']}")
    assert isinstance(status, dict) and len(status["query_code"]) == 6

    await asyncio.wait_for(server.app[keys.CALLS].wait_idle(), 120)
    async with server.app[keys.DB].reader() as session:
        rows = list(await session.scalars(select(Recording).order_by(Recording.id)))
    assert [(r.kind, r.state) for r in rows] == [
        ("participant", "ready"),
        ("participant", "ready"),
        ("composite", "ready"),
    ], [r.error for r in rows]
    roles = sorted(r.participant.split("-")[0] for r in rows if r.kind == "participant")
    assert roles == ["officer", "terminal"]
    composite = rows[-1]
    assert composite.duration_s is not None and composite.duration_s > 3
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", composite.path, "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stderr == ""

    # Playback is for authorised roles only, and every read is audited.
    resp = await officer.http.get(f"/recordings/{composite.id}/media")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "video/webm"
    assert len(await resp.read()) == composite.size_bytes
    # The player's follow-up range requests (seeking) are part of the same audited read.
    seek = await officer.http.get(
        f"/recordings/{composite.id}/media", headers={"Range": "bytes=1000-"}
    )
    assert seek.status == 206
    denied = await terminal.http.get(
        f"/recordings/{composite.id}/media", headers={"Accept": "application/json"}
    )
    assert denied.status == 403
    other_line = await client_as("officer-legal")
    denied = await other_line.http.get(
        f"/recordings/{composite.id}/media", headers={"Accept": "application/json"}
    )
    assert denied.status == 403
    async with server.app[keys.DB].reader() as session:
        audits = list(await session.scalars(select(AuditEntry)))
    assert [(a.action, a.target_id) for a in audits] == [("play", str(composite.id))]
    # A file lost outside the hall: a coded 410, and no read is audited.
    lost = rows[0]
    Path(lost.path).rename(Path(lost.path).with_suffix(".lost"))
    gone = await officer.http.get(
        f"/recordings/{lost.id}/media", headers={"Accept": "application/json"}
    )
    assert gone.status == 410
    assert (await gone.json())["error"]["code"] == "file_missing"
    async with server.app[keys.DB].reader() as session:
        assert len(list(await session.scalars(select(AuditEntry)))) == 1
    await village_ws.close()
    await officer_ws.close()
