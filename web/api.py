"""JSON API: registration, queue, visits, cases, petitioners and recording playback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hall.accounts import stations
from hall.accounts.tables import Role
from hall.cases import cases, registration
from hall.cases.parties import Person
from hall.cases.tables import Case
from hall.errors import FileMissing, InvalidInput, RepeatCandidates
from hall.privacy import mask_name
from hall.queue import lines, live
from hall.queue.tables import Channel, Line, Ticket
from hall.visits import recordings, visits
from signaling.ice import browser_ice_servers
from web import keys
from web.auth import ANY_USER, STAFF, add_route, principal
from web.bounds import check_bounds
from web.errors import BadJson, TooLarge

M = TypeVar("M", bound=BaseModel)


class PersonBody(BaseModel):
    """A representative (代表) of a collective visit."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    id_number: str = Field(max_length=32)
    phone: str = Field(max_length=32)


class RepeatDecisionBody(BaseModel):
    """The registrar's answer to `repeat_candidates`: `{"link": case_id}` or
    `{"new": true, "seen": [case_id, ...]}`."""

    model_config = ConfigDict(extra="forbid")
    link: int | None = None
    new: bool | None = None
    seen: list[int] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _one_choice(self) -> RepeatDecisionBody:
        if (self.link is None) == (self.new is not True):
            raise ValueError('give either "link": <case id> or "new": true')
        if self.link is not None and self.seen:
            raise ValueError('"seen" goes with "new"')
        return self


class RegistrationBody(BaseModel):
    """POST /api/visit-requests: a petitioner and the matter."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    id_number: str = Field(max_length=32)
    phone: str = Field(max_length=32)
    village_id: int | None = None
    head_count: int = 1
    summary: str = Field(max_length=4000)
    line: str = Field(max_length=32)
    priority_class: str = Field(default="normal", max_length=16)
    priority_reason: str = Field(default="", max_length=400)
    approver: str = Field(default="", max_length=64)
    collective: bool = False
    # The domain refuses more than 5 (too_many_representatives); this only bounds the body.
    representatives: list[PersonBody] = Field(default_factory=list, max_length=20)
    repeat_decision: RepeatDecisionBody | None = None


class NotesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: str


class EndBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(max_length=32)
    notes: str | None = None  # None keeps the notes saved during the visit


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as `model`; `bad_json` / `invalid_input` with field reasons."""
    if (
        request.content_length
        and request.content_length > request.app[keys.CONFIG].web.max_body_bytes
    ):
        raise TooLarge("请求体过大")
    try:
        raw = await request.json()
    except ValueError:  # also an integer of more than 4,300 digits
        raise BadJson("请求体不是合法的JSON") from None
    except RecursionError:
        raise BadJson("请求体的JSON嵌套过深") from None
    if not isinstance(raw, dict):
        raise BadJson("请求体必须是JSON对象")
    return _validated(model, raw, "body", "请求字段有误")


def parse_query(request: web.Request, model: type[M], message: str) -> M:
    """The request's query parameters as `model`; `invalid_input` with `message` and the
    reason of each wrong parameter."""
    return _validated(model, dict(request.query), "query", message)


def _validated(model: type[M], raw: dict[str, Any], whole: str, message: str) -> M:
    """`raw` as `model`, its integers and dates within `web.bounds`; `invalid_input` with
    `message` and the reason of each wrong field (`whole` names a problem of the whole)."""
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or whole: e["msg"] for e in exc.errors()}
        raise InvalidInput(message, fields=fields) from None
    check_bounds(parsed, message)
    return parsed


def _ticket_json(ticket: Ticket, line: Line) -> dict[str, Any]:
    return {"id": ticket.id, "number": ticket.number, "line": line.code, "state": ticket.state}


async def me(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    return web.json_response(
        {
            "id": who.user_id,
            "username": who.username,
            "name": who.display_name,
            "role": who.role,
            "line_ids": sorted(who.line_ids),
            "terminal_id": who.terminal_id,
            "csrf_token": who.csrf_token,
        }
    )


async def list_lines(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await lines.all_lines(session)
        return web.json_response(
            [{"id": x.id, "code": x.code, "name": x.name, "letter": x.letter} for x in rows]
        )


async def list_villages(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await stations.all_villages(session)
        return web.json_response(
            [{"id": v.id, "name": v.name, "township": v.township} for v in rows]
        )


async def create_visit_request(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, RegistrationBody)
    who = principal(request)
    app = request.app
    reg = registration.Registration(
        name=body.name,
        id_number=body.id_number,
        phone=body.phone,
        village_id=body.village_id,
        head_count=body.head_count,
        summary=body.summary,
        line_code=body.line,
        priority_class=body.priority_class,
        priority_reason=body.priority_reason,
        approver=body.approver,
        collective=body.collective,
        representatives=tuple(
            Person(name=r.name, id_number=r.id_number, phone=r.phone) for r in body.representatives
        ),
        repeat=(
            registration.RepeatDecision(
                link=body.repeat_decision.link, seen=tuple(body.repeat_decision.seen)
            )
            if body.repeat_decision is not None
            else None
        ),
    )
    channel = Channel.REMOTE if who.role == Role.TERMINAL else Channel.WALK_IN
    try:
        async with app[keys.DB].transaction() as session:
            done = await registration.register(
                session,
                who,
                reg,
                channel=channel,
                now=app[keys.CLOCK].now(),
                settings=app[keys.CONFIG].queue,
                extend_over=app[keys.CONFIG].case.extend_rule,
                case_settings=app[keys.CONFIG].case,
            )
    except RepeatCandidates as refused:
        # The refusal stores nothing, but it shows the registrar other cases: audited apart.
        async with app[keys.DB].transaction() as session:
            await registration.audit_disclosure(session, who, refused, now=app[keys.CLOCK].now())
        raise
    await app[keys.QUEUE].changed([done.line.id])
    async with app[keys.DB].reader() as session:
        status = await live.ticket_status(
            session, who, done.ticket.id, handle_default_s=app[keys.CONFIG].hall.average_handle_s
        )
    return web.json_response(
        {
            "ticket": _ticket_json(done.ticket, done.line) | status,
            "case_id": done.case.id,
            "case_number": done.case.number,
            "linked": done.linked,
        },
        status=201,
    )


async def terminal_tickets(request: web.Request) -> web.StreamResponse:
    """The terminal's tickets still in play (so a reopened tab finds its place again)."""
    who = principal(request)
    if who.terminal_id is None:
        return web.json_response([])
    async with request.app[keys.DB].reader() as session:
        rows = await live.terminal_tickets_in_play(session, who.terminal_id)
        return web.json_response(
            [
                _ticket_json(t, line) | {"visit_id": vid, "case_id": t.case_id}
                for t, line, vid in rows
            ]
        )


async def get_ticket(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].reader() as session:
        status = await live.ticket_status(
            session,
            principal(request),
            int(request.match_info["ticket_id"]),
            handle_default_s=app[keys.CONFIG].hall.average_handle_s,
        )
    return web.json_response(status)


async def call_next(request: web.Request) -> web.StreamResponse:
    called = await request.app[keys.CALLS].call_next(principal(request))
    return web.json_response(called, status=201)


async def save_notes(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, NotesBody)
    async with request.app[keys.DB].transaction() as session:
        await visits.save_notes(
            session, principal(request), int(request.match_info["visit_id"]), body.notes
        )
    return web.json_response({"saved": True})


async def end_visit(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, EndBody)
    result = await request.app[keys.CALLS].end_visit(
        principal(request), int(request.match_info["visit_id"]), body.outcome, body.notes
    )
    return web.json_response(result)


async def get_case(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        view = await cases.case_view(
            session, principal(request), int(request.match_info["case_id"])
        )
    case = view.case
    return web.json_response(
        {
            "id": case.id,
            "number": case.number,
            "state": case.state,
            "line": view.line.code,
            "summary": case.summary,
            "head_count": case.head_count,
            "collective": case.collective,
            "merged_into": _case_ref(view.merged_into),
            "split_from": _case_ref(view.split_from),
            "merged_cases": [_case_ref(c) for c in view.merged_cases],
            "parties": [
                {
                    "id": p.id,
                    "role": p.role,
                    "petitioner_id": p.petitioner_id,
                    "name": p.name,
                    "id_number": p.id_number,
                    "phone": p.phone,
                    "village": p.village,
                }
                for p in view.parties
            ],
            "tickets": [
                {
                    "id": t.ticket.id,
                    "number": t.ticket.number,
                    "state": t.ticket.state,
                    "case_number": t.case_number,
                }
                for t in view.tickets
            ],
            "petitioner": {
                "id": view.petitioner.id,
                "name": view.petitioner.name,
                "id_number": view.petitioner.id_number,
                "phone": view.petitioner.phone,
                "village": view.petitioner.village,
            },
            "visits": [
                {
                    "id": v.visit.id,
                    "case_number": v.case_number or case.number,
                    "state": v.visit.state,
                    "outcome": v.visit.outcome,
                    "officer": v.officer,
                    "started_at": v.visit.started_at.isoformat(),
                    "ended_at": v.visit.ended_at.isoformat() if v.visit.ended_at else None,
                    "recordings": [
                        {
                            "id": r.id,
                            "kind": r.kind,
                            "participant": r.participant,
                            "state": r.state,
                            "duration_s": r.duration_s,
                            "sha256": r.sha256,
                            "salvaged": r.salvaged,
                        }
                        for r in v.recordings
                    ],
                }
                for v in view.visits
            ],
            "events": [
                {"seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "visibility": e.visibility}
                for e in view.events
            ],
        }
    )


def _case_ref(case: Case | None) -> dict[str, Any] | None:
    return None if case is None else {"id": case.id, "number": case.number, "state": case.state}


async def get_petitioner(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].transaction() as session:
        view = await cases.unmasked_petitioner(
            session,
            principal(request),
            int(request.match_info["petitioner_id"]),
            now=request.app[keys.CLOCK].now(),
        )
    return web.json_response(
        {
            "id": view.id,
            "name": view.name,
            "masked_name": mask_name(view.name),
            "id_number": view.id_number,
            "phone": view.phone,
            "village": view.village,
        }
    )


async def recording_media(request: web.Request) -> web.StreamResponse:
    """Stream a recording file (Range requests work for seeking); the read is audited."""
    app = request.app
    recording_id = int(request.match_info["recording_id"])
    action = "download" if request.query.get("download") == "1" else "play"
    # A player fetches one recording in many range requests; the one from byte 0 is the read.
    byte_range = request.headers.get("Range", "")
    first_read = not byte_range or byte_range.replace(" ", "").startswith("bytes=0-")
    async with app[keys.DB].transaction() as session:
        row = await recordings.open_for_playback(
            session,
            principal(request),
            recording_id,
            now=app[keys.CLOCK].now(),
            action=action,
            audited=first_read,
        )
        path = Path(row.path)
        if not await asyncio.to_thread(path.is_file):  # raised in the transaction: no audit
            raise FileMissing(f"录音录像 {row.id} 的文件缺失，请联系管理员")
    headers = {"Cache-Control": "private, no-store"}
    if action == "download":
        headers["Content-Disposition"] = f'attachment; filename="recording-{row.id}{path.suffix}"'
    return web.FileResponse(path, headers=headers)


def setup(app: web.Application) -> None:
    officers = {"officer", "leader"}
    add_route(app, "GET", "/api/me", me, ANY_USER)
    add_route(app, "GET", "/api/lines", list_lines, ANY_USER)
    add_route(app, "GET", "/api/villages", list_villages, ANY_USER)
    add_route(
        app,
        "POST",
        "/api/visit-requests",
        create_visit_request,
        {"terminal", "desk", "supervisor", "admin"},
    )
    add_route(app, "GET", "/api/terminal/tickets", terminal_tickets, {"terminal"})
    add_route(app, "GET", "/api/tickets/{ticket_id:\\d+}", get_ticket, live.TICKET_READERS)
    add_route(app, "POST", "/api/queue/call-next", call_next, officers)
    add_route(app, "PUT", "/api/visits/{visit_id:\\d+}/notes", save_notes, officers)
    add_route(app, "POST", "/api/visits/{visit_id:\\d+}/end", end_visit, officers)
    add_route(app, "GET", "/api/cases/{case_id:\\d+}", get_case, STAFF)
    add_route(app, "GET", "/api/petitioners/{petitioner_id:\\d+}", get_petitioner, STAFF)
    add_route(app, "GET", "/recordings/{recording_id:\\d+}/media", recording_media, STAFF)


async def live_visit(request: web.Request) -> web.StreamResponse:
    """The officer's own live visit (a reloaded console picks its call up again), or null."""
    return web.json_response(await request.app[keys.CALLS].live_visit_of(principal(request)))


async def ice_servers(request: web.Request) -> web.StreamResponse:
    """Fresh ICE servers (TURN credentials expire) for the caller's next peer connection."""
    who = principal(request)
    servers = browser_ice_servers(
        request.app[keys.CONFIG].signaling, user=f"{who.role}-{who.user_id}", now_s=time.time()
    )
    return web.json_response({"ice_servers": servers})


def setup_live(app: web.Application) -> None:
    add_route(app, "GET", "/api/visits/live", live_visit, {"officer", "leader"})
    add_route(app, "GET", "/api/ice-servers", ice_servers, ANY_USER)
