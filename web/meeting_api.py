"""JSON API of meetings (协调会 / 联席会议 / 包案调度会): scheduling, links, lobby, host controls,
minutes and decisions. Each handler parses, calls one `hall.meetings` use case through the
`MeetingService` (which publishes on `meeting:<id>` after commit) and shapes the answer."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.meetings import guests, lobby, minutes, scheduling
from hall.meetings.minutes import DecisionSpec, decision_json
from hall.meetings.scheduling import InviteeSpec, MeetingSpec
from hall.meetings.tables import (
    ExternalRole,
    InviteeSort,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    ParticipantRole,
)
from web import keys
from web.api import parse_body, parse_query
from web.auth import GUEST, GUEST_COOKIE, STAFF, add_route, principal

# Who takes part in meetings: staff, departments, village stations, guests of a link.
PARTIES = STAFF | {"department", "terminal"} | GUEST
SCHEDULERS = frozenset({"officer", "leader", "supervisor"})


class InviteeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sort: Literal["user", "department", "terminal", "external"]
    role: Literal["speaker", "observer"] = "speaker"
    user_id: int | None = None
    department_id: int | None = None
    name: str = Field(default="", max_length=64)
    organisation: str = Field(default="", max_length=100)
    external_role: Literal["lawyer", "counsellor", "other_region", "other"] | None = None


class MeetingBody(BaseModel):
    """POST /api/meetings, PUT /api/meetings/{meeting_id}."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["coordination", "joint", "dispatch"]
    title: str = Field(max_length=200)
    case_id: int | None = None
    starts_at: AwareDatetime
    duration_min: int
    host_id: int
    agenda: str = Field(default="", max_length=4000)
    invitees: list[InviteeBody] = Field(default_factory=list, max_length=100)

    def spec(self) -> MeetingSpec:
        return MeetingSpec(
            kind=MeetingKind(self.kind),
            title=self.title,
            case_id=self.case_id,
            starts_at=self.starts_at,
            duration_min=self.duration_min,
            host_id=self.host_id,
            agenda=self.agenda,
            invitees=tuple(
                InviteeSpec(
                    sort=InviteeSort(i.sort),
                    role=ParticipantRole(i.role),
                    user_id=i.user_id,
                    department_id=i.department_id,
                    name=i.name,
                    organisation=i.organisation,
                    external_role=None
                    if i.external_role is None
                    else ExternalRole(i.external_role),
                )
                for i in self.invitees
            ),
        )


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2000)
    due: date
    owner_user_id: int | None = None
    owner_department_id: int | None = None


class MinutesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=20000)
    decisions: list[DecisionBody] = Field(default_factory=list, max_length=100)


class DecisionsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overdue: Literal["0", "1"] = "0"


def path_meeting_id(request: web.Request) -> int:
    return int(request.match_info["meeting_id"])


def path_id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


def invitation_link(request: web.Request, invitation: MeetingInvitation) -> str | None:
    """The absolute link of an external invitation with a live nonce, else None."""
    if invitation.sort != InviteeSort.EXTERNAL or invitation.revoked_at is not None:
        return None
    token = request.app[keys.MEETINGS].signer.token(invitation)
    return str(request.url.with_path(f"/m/{token}").with_query(None))


def invitation_json(
    request: web.Request, invitation: MeetingInvitation, *, manager: bool
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": invitation.id,
        "sort": invitation.sort,
        "role": invitation.role,
        "user_id": invitation.user_id,
        "department_id": invitation.department_id,
        "terminal_id": invitation.terminal_id,
        "name": invitation.name,
        "organisation": invitation.organisation,
        "external_role": invitation.external_role,
        "revoked": invitation.revoked_at is not None,
    }
    if manager:
        found["link"] = invitation_link(request, invitation)
    return found


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "kind": meeting.kind,
        "title": meeting.title,
        "case_id": meeting.case_id,
        "starts_at": meeting.starts_at.isoformat(),
        "duration_min": meeting.duration_min,
        "host_id": meeting.host_id,
        "scheduled_by": meeting.scheduled_by,
        "agenda": meeting.agenda,
        "state": meeting.state,
        "started_at": None if meeting.started_at is None else meeting.started_at.isoformat(),
        "ended_at": None if meeting.ended_at is None else meeting.ended_at.isoformat(),
        "recording_id": meeting.recording_id,
    }


async def _detail(request: web.Request, session: AsyncSession, meeting: Meeting) -> dict[str, Any]:
    who = principal(request)
    manager = scheduling.manages(who, meeting)
    invitations = await scheduling.invitations_of(session, meeting.id)
    if who.role in (Role.GUEST, Role.TERMINAL, Role.DEPARTMENT):
        # Outsiders see who else is invited, never the links.
        manager = False
    return {
        **meeting_json(meeting),
        "invitations": [invitation_json(request, i, manager=manager) for i in invitations],
    }


async def schedule_meeting(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, MeetingBody)
    who = principal(request)
    service = request.app[keys.MEETINGS]
    async with service.db.transaction() as session:
        meeting = await scheduling.schedule(session, who, body.spec(), now=service.clock.now())
        answer = await _detail(request, session, meeting)
    return web.json_response(answer, status=201)


async def get_meeting(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        meeting = await scheduling.viewable(session, principal(request), path_meeting_id(request))
        return web.json_response(
            {
                **(await _detail(request, session, meeting)),
                **(await lobby.snapshot(session, meeting)),
            }
        )


async def edit_meeting(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, MeetingBody)
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        meeting = await scheduling.edit(
            session,
            principal(request),
            path_meeting_id(request),
            body.spec(),
            now=service.clock.now(),
        )
        return await _detail(request, session, meeting)

    return web.json_response(await service.run(path_meeting_id(request), use_case))


async def cancel_meeting(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        meeting = await scheduling.cancel(
            session, principal(request), path_meeting_id(request), now=service.clock.now()
        )
        return meeting_json(meeting)

    return web.json_response(await service.run(path_meeting_id(request), use_case))


async def revoke_link(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    async with service.db.transaction() as session:
        row = await scheduling.revoke_link(
            session,
            principal(request),
            path_meeting_id(request),
            path_id(request, "invitation_id"),
            now=service.clock.now(),
        )
        answer = invitation_json(request, row, manager=True)
    return web.json_response(answer)


async def reissue_link(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    async with service.db.transaction() as session:
        row = await scheduling.reissue_link(
            session, principal(request), path_meeting_id(request), path_id(request, "invitation_id")
        )
        answer = invitation_json(request, row, manager=True)
    return web.json_response(answer)


async def participant_answer(
    request: web.Request, use_case: Any, *, event: str | None = None
) -> web.StreamResponse:
    """Run a use case returning a participant row; answer with it (and publish `event`)."""
    service = request.app[keys.MEETINGS]
    meeting_id = path_meeting_id(request)

    async def run(session: AsyncSession) -> dict[str, Any]:
        row = await use_case(session)
        return {"id": row.id, "name": row.name, "role": row.role, "state": row.state}

    answer = await service.run(meeting_id, run)
    if event is not None:
        service.control(meeting_id, answer["id"], event)
    return web.json_response(answer)


async def _touch_guest(request: web.Request) -> None:
    """A guest's browser is active: it keeps its claim on the link (`meeting.guest_claim_s`)."""
    token = request.cookies.get(GUEST_COOKIE)
    if principal(request).role == Role.GUEST and token:
        service = request.app[keys.MEETINGS]
        async with service.db.transaction() as session:
            await guests.touch(session, token, now=service.clock.now())


async def join_meeting(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    who = principal(request)
    await _touch_guest(request)
    return await participant_answer(
        request,
        lambda s: lobby.join(
            s,
            who,
            path_meeting_id(request),
            now=service.clock.now(),
            seat_hold_s=service.settings.seat_hold_s,
        ),
    )


async def leave_meeting(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        await lobby.leave(
            session, principal(request), path_meeting_id(request), now=service.clock.now()
        )
        return {"left": True}

    return web.json_response(await service.run(path_meeting_id(request), use_case))


async def my_participation(request: web.Request) -> web.StreamResponse:
    """The caller's own place in the meeting (lobby state, since, denial message)."""
    who = principal(request)
    await _touch_guest(request)
    async with request.app[keys.DB].reader() as session:
        meeting = await scheduling.viewable(session, who, path_meeting_id(request))
        row = await lobby.participant_of(session, meeting.id, who)
        answer: dict[str, Any] = {"meeting": meeting_json(meeting), "participant": None}
        if row is not None:
            answer["participant"] = {
                "id": row.id,
                "name": row.name,
                "role": row.role,
                "state": row.state,
                "since": row.since.isoformat(),
                "message": row.message,
                "muted": row.muted,
                "video_off": row.video_off,
                "side_room_id": row.side_room_id,
            }
    return web.json_response(answer)


async def save_minutes(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, MinutesBody)
    service = request.app[keys.MEETINGS]
    specs = [
        DecisionSpec(
            text=d.text,
            due=d.due,
            owner_user_id=d.owner_user_id,
            owner_department_id=d.owner_department_id,
        )
        for d in body.decisions
    ]
    async with service.db.transaction() as session:
        row = await minutes.save(
            session,
            principal(request),
            path_meeting_id(request),
            body.text,
            specs,
            now=service.clock.now(),
        )
        decisions = await minutes.decisions_of(session, row.meeting_id)
        answer = {
            "revision": row.revision,
            "text": row.text,
            "decisions": [decision_json(d) for d in decisions],
        }
    return web.json_response(answer)


async def get_minutes(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        row, decisions = await minutes.minutes_of(
            session, principal(request), path_meeting_id(request)
        )
        return web.json_response(
            {
                "revision": None if row is None else row.revision,
                "text": None if row is None else row.text,
                "decisions": [decision_json(d) for d in decisions],
            }
        )


async def my_meetings(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    async with service.db.reader() as session:
        rows = await scheduling.upcoming(session, principal(request), now=service.clock.now())
        return web.json_response({"meetings": [meeting_json(m) for m in rows]})


async def my_decisions(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    today = minutes.hall_today(service.clock.now())
    async with service.db.reader() as session:
        rows = await minutes.my_decisions(session, principal(request))
        return web.json_response({"decisions": [decision_json(d, today=today) for d in rows]})


async def all_decisions(request: web.Request) -> web.StreamResponse:
    query = parse_query(request, DecisionsQuery, "查询条件有误")
    service = request.app[keys.MEETINGS]
    today = minutes.hall_today(service.clock.now())
    async with service.db.reader() as session:
        rows = await minutes.all_decisions(
            session, overdue_on=today if query.overdue == "1" else None
        )
        return web.json_response({"decisions": [decision_json(d, today=today) for d in rows]})


async def decision_done(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]
    async with service.db.transaction() as session:
        row = await minutes.mark_done(
            session, principal(request), path_id(request, "decision_id"), now=service.clock.now()
        )
        answer = decision_json(row, today=minutes.hall_today(service.clock.now()))
    return web.json_response(answer)


def setup(app: web.Application) -> None:
    m = "/api/meetings/{meeting_id:\\d+}"
    add_route(app, "POST", "/api/meetings", schedule_meeting, SCHEDULERS)
    add_route(app, "GET", m, get_meeting, PARTIES)
    add_route(app, "PUT", m, edit_meeting, STAFF)
    add_route(app, "POST", m + "/cancel", cancel_meeting, STAFF)
    add_route(app, "POST", m + "/invitations/{invitation_id:\\d+}/revoke", revoke_link, STAFF)
    add_route(app, "POST", m + "/invitations/{invitation_id:\\d+}/link", reissue_link, STAFF)
    add_route(app, "POST", m + "/join", join_meeting, PARTIES)
    add_route(app, "POST", m + "/leave", leave_meeting, PARTIES)
    add_route(app, "GET", m + "/me", my_participation, PARTIES)
    add_route(app, "PUT", m + "/minutes", save_minutes, STAFF)
    add_route(app, "GET", m + "/minutes", get_minutes, PARTIES)
    add_route(app, "GET", "/api/my/meetings", my_meetings, STAFF | {"department", "terminal"})
    add_route(app, "GET", "/api/my/decisions", my_decisions, STAFF | {"department"})
    add_route(app, "GET", "/api/decisions", all_decisions, {"supervisor", "leader"})
    add_route(
        app, "POST", "/api/decisions/{decision_id:\\d+}/done", decision_done, STAFF | {"department"}
    )
