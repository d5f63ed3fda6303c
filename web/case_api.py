"""HTTP edge of the case lifecycle (state transitions) and of the public progress query page."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hall.cases import accusations, legal_channels, public_query, states
from hall.cases.states import Change
from hall.cases.tables import Case, CaseState
from hall.errors import NotFound
from web import keys
from web.api import parse_body
from web.auth import PUBLIC, add_route, principal, throttled
from web.errors import BadJson

TRANSITION_ROLES = {"officer", "leader", "supervisor", "admin"}


class TransitionBody(BaseModel):
    """POST /api/cases/{case_id}/transitions."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=32)
    reason: str = Field(max_length=2000)
    outcome: str | None = Field(default=None, max_length=32)
    classification: str | None = Field(default=None, max_length=32)
    claim_type: int | None = None
    extension_days: int | None = None
    department: str | None = Field(default=None, max_length=32)
    legal_channel: str | None = Field(default=None, max_length=32)
    legal_channel_note: str | None = Field(default=None, max_length=400)
    accused_department: str | None = Field(default=None, max_length=32)
    accused_name: str | None = Field(default=None, max_length=256)
    accused_override: str | None = Field(default=None, max_length=2000)  # supervisor only


class QueryBody(BaseModel):
    """POST /api/public/query."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(max_length=public_query.NUMBER_MAX)
    query_code: str = Field(max_length=public_query.QUERY_CODE_MAX)


def _state_json(
    case: Case, allowed: list[CaseState], accused: accusations.Accused | None
) -> dict[str, Any]:
    """The state panel: bureau staff only (the accused unit is restricted data)."""
    current = CaseState(case.state)
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "stage": states.label(case.state),
        "outcome": case.outcome,
        "classification": case.classification,
        "claim_type": case.claim_type,
        "legal_channel": (
            {
                "code": case.legal_channel,
                "label": legal_channels.display(case.legal_channel, case.legal_channel_note),
            }
            if case.legal_channel
            else None
        ),
        "accused": accused.as_json() if accused else None,
        "allowed": [
            {
                "to": s.value,
                "label": "延长办理期限" if s is current else states.label(s),
                "extension": s is current,
            }
            for s in allowed
        ],
    }


async def get_transitions(request: web.Request) -> web.StreamResponse:
    case_id = int(request.match_info["case_id"])
    who = principal(request)
    async with request.app[keys.DB].reader() as session:
        allowed = await states.allowed_next(session, who, case_id)
        case = await session.get_one(Case, case_id)
        accused = await accusations.current(session, case)
        return web.json_response(_state_json(case, allowed, accused))


async def post_transition(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, TransitionBody)
    case_id = int(request.match_info["case_id"])
    who = principal(request)
    app = request.app
    async with app[keys.DB].transaction() as session:
        done = await states.transition(
            session,
            who,
            case_id,
            body.to,
            reason=body.reason,
            now=app[keys.CLOCK].now(),
            change=Change(
                outcome=body.outcome,
                classification=body.classification,
                claim_type=body.claim_type,
                extension_days=body.extension_days,
                department=body.department,
                legal_channel=body.legal_channel,
                legal_channel_note=body.legal_channel_note,
                accused_department=body.accused_department,
                accused_name=body.accused_name,
                accused_override=body.accused_override,
            ),
            extend_over=app[keys.CONFIG].case.extend_rule,
        )
        allowed = await states.allowed_next(session, who, case_id)
        accused = await accusations.current(session, done.case)
        result = _state_json(done.case, allowed, accused)
    result["due"] = {name: states.due_json(due) for name, due in done.due.items()}
    return web.json_response(result)


@aiohttp_jinja2.template("query.html")
async def query_page(request: web.Request) -> dict[str, Any]:
    # No session data in the page: the query is the same for everyone.
    return {"who": None, "csrf_token": ""}


async def public_query_api(request: web.Request) -> web.StreamResponse:
    """Public, no session, no CSRF token: see docs/http-api.md for why that is safe."""
    if request.content_type != "application/json":
        # A cross-site form cannot send JSON without a CORS preflight, which is never granted.
        raise BadJson("请以JSON提交查询（Content-Type: application/json）")
    body = await parse_body(request, QueryBody)
    number = body.number.strip().upper()
    async with (
        throttled(request, request.app[keys.QUERY_THROTTLE], number, NotFound),
        request.app[keys.DB].reader() as session,
    ):
        status = await public_query.public_status(session, number, body.query_code)
    return web.json_response(
        {
            "number": status.number,
            "state": status.state,
            "stage": status.stage,
            "unit": status.unit,
            "due": (
                {"date": status.due_date, "label": status.due_label} if status.due_date else None
            ),
            "legal_channel": status.legal_channel,
            "events": [
                {"kind": e.kind, "label": e.label, "date": e.day.isoformat()} for e in status.events
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


def setup(app: web.Application) -> None:
    path = "/api/cases/{case_id:\\d+}/transitions"
    add_route(app, "GET", path, get_transitions, TRANSITION_ROLES)
    add_route(app, "POST", path, post_transition, TRANSITION_ROLES)
    add_route(app, "GET", "/query", query_page, PUBLIC)
    add_route(app, "POST", "/api/public/query", public_query_api, PUBLIC)
