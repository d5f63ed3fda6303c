"""HTTP edge of case deadlines and notices: the filtered case list, a case's deadlines with their
rules, the printable notices (告知书) and the record of their delivery (送达)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hall.cases import deadlines as case_deadlines
from hall.cases import listing, notices, states, timeline
from hall.cases.deadlines import Deadline, Flags
from hall.cases.listing import CaseFilter
from web import keys
from web.api import parse_body, parse_query
from web.auth import STAFF, add_route, principal

DELIVERY_ROLES = {"officer", "leader", "supervisor", "admin"}


class ListQuery(BaseModel):
    """Query parameters of GET /api/cases."""

    model_config = ConfigDict(extra="forbid")
    line: str | None = Field(default=None, max_length=32)
    state: str | None = Field(default=None, max_length=32)
    due_from: date | None = None
    due_to: date | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    owner: int | None = None
    limit: int = 100


class DeliveryBody(BaseModel):
    """POST /api/cases/{case_id}/notices/{kind}/deliveries."""

    model_config = ConfigDict(extra="forbid")
    method: str = Field(max_length=16)
    delivered_at: datetime | None = None


def _deadline_json(d: Deadline | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "rule": d.rule,
        "label": d.label,
        "date": d.day.isoformat() if d.day else None,
        "text": d.text,
        "error": d.error,
        "recomputed": d.recomputed_seq is not None,
    }


def _flags_json(flags: Flags) -> dict[str, Any]:
    return {
        "deadline": _deadline_json(flags.deadline),
        "overdue": flags.overdue,
        "due_soon": flags.due_soon,
    }


def _parse_query(request: web.Request) -> CaseFilter:
    return CaseFilter(**parse_query(request, ListQuery, "筛选条件有误").model_dump())


async def list_cases(request: web.Request) -> web.StreamResponse:
    f = _parse_query(request)
    app = request.app
    async with app[keys.DB].reader() as session:
        rows = await listing.search_cases(
            session,
            principal(request),
            f,
            now=app[keys.CLOCK].now(),
            due_soon_days=app[keys.CONFIG].case.due_soon_days,
        )
    return web.json_response(
        {
            "cases": [
                {
                    "id": r.case.id,
                    "number": r.case.number,
                    "line": r.line.code,
                    "line_name": r.line.name,
                    "state": r.case.state,
                    "stage": states.label(r.case.state),
                    "summary": r.case.summary[:40],
                    "created_at": r.case.created_at.isoformat(),
                }
                | _flags_json(r.flags)
                for r in rows
            ]
        }
    )


async def case_deadlines_api(request: web.Request) -> web.StreamResponse:
    """Every deadline of the case with its rule, the open one's flags, and notice deliveries."""
    case_id = int(request.match_info["case_id"])
    who = principal(request)
    app = request.app
    async with app[keys.DB].reader() as session:
        case = await notices.readable_case(session, who, case_id)
        events = await timeline.events_of(session, case.id)
        delivered = await notices.deliveries(session, case.id)
        available = notices.available(case, events)
    flags = case_deadlines.flags(
        case.state, events, app[keys.CLOCK].now(), due_soon_days=app[keys.CONFIG].case.due_soon_days
    )
    return web.json_response(
        {
            "deadlines": [_deadline_json(d) for d in case_deadlines.attached(events)],
            **_flags_json(flags),
            "notices": [
                {"kind": k.value, "title": notices.NOTICE_TITLES[k], "url": _notice_url(case_id, k)}
                for k in available
            ],
            "deliveries": [_delivery_json(d) for d in delivered],
        }
    )


def _notice_url(case_id: int, kind: str) -> str:
    return f"/cases/{case_id}/notices/{kind}"


def _delivery_json(d: notices.Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind,
        "title": notices.NOTICE_TITLES[notices.NoticeKind(d.kind)],
        "delivered_at": d.delivered_at.isoformat(),
        "method": d.method,
        "by": d.by,
    }


async def notice_page(request: web.Request) -> web.StreamResponse:
    case_id = int(request.match_info["case_id"])
    kind = request.match_info["kind"]
    async with request.app[keys.DB].reader() as session:
        notice = await notices.notice(session, principal(request), case_id, kind)
    return aiohttp_jinja2.render_template(
        f"notices/{notice.kind.value}.html", request, {"notice": notice, "case_id": case_id}
    )


async def post_delivery(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, DeliveryBody)
    case_id = int(request.match_info["case_id"])
    app = request.app
    async with app[keys.DB].transaction() as session:
        done = await notices.record_delivery(
            session,
            principal(request),
            case_id,
            request.match_info["kind"],
            method=body.method,
            delivered_at=body.delivered_at,
            now=app[keys.CLOCK].now(),
        )
    return web.json_response(_delivery_json(done), status=201)


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/api/cases", list_cases, STAFF)
    add_route(app, "GET", "/api/cases/{case_id:\\d+}/deadlines", case_deadlines_api, STAFF)
    add_route(app, "GET", "/cases/{case_id:\\d+}/notices/{kind}", notice_page, STAFF)
    add_route(
        app,
        "POST",
        "/api/cases/{case_id:\\d+}/notices/{kind}/deliveries",
        post_delivery,
        DELIVERY_ROLES,
    )
