"""Rooms of N participants on the media hub (all-see-all): server offers when people join,
leave, rejoin or publish audio only; coalescing; the client-offer/server-offer race; recording."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from recording.recorder import RoomRecorder
from signaling.hub import MediaHub, SessionDescription, StaleAnswer
from signaling.negotiation import ServerOffer
from tests.media_fixtures import PlayerClient, wait_for
from tests.signaling.members import Member

ROOM = "visit-60"


def transceivers(member: Member) -> int:
    assert member.client is not None
    return len(member.client.pc.getTransceivers())


async def all_see_all(members: dict[str, Member], present: set[str], *, within: float = 30) -> None:
    """Every present member receives every other's video and audio, advancing, as packets."""
    pairs = [(members[a], b) for a in sorted(present) for b in sorted(present) if a != b]

    def mapped() -> bool:
        return all(
            {t.participant for t in members[a].tracks.values()} == present - {a} for a in present
        )

    await wait_for(mapped, within=within, what="every member's tracks naming exactly the others")

    def flowing(video: int, audio: int) -> bool:
        return all(
            len(m.received_from(b, "video")) >= video and len(m.received_from(b, "audio")) >= audio
            for m, b in pairs
        )

    await wait_for(lambda: flowing(3, 5), within=within, what="media between every pair")
    counts = {
        (m.participant_id, b): (len(m.received_from(b, "video")), len(m.received_from(b, "audio")))
        for m, b in pairs
    }

    def stalled() -> list[str]:
        return [
            f"{m.participant_id}<-{b} {counts[m.participant_id, b]}->"
            f"({len(m.received_from(b, 'video'))}, {len(m.received_from(b, 'audio'))})"
            for m, b in pairs
            if len(m.received_from(b, "video")) < counts[m.participant_id, b][0] + 5
            or len(m.received_from(b, "audio")) < counts[m.participant_id, b][1] + 5
        ]

    try:
        await wait_for(lambda: not stalled(), within=15, what="media advancing")
    except AssertionError:
        raise AssertionError(f"media stalled between {stalled()}") from None
    for m, b in pairs:
        video = m.received_from(b, "video")
        assert all(item.is_packet for item in video + m.received_from(b, "audio"))
        # A new subscriber gets a keyframe at once. (The receiver's jitter buffer may still hand
        # out one frame of the slot's previous participant first: it releases a frame when the
        # next one begins.)
        first_key = next((i for i, item in enumerate(video) if item.keyframe), None)
        assert first_key is not None and first_key <= 1, (m.participant_id, b, video[:3])
        assert video[first_key].at - m.mapped_at[m.mid_of(b, "video") or ""] < 2.0
        pts = [item.pts for item in video if item.pts is not None]
        assert all(later > earlier for earlier, later in zip(pts, pts[1:], strict=False))


async def test_six_parties_see_and_hear_everyone_while_joining_leaving_and_rejoining(
    small_webm: Path, tmp_path: Path
) -> None:
    hub = MediaHub()
    recorder = RoomRecorder(tmp_path, name=ROOM)
    hub.attach_sink(ROOM, recorder)
    await recorder.start()
    members = {f"p{i}": Member(hub, ROOM, f"p{i}", small_webm) for i in range(6)}
    rng = random.Random(9)
    present: set[str] = set()
    recordings = []
    try:
        order = list(members)
        rng.shuffle(order)
        for pid in order:
            await members[pid].publish()
            present.add(pid)
        await all_see_all(members, present)

        # Joins, leaves and rejoins (a new peer connection) in a seeded random order, quicker
        # than renegotiation settles, so that changes overlap outstanding server offers.
        log = []
        for _ in range(10):
            pid = rng.choice(order)
            if pid not in present:
                await members[pid].publish()
                present.add(pid)
                log.append(f"join {pid}")
            elif rng.random() < 0.5:
                await members[pid].leave()
                present.discard(pid)
                log.append(f"leave {pid}")
            else:
                await members[pid].publish()
                log.append(f"rejoin {pid}")
        await all_see_all(members, present)
        for pid in sorted(set(members) - present):  # everyone back for the recording check
            await members[pid].publish()
            present.add(pid)
            log.append(f"join {pid}")
        await all_see_all(members, present)
        assert sorted(hub.participants(ROOM)) == sorted(members), log
        # Slots of those who left were reused: one transceiver per own and per remote track.
        assert {pid: transceivers(m) for pid, m in members.items()} == {
            pid: 2 + 2 * 5 for pid in members
        }, log
    finally:
        hub.detach_sink(ROOM, recorder)
        try:
            recordings = await recorder.stop()
        finally:
            await hub.close()
            for member in members.values():
                await member.close()
    # One file per participant: a participant who left and came back continued its file.
    assert sorted(r.participant_id for r in recordings) == sorted(members)
    assert all(r.has_video and r.has_audio for r in recordings)
    assert sorted(p.name for p in tmp_path.glob("*.webm")) == sorted(
        f"{ROOM}-{pid}.webm" for pid in members
    )


async def test_changes_during_an_outstanding_offer_are_coalesced_into_the_next(
    small_webm: Path,
) -> None:
    hub = MediaHub()
    held: list[ServerOffer] = []
    quiet = PlayerClient(small_webm)
    others = [Member(hub, ROOM, name, small_webm) for name in ("b", "c", "d")]
    try:
        sdp, type_ = await quiet.offer()
        answer = await hub.publish(
            ROOM, "a", SessionDescription(sdp, type_), send_offer=held.append
        )
        await quiet.accept(answer.sdp, answer.type)
        await others[0].publish()
        await wait_for(lambda: len(held) == 1, what="the first server offer to a")
        assert {t.participant for t in held[0].tracks.values()} == {"b"}
        for member in others[1:]:
            await member.publish()
        await wait_for(
            lambda: all(len(m.received_from("b", "video")) >= 3 for m in others[1:]),
            what="c and d receiving b (the hub has processed their joins)",
        )
        assert len(held) == 1, "a second offer was made while the first was outstanding"

        await hub.accept_answer(
            ROOM,
            "a",
            held[0].revision,
            SessionDescription(await quiet.answer(held[0].sdp), "answer"),
        )
        await wait_for(lambda: len(held) == 2, what="the coalesced offer")
        assert held[1].revision == held[0].revision + 1
        assert sorted((t.participant, t.kind) for t in held[1].tracks.values()) == [
            (p, k) for p in ("b", "c", "d") for k in ("audio", "video")
        ]
    finally:
        await hub.close()
        await quiet.close()
        for member in others:
            await member.close()


async def test_a_client_offer_crossing_a_server_offer_wins_and_the_old_answer_is_stale(
    small_webm: Path,
) -> None:
    """Glare: the client's offer (always a new peer connection) crosses the server's offer for
    its current one. The hub answers the client, drops its own offer (aiortc cannot roll back,
    and nothing needs to), and offers again on the new peer connection."""
    hub = MediaHub()
    a = Member(hub, ROOM, "a", small_webm)
    b = Member(hub, ROOM, "b", small_webm)
    held: list[ServerOffer] = []
    first = PlayerClient(small_webm)
    try:
        await a.publish()
        sdp, type_ = await first.offer()
        answer = await hub.publish(
            ROOM, "b", SessionDescription(sdp, type_), send_offer=held.append
        )
        await first.accept(answer.sdp, answer.type)
        await wait_for(lambda: bool(held), what="a server offer to b")
        crossed = held[0]

        # b's browser answers, but its new offer (a new peer connection) reaches the hub first.
        late_answer = SessionDescription(await first.answer(crossed.sdp), "answer")
        await b.publish()  # the client offer crossing `crossed`: answered, no error
        with pytest.raises(StaleAnswer):
            await hub.accept_answer(ROOM, "b", crossed.revision, late_answer)

        await wait_for(lambda: len(b.received_from("a", "video")) >= 5, what="b receiving a")
        await wait_for(lambda: len(a.received_from("b", "video")) >= 5, what="a receiving new b")
        assert b.offers[0].revision > crossed.revision
        assert len(held) == 1  # nothing more was sent for the replaced peer connection
        assert b.client is not None
        again = SessionDescription(b.client.pc.localDescription.sdp, "answer")
        with pytest.raises(StaleAnswer):  # answered already
            await hub.accept_answer(ROOM, "b", b.answered[-1], again)
        with pytest.raises(StaleAnswer):  # never offered
            await hub.accept_answer(ROOM, "b", b.answered[-1] + 5, again)
    finally:
        await hub.close()
        await first.close()
        await a.close()
        await b.close()


async def test_audio_only_publishers_get_audio_slots_and_freed_slots_are_reused(
    small_webm: Path,
) -> None:
    hub = MediaHub()
    a, b, c = (Member(hub, ROOM, name, small_webm) for name in ("a", "b", "c"))
    try:
        await a.publish()
        await b.publish(video=False)
        await wait_for(lambda: len(a.received_from("b", "audio")) >= 5, what="a hearing b")
        await wait_for(lambda: len(b.received_from("a", "video")) >= 3, what="b seeing a")
        assert sorted((t.participant, t.kind) for t in a.tracks.values()) == [("b", "audio")]

        await b.publish(video=True)  # b switches its camera on: a new peer connection
        await wait_for(lambda: len(a.received_from("b", "video")) >= 3, what="a seeing b")
        slots = transceivers(a)

        await b.publish(video=False)  # and off again: a's video slot for b goes inactive
        await wait_for(
            lambda: sorted((t.participant, t.kind) for t in a.tracks.values()) == [("b", "audio")],
            what="a's tracks without b's video",
        )
        freed = next(mid for mid, t in a.offers[-2].tracks.items() if t.kind == "video")
        await c.publish()  # c's video takes the inactive slot; its audio needs a new one
        await wait_for(lambda: len(a.received_from("c", "video")) >= 3, what="a seeing c")
        assert a.mid_of("c", "video") == freed
        assert transceivers(a) == slots + 1
    finally:
        await hub.close()
        for member in (a, b, c):
            await member.close()
