"""JSON API of the queues: officer state, auto-offers, missed calls, transfers, recusal,
no-shows, follow-ups, the all-queues view of the desk, and the pages of the desk and the board."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hall.accounts import users
from hall.accounts.tables import Role
from hall.cases import cases
from hall.errors import Forbidden
from hall.privacy import mask_name
from hall.queue import lines, live, offers, officers, presence, tickets
from hall.queue.tables import Channel, Ticket
from hall.settings import HALL_TZ
from hall.visits import visits
from services.queue import state_json
from web import keys
from web.api import parse_body
from web.auth import add_route, principal

OFFICERS = {"officer", "leader"}
DESK = {"desk", "supervisor", "admin", "leader"}
QUEUE_MANAGERS = OFFICERS | DESK


class StateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(max_length=16)
    reason: str = Field(default="", max_length=32)


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: str = Field(max_length=32)
    reason: str = Field(max_length=400)
    keep_wait: bool = True


class ExclusionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    reason: str = Field(default="", max_length=200)


class AutoOfferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


def _id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


async def get_state(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        row = await officers.status_of(
            session, principal(request).user_id, now=app[keys.CLOCK].now()
        )
        return web.json_response(state_json(row))


async def put_state(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, StateBody)
    who = principal(request)
    app = request.app
    async with app[keys.DB].transaction() as session:
        row = await officers.set_state(
            session, who.user_id, body.state, reason=body.reason, now=app[keys.CLOCK].now()
        )
        result = state_json(row)
    await app[keys.QUEUE].officer_state_changed(who.user_id)
    await app[keys.QUEUE].changed(who.line_ids)
    return web.json_response(result)


async def accept_offer(request: web.Request) -> web.StreamResponse:
    called = await request.app[keys.CALLS].accept_offer(
        principal(request), _id(request, "ticket_id")
    )
    return web.json_response(called, status=201)


async def decline_offer(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    app = request.app
    async with app[keys.DB].transaction() as session:
        ticket = await offers.decline(
            session, who, _id(request, "ticket_id"), now=app[keys.CLOCK].now()
        )
    # Every console of the officer (a second tab too) drops the offer.
    app[keys.BUS].publish(
        f"officer:{who.user_id}", "offer_withdrawn", {"ticket_id": ticket.id, "reason": "declined"}
    )
    await app[keys.QUEUE].officer_state_changed(who.user_id)
    await app[keys.QUEUE].changed([ticket.line_id])
    return web.json_response({"ticket_id": ticket.id, "state": ticket.state})


async def miss(request: web.Request) -> web.StreamResponse:
    result = await request.app[keys.CALLS].miss(principal(request), _id(request, "visit_id"))
    return web.json_response(result)


async def transfer(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, TransferBody)
    result = await request.app[keys.CALLS].transfer(
        principal(request),
        _id(request, "ticket_id"),
        line=body.line,
        reason=body.reason,
        keep_wait=body.keep_wait,
    )
    return web.json_response(result, status=201)


async def undo_transfer(request: web.Request) -> web.StreamResponse:
    result = await request.app[keys.CALLS].undo_transfer(
        principal(request), _id(request, "ticket_id")
    )
    return web.json_response(result)


async def exclude(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ExclusionBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        ticket = await tickets.exclude(
            session,
            principal(request),
            _id(request, "ticket_id"),
            username=body.username,
            reason=body.reason,
            now=app[keys.CLOCK].now(),
        )
    await app[keys.QUEUE].changed([ticket.line_id])
    return web.json_response({"ticket_id": ticket.id, "excluded": body.username}, status=201)


async def reactivate(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        ticket = await tickets.reactivate(
            session,
            principal(request),
            _id(request, "ticket_id"),
            now=app[keys.CLOCK].now(),
            settings=app[keys.CONFIG].queue,
        )
    await app[keys.QUEUE].changed([ticket.line_id])
    return web.json_response(_ticket_json(ticket))


async def leave(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        ticket = await presence.leave_queue(
            session, principal(request), _id(request, "ticket_id"), now=app[keys.CLOCK].now()
        )
    # The line push only reaches waiting tickets: tell the terminal following this one that
    # its place is gone (the desk may have cancelled it), as the sweeper does for lost graces.
    app[keys.BUS].publish(
        f"ticket:{ticket.id}",
        "ticket_status",
        {"ticket_id": ticket.id, "number": ticket.number, "state": ticket.state},
    )
    await app[keys.QUEUE].changed([ticket.line_id])
    return web.json_response(_ticket_json(ticket))


async def follow_up(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        ticket = await tickets.follow_up(
            session,
            principal(request),
            _id(request, "case_id"),
            now=app[keys.CLOCK].now(),
            settings=app[keys.CONFIG].queue,
            channel=Channel.WALK_IN,
        )
    await app[keys.QUEUE].changed([ticket.line_id])
    return web.json_response(_ticket_json(ticket), status=201)


async def set_auto_offer(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, AutoOfferBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        line = await lines.set_auto_offer(session, request.match_info["code"], body.enabled)
        if line is None:
            raise web.HTTPNotFound(reason="未知条线")
        line_id = line.id
    await app[keys.QUEUE].changed([line_id])
    return web.json_response({"line": request.match_info["code"], "auto_offer": body.enabled})


async def all_queues(request: web.Request) -> web.StreamResponse:
    """Every line's queue at a glance, with its officers' states (the desk's overview)."""
    async with request.app[keys.DB].reader() as session:
        # The desk names officers (and picks one for 回避 by username), not bare user ids.
        staff = {u.id: u for u in await users.users_with_roles(session, OFFICERS)}
        out = []
        for line in await lines.all_lines(session):
            snapshot = await live.line_snapshot(session, line)
            snapshot["auto_offer"] = line.auto_offer
            snapshot["officers"] = [
                {
                    "user_id": o.user_id,
                    "username": staff[o.user_id].username if o.user_id in staff else "",
                    "name": staff[o.user_id].display_name if o.user_id in staff else "",
                    "state": o.state,
                    "reason": o.reason,
                    "wrap_up_until": o.wrap_up_until.isoformat() if o.wrap_up_until else None,
                }
                for o in await officers.line_officers(session, line.id)
            ]
            out.append(snapshot)
        no_shows = await live.recent_no_shows(session, limit=50)
        return web.json_response(
            {
                "lines": out,
                # Line and masked name, so the desk can tell a no-show to the visitor asking.
                "no_shows": [
                    _ticket_json(t)
                    | {"line": line.code, "line_name": line.name, "name": mask_name(n)}
                    for t, line, n in no_shows
                ],
                "officers": [
                    {"username": u.username, "name": u.display_name} for u in staff.values()
                ],
            }
        )


async def ticket_log(request: web.Request) -> web.StreamResponse:
    """The queue log of one ticket (staff)."""
    async with request.app[keys.DB].reader() as session:
        ticket = await tickets.get_ticket(session, _id(request, "ticket_id"))
        who = principal(request)
        if who.role == Role.OFFICER and ticket.line_id not in who.line_ids:
            raise Forbidden("无权查看该排队号")
        events = await tickets.events_of(session, ticket.id)
        return web.json_response(
            [
                {"kind": e.kind, "at": e.at.isoformat(), "actor_id": e.actor_id, "data": e.data}
                for e in events
            ]
        )


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "state": ticket.state,
        "class": ticket.priority_class,
        "missed_count": ticket.missed_count,
    }


@aiohttp_jinja2.template("desk.html")
async def desk_page(request: web.Request) -> dict[str, Any]:
    who = principal(request)
    return {
        "who": who,
        "csrf_token": who.csrf_token,
        "undo_window_s": request.app[keys.CONFIG].queue.undo_window_s,
    }


@aiohttp_jinja2.template("board.html")
async def board_page(request: web.Request) -> dict[str, Any]:
    who = principal(request)
    return {"who": who, "csrf_token": who.csrf_token}


@aiohttp_jinja2.template("ticket_print.html")
async def ticket_print(request: web.Request) -> dict[str, Any]:
    who = principal(request)
    async with request.app[keys.DB].reader() as session:
        ticket = await tickets.get_ticket(session, _id(request, "ticket_id"))
        status = await live.ticket_status(
            session, who, ticket.id, handle_default_s=request.app[keys.CONFIG].hall.average_handle_s
        )
        visit_count = await visits.visit_count_of_case(session, ticket.case_id)
        # The slip shows the masked name and the hall's local time (the template has no DB).
        name = await cases.petitioner_name(session, ticket.petitioner_id)
    return {
        "who": who,
        "csrf_token": who.csrf_token,
        "ticket": ticket,
        "status": status,
        "visits": visit_count,
        "masked_name": mask_name(name or ""),
        "issued_at": ticket.created_at.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M"),
    }


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/api/officer/state", get_state, OFFICERS)
    add_route(app, "PUT", "/api/officer/state", put_state, OFFICERS)
    add_route(app, "POST", "/api/offers/{ticket_id:\\d+}/accept", accept_offer, OFFICERS)
    add_route(app, "POST", "/api/offers/{ticket_id:\\d+}/decline", decline_offer, OFFICERS)
    add_route(app, "POST", "/api/visits/{visit_id:\\d+}/missed", miss, OFFICERS)
    add_route(app, "POST", "/api/tickets/{ticket_id:\\d+}/transfer", transfer, QUEUE_MANAGERS)
    add_route(
        app, "POST", "/api/tickets/{ticket_id:\\d+}/undo-transfer", undo_transfer, QUEUE_MANAGERS
    )
    add_route(app, "POST", "/api/tickets/{ticket_id:\\d+}/exclusions", exclude, QUEUE_MANAGERS)
    add_route(app, "POST", "/api/tickets/{ticket_id:\\d+}/reactivate", reactivate, DESK)
    add_route(app, "POST", "/api/tickets/{ticket_id:\\d+}/leave", leave, DESK | {"terminal"})
    add_route(app, "GET", "/api/tickets/{ticket_id:\\d+}/log", ticket_log, QUEUE_MANAGERS)
    add_route(app, "POST", "/api/cases/{case_id:\\d+}/follow-up", follow_up, DESK)
    add_route(app, "PUT", "/api/lines/{code}/auto-offer", set_auto_offer, {"supervisor", "admin"})
    add_route(app, "GET", "/api/queues", all_queues, DESK)
    add_route(app, "GET", "/desk", desk_page, {"desk", "supervisor", "admin"})
    add_route(app, "GET", "/board", board_page, live.BOARD_ROLES)
    add_route(app, "GET", "/tickets/{ticket_id:\\d+}/print", ticket_print, DESK)
