"""Meeting rules on the real database: links (signature, nonce, expiry on the meeting's end),
the one-browser claim, the lobby's seat hold, the timeline's visibility of meeting events, and
the link secret kept in the data folder."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from hall.accounts.tables import Role
from hall.cases import timeline
from hall.cases.registration import register
from hall.db import Database
from hall.meetings import controls, guests, links, lobby, minutes, scheduling
from hall.meetings.minutes import DecisionSpec
from hall.meetings.scheduling import InviteeSpec, MeetingSpec
from hall.meetings.tables import (
    ExternalRole,
    InviteeSort,
    MeetingInvitation,
    MeetingKind,
    ParticipantRole,
)
from hall.queue.tables import Channel
from hall.settings import MeetingSettings
from tests.support import QS, T0, petition, principal

SETTINGS = MeetingSettings()
SIGNER = links.LinkSigner("s" * 40)
LAWYER = InviteeSpec(
    sort=InviteeSort.EXTERNAL,
    role=ParticipantRole.SPEAKER,
    name="王律师",
    external_role=ExternalRole.LAWYER,
)


async def urban_case(db: Database) -> int:
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        done = await register(
            session,
            desk,
            petition(1, surname="冯", id_stem="44010219800101"),
            channel=Channel.WALK_IN,
            now=T0,
            settings=QS,
        )
    return done.case.id


def spec_of(case_id: int, host_id: int, *invitees: InviteeSpec, hours: int = 1) -> MeetingSpec:
    """A 30-minute coordination meeting on the case, starting `hours` after T0."""
    return MeetingSpec(
        kind=MeetingKind.COORDINATION,
        title="协调会",
        case_id=case_id,
        starts_at=T0 + timedelta(hours=hours),
        duration_min=30,
        host_id=host_id,
        agenda="",
        invitees=invitees,
    )


async def meeting_with_lawyer(db: Database) -> tuple[int, MeetingInvitation]:
    officer = await principal(db, "officer-urban")
    spec = spec_of(await urban_case(db), officer.user_id, LAWYER)
    async with db.transaction() as session:
        meeting = await scheduling.schedule(session, officer, spec, now=T0)
        (invitation,) = await scheduling.invitations_of(session, meeting.id)
    return meeting.id, invitation


def test_a_token_verifies_only_unchanged_and_under_its_secret() -> None:
    row = MeetingInvitation(id=7, nonce="ab" * 16)
    token = SIGNER.token(row)
    assert SIGNER.read(token) == (7, "ab" * 16)
    with pytest.raises(links.LinkInvalid):
        SIGNER.read(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(links.LinkInvalid):
        links.LinkSigner("t" * 40).read(token)
    with pytest.raises(links.LinkInvalid):
        SIGNER.read("not-a-token")


def test_the_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = links.load_secret("", tmp_path)
    assert len(first) >= 32
    assert (tmp_path / links.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert links.load_secret("", tmp_path) == first
    assert links.load_secret("c" * 32, tmp_path) == "c" * 32


async def test_a_link_expires_at_the_planned_end_plus_the_margin(db: Database) -> None:
    _, invitation = await meeting_with_lawyer(db)
    token = SIGNER.token(invitation)
    end = T0 + timedelta(hours=1, minutes=30 + SETTINGS.link_margin_min)
    async with db.transaction() as session:
        opened = await guests.open_link(
            session,
            SIGNER,
            token,
            browser_token=None,
            now=end - timedelta(seconds=1),
            settings=SETTINGS,
        )
    assert opened.new
    async with db.transaction() as session:
        with pytest.raises(links.LinkExpired):
            await guests.open_link(
                session, SIGNER, token, browser_token=opened.token, now=end, settings=SETTINGS
            )
    async with db.reader() as session:
        assert await guests.principal_for_guest(session, opened.token, now=end) is None


async def test_a_second_browser_waits_for_the_first_to_go_idle(db: Database) -> None:
    _, invitation = await meeting_with_lawyer(db)
    token = SIGNER.token(invitation)
    async with db.transaction() as session:
        first = await guests.open_link(
            session, SIGNER, token, browser_token=None, now=T0, settings=SETTINGS
        )
    async with db.transaction() as session:
        with pytest.raises(links.LinkInUse):
            await guests.open_link(
                session, SIGNER, token, browser_token=None, now=T0, settings=SETTINGS
            )
    later = T0 + timedelta(seconds=SETTINGS.guest_claim_s + 1)
    async with db.transaction() as session:
        second = await guests.open_link(
            session, SIGNER, token, browser_token="someone-else", now=later, settings=SETTINGS
        )
    async with db.reader() as session:
        assert await guests.principal_for_guest(session, first.token, now=later) is None
        who = await guests.principal_for_guest(session, second.token, now=later)
    assert who is not None and who.role == Role.GUEST and who.invitation_id == invitation.id


async def test_a_reissued_link_replaces_the_old_one(db: Database) -> None:
    meeting_id, invitation = await meeting_with_lawyer(db)
    old = SIGNER.token(invitation)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        fresh = await scheduling.reissue_link(session, officer, meeting_id, invitation.id)
        new = SIGNER.token(fresh)
    async with db.transaction() as session:
        with pytest.raises(links.LinkRevoked):
            await guests.open_link(
                session, SIGNER, old, browser_token=None, now=T0, settings=SETTINGS
            )
        assert (
            await guests.open_link(
                session, SIGNER, new, browser_token=None, now=T0, settings=SETTINGS
            )
        ).new


async def test_seat_hold_readmits_only_someone_admitted_before(db: Database) -> None:
    officer = await principal(db, "officer-urban")
    leader = await principal(db, "leader")
    observer = InviteeSpec(InviteeSort.USER, ParticipantRole.OBSERVER, user_id=leader.user_id)
    spec = spec_of(await urban_case(db), officer.user_id, observer, hours=0)
    hold = SETTINGS.seat_hold_s
    async with db.transaction() as session:
        meeting = await scheduling.schedule(session, officer, spec, now=T0)
        await lobby.join(session, officer, meeting.id, now=T0, seat_hold_s=hold)
        row = await lobby.join(session, leader, meeting.id, now=T0, seat_hold_s=hold)
        assert row.role == ParticipantRole.OBSERVER
        # Left the lobby without ever being admitted: waits again.
        await lobby.leave(session, leader, meeting.id, now=T0)
        row = await lobby.join(session, leader, meeting.id, now=T0, seat_hold_s=hold)
        assert row.state == "waiting"
        await lobby.admit(session, officer, meeting.id, row.id, now=T0)
        await lobby.leave(session, leader, meeting.id, now=T0 + timedelta(seconds=10))
        back = T0 + timedelta(seconds=10 + hold)
        row = await lobby.join(session, leader, meeting.id, now=back, seat_hold_s=hold)
        assert row.state == "admitted"
        stays = await lobby.attendance(session, meeting.id)
    leader_stays = next(p for p in stays if p["participant_id"] == row.id)["stays"]
    assert len(leader_stays) == 2  # every rejoin kept


async def test_a_department_reads_only_its_own_decision_events(db: Database) -> None:
    officer = await principal(db, "officer-urban")
    dept = await principal(db, "dept-zhujian")
    meeting_id, _ = await meeting_with_lawyer(db)
    hold = SETTINGS.seat_hold_s
    async with db.transaction() as session:
        await lobby.join(session, officer, meeting_id, now=T0, seat_hold_s=hold)
        await minutes.save(
            session,
            officer,
            meeting_id,
            "纪要",
            [
                DecisionSpec(
                    "住建局答复", date(2026, 11, 20), owner_department_id=dept.department_id
                ),
                DecisionSpec("接访人员回访", date(2026, 11, 20), owner_user_id=officer.user_id),
            ],
            now=T0,
        )
        meeting = await controls.end(session, officer, meeting_id, now=T0 + timedelta(minutes=5))
        assert meeting.case_id is not None
        events = await timeline.events_of(session, meeting.case_id)
        assert await timeline.verify_chain(session, meeting.case_id) == []
    mine = timeline.readable_events(dept, events, accusation=False)
    assert [(e.kind, e.data["text"]) for e in mine if e.kind.startswith("meeting")] == [
        ("meeting_decision", "住建局答复")
    ]
    staff = timeline.readable_events(officer, events, accusation=False)
    kinds = [e.kind for e in staff if e.kind.startswith("meeting")]
    assert kinds == ["meeting_held", "meeting_minutes", "meeting_decision", "meeting_decision"]
