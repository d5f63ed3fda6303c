"""The media hub with real aiortc peers: forwarding without decoding, rejoin, PLI, lifetimes."""

from __future__ import annotations

import asyncio
import gc
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import rtcrtpreceiver
from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder

from signaling.forwarding import ForwardingCounters, PacketTrack, Publication
from signaling.hub import MediaHub, MediaHubError, SessionDescription
from signaling.passthrough import (
    forward_keyframe_requests,
    get_passthrough_decoder,
    send_picture_loss,
)
from tests.media_fixtures import PlayerClient, Received, wait_for

FPS = 30


async def join(hub: MediaHub, room: str, participant: str, media: Path) -> PlayerClient:
    client = PlayerClient(media)
    sdp, type_ = await client.offer()
    answer = await hub.publish(room, participant, SessionDescription(sdp=sdp, type=type_))
    assert answer.type == "answer"
    await client.accept(answer.sdp, answer.type)
    return client


def count_between(items: list[Received], start: float, end: float) -> int:
    return sum(1 for item in items if start <= item.at < end)


def our_tasks() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done()]


async def test_two_participants_receive_each_other_as_encoded_packets(sample_webm: Path) -> None:
    hub = MediaHub()
    a = await join(hub, "visit-1", "officer", sample_webm)
    b = await join(hub, "visit-1", "villager", sample_webm)
    try:
        assert hub.participants("visit-1") == ["officer", "villager"]
        await wait_for(
            lambda: all(c.received["video"] and c.received["audio"] for c in (a, b)),
            what="media in both directions",
        )
        start = max(c.received["video"][0].at for c in (a, b))
        await asyncio.sleep(3.2)  # a measurement window, not a synchronisation
        for client in (a, b):
            video, audio = client.received["video"], client.received["audio"]
            assert all(item.is_packet for item in video + audio)
            assert video[0].keyframe
            assert count_between(video, start, start + 3.0) >= 0.8 * FPS * 3
            assert count_between(audio, start, start + 3.0) >= 0.8 * 50 * 3
            pts = [item.pts for item in video if item.pts is not None]
            assert all(later > earlier for earlier, later in zip(pts, pts[1:], strict=False))
        stats = hub.stats()
        assert stats["rooms"] == 1 and stats["peers"] == 2
        assert stats["forwarded_packets"] > 2 * 3 * (FPS + 50) * 0.8
        # Nothing decoded: the hook is in place and no aiortc decoder object exists.
        assert vars(rtcrtpreceiver)["get_decoder"] is get_passthrough_decoder
        gc.collect()
        assert not [o for o in gc.get_objects() if isinstance(o, Vp8Decoder | OpusDecoder)]
    finally:
        await hub.close()
        await a.close()
        await b.close()


async def test_republishing_switches_source_without_renegotiating_the_other_side(
    sample_webm: Path,
) -> None:
    hub = MediaHub()
    officer = await join(hub, "visit-2", "officer", sample_webm)
    villager = await join(hub, "visit-2", "villager", sample_webm)
    rejoined: PlayerClient | None = None
    try:
        seen = officer.received["video"]
        await wait_for(lambda: len(seen) >= FPS, what="officer receiving the first villager")
        villager_offer_sdp = officer.pc.remoteDescription.sdp

        # The villager's browser reloads: a new peer connection for the same participant.
        rejoined = await join(hub, "visit-2", "villager", sample_webm)
        switched_at = asyncio.get_running_loop().time()
        await villager.close()
        await wait_for(lambda: len(rejoined.received["video"]) >= FPS, what="rejoined receiving")
        before = len(seen)
        await wait_for(lambda: len(seen) >= before + 2 * FPS, what="officer receiving again")

        assert hub.participants("visit-2") == ["officer", "villager"]
        assert officer.pc.signalingState == "stable"
        assert officer.pc.remoteDescription.sdp == villager_offer_sdp  # no renegotiation
        assert rejoined.received["video"][0].keyframe
        pts = [item.pts for item in seen if item.pts is not None]
        steps = [later - earlier for earlier, later in zip(pts, pts[1:], strict=False)]
        assert min(steps) > 0, "officer's video went backwards across the switch"
        assert max(steps) < 5 * 90000, "officer's video jumped forward by more than 5 s"
        assert switched_at > 0
    finally:
        await hub.close()
        await officer.close()
        await villager.close()
        if rejoined is not None:
            await rejoined.close()


async def test_keyframe_request_from_a_subscriber_reaches_the_publisher(sample_webm: Path) -> None:
    hub = MediaHub()
    officer = await join(hub, "visit-3", "officer", sample_webm)
    villager = await join(hub, "visit-3", "villager", sample_webm)
    requests: list[str] = []
    try:
        # The villager's own sender is where the PLI must arrive; record it there.
        for sender in villager.pc.getSenders():
            if sender.kind == "video":
                forward_keyframe_requests(sender, lambda: requests.append("pli"))
        await wait_for(lambda: len(officer.received["video"]) >= FPS, what="officer video")
        receiver = next(r for r in officer.pc.getReceivers() if r.track.kind == "video")
        before = hub.stats()["keyframe_requests"]

        async def sent() -> bool:
            await send_picture_loss(receiver)  # what a browser does on picture loss
            return bool(requests)

        deadline = asyncio.get_running_loop().time() + 5
        while not await sent():
            assert asyncio.get_running_loop().time() < deadline, "PLI never reached publisher"
            await asyncio.sleep(0.35)  # the hub throttles keyframe requests to one per 300 ms
        assert hub.stats()["keyframe_requests"] > before
    finally:
        await hub.close()
        await officer.close()
        await villager.close()


async def test_leave_and_close_are_idempotent_and_leave_no_tasks(sample_webm: Path) -> None:
    hub = MediaHub()
    a = await join(hub, "visit-4", "officer", sample_webm)
    b = await join(hub, "visit-4", "villager", sample_webm)
    await wait_for(lambda: len(b.received["video"]) > 0, what="media")
    await hub.leave("visit-4", "officer")
    await hub.leave("visit-4", "officer")
    await hub.leave("no-such-room", "officer")
    assert hub.participants("visit-4") == ["villager"]
    assert hub.stats()["peers"] == 1
    await hub.close()
    await hub.close()
    assert hub.stats()["rooms"] == 0 and hub.stats()["peers"] == 0
    await a.close()
    await b.close()
    await wait_for(lambda: not our_tasks(), within=5, what=f"tasks to end: {our_tasks()}")
    try:
        await hub.publish("visit-4", "late", SessionDescription(sdp="", type="offer"))
    except MediaHubError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("publish on a closed hub must fail")


async def test_a_bad_offer_is_a_typed_error_naming_room_and_participant() -> None:
    hub = MediaHub()
    try:
        bad = [SessionDescription(sdp, "offer") for sdp in ("v=0\r\n", "m=video\r\n", "")]
        bad.append(SessionDescription("", "answer"))
        for offer in bad:
            try:
                await hub.publish("visit-5", "officer", offer)
            except MediaHubError as exc:
                assert "visit-5" in str(exc) and "officer" in str(exc)
            else:
                raise AssertionError(f"{offer} must be rejected")
        assert hub.participants("visit-5") == []
    finally:
        await hub.close()


# --- PacketTrack on its own: fed directly, no network --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def vp8(pts: int, keyframe: bool) -> av.Packet[Any]:
    packet = av.Packet(b"\x10\x02\x00" if keyframe else b"\x11\x02\x00")
    packet.pts = pts
    packet.time_base = Fraction(1, 90000)
    packet.is_keyframe = keyframe
    return packet


def publication(name: str, kind: str, counters: ForwardingCounters) -> Publication:
    track = PacketTrack(kind)  # any track will do: the pump is not started here
    return Publication(name, track, send_pli=None, counters=counters)


async def test_switching_source_keeps_timestamps_increasing_and_starts_at_a_keyframe() -> None:
    counters = ForwardingCounters()
    clock = Clock()
    track = PacketTrack("video", counters=counters, clock=clock)
    first, second = publication("a", "video", counters), publication("b", "video", counters)
    track.attach(first)
    track.push(vp8(900_000, False), first)  # before the first keyframe: dropped
    for i in range(3):
        track.push(vp8(900_000 + i * 3000, i == 0), first)
        clock.now += 1 / 30
    track.attach(second)
    clock.now += 0.5  # half a second without video while the publisher rejoins
    track.push(vp8(0, False), second)  # dropped: waiting for the new source's keyframe
    track.push(vp8(3000, True), second)
    track.push(vp8(6000, False), second)
    track.push(vp8(9000, False), first)  # from the old source: ignored
    out = [await track.recv() for _ in range(5)]
    assert [p.is_keyframe for p in out] == [True, False, False, True, False]
    pts = [p.pts or 0 for p in out]
    assert pts[:3] == [0, 3000, 6000]
    assert 0.5 * 90000 <= pts[3] - pts[2] <= 0.6 * 90000  # the wall-clock gap, not backwards
    assert pts[4] - pts[3] == 3000
    assert counters.dropped == 2 and counters.forwarded == 5
    track.stop()


async def test_overflow_drops_video_until_a_keyframe_and_oldest_audio() -> None:
    counters = ForwardingCounters()
    video = PacketTrack("video", capacity=4, counters=counters)
    source = publication("a", "video", counters)
    video.attach(source)
    for i in range(5):
        video.push(vp8(i * 3000, i == 0), source)  # the fifth overflows: everything goes
    video.push(vp8(15000, False), source)  # still waiting for a keyframe
    video.push(vp8(18000, True), source)
    assert (await video.recv()).is_keyframe
    assert counters.dropped == 6

    audio = PacketTrack("audio", capacity=2, counters=counters)
    voice = publication("a", "audio", counters)
    audio.attach(voice)
    for i in range(3):
        packet = av.Packet(bytes([0xFC, i]))
        packet.pts, packet.time_base = i * 960, Fraction(1, 48000)
        audio.push(packet, voice)
    assert [bytes(await audio.recv())[1] for _ in range(2)] == [1, 2]  # the oldest was dropped
    audio.stop()
    video.stop()


async def test_duplicate_and_late_frames_are_dropped_but_a_clock_reset_is_followed() -> None:
    """A repeated or reordered frame must not be forwarded as the newest one (a viewer would show
    an old picture, the recorder would write overlapping audio); a publisher whose clock starts
    over (a big jump back) is followed from the new point on."""
    counters = ForwardingCounters()
    track = PacketTrack("video", counters=counters, clock=Clock())
    source = publication("a", "video", counters)
    track.attach(source)
    sent = [(0, True), (3000, False), (3000, False), (6000, False), (3000, False), (9000, False)]
    for pts, key in sent:
        track.push(vp8(pts, key), source)
    out = [await track.recv() for _ in range(4)]
    assert [p.pts for p in out] == [0, 3000, 6000, 9000]
    assert counters.dropped == 2
    track.push(vp8(90_000 * 3600, True), source)  # an hour ahead: just a jump forward
    track.push(vp8(3000, True), source)  # far back: the publisher's clock started over
    track.push(vp8(6000, False), source)
    later = [await track.recv() for _ in range(3)]
    times = [p.pts or 0 for p in later]
    assert times[0] < times[1] < times[2] and times[2] - times[1] == 3000
    track.stop()
