"""HTTP edge of responsible departments (责任单位): receipt, objection, reply; supervision (督办);
leader ownership (包案); and the petitioner's satisfaction evaluation (满意度评价)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.cases import cases, departments, evaluation, public_query
from hall.cases.states import Change
from hall.cases.tables import Case, Supervision
from hall.errors import Forbidden, NotFound
from web import keys
from web.api import parse_body
from web.auth import PRINCIPAL, PUBLIC, STAFF, add_route, principal, throttled
from web.errors import BadJson
from web.evaluation_api import status_json

DEPARTMENT = {"department"}


class ObjectionBody(BaseModel):
    """POST /api/cases/{case_id}/objection."""

    model_config = ConfigDict(extra="forbid")
    ground: str = Field(max_length=4000)


class ReplyBody(BaseModel):
    """POST /api/cases/{case_id}/reply."""

    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(max_length=32)
    text: str = Field(max_length=4000)
    classification: str | None = Field(default=None, max_length=32)
    claim_type: int | None = None


class SupervisionBody(BaseModel):
    """POST /api/cases/{case_id}/supervisions."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=4000)
    feedback_due: date


class FeedbackBody(BaseModel):
    """POST /api/supervisions/{supervision_id}/feedback."""

    model_config = ConfigDict(extra="forbid")
    feedback: str = Field(max_length=4000)


class EvaluationQueryBody(BaseModel):
    """POST /api/public/evaluation/status."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(max_length=public_query.NUMBER_MAX)
    query_code: str = Field(max_length=public_query.QUERY_CODE_MAX)


class EvaluationBody(EvaluationQueryBody):
    """POST /api/public/evaluation."""

    grade: str = Field(max_length=32)
    comment: str = Field(default="", max_length=2000)


def _case_id(request: web.Request) -> int:
    return int(request.match_info["case_id"])


def _supervision_json(s: Supervision | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "id": s.id,
        "reason": s.reason,
        "feedback_due": s.feedback_due.isoformat(),
        "feedback": s.feedback,
    }


async def list_departments(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await departments.list_departments(session)
    return web.json_response(
        {
            "departments": [
                {"code": d.code, "name": d.name, "region": d.region, "aliases": d.aliases}
                for d in rows
            ]
        }
    )


async def department_status(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    app = request.app
    async with app[keys.DB].reader() as session:
        case = await session.get(Case, _case_id(request))
        if case is None:
            raise NotFound(f"信访事项 {_case_id(request)} 不存在")
        if not cases.may_read(who, case):
            raise Forbidden("无权查看该信访事项")
        st = await departments.status(session, case.id, now=app[keys.CLOCK].now())
        grade = await evaluation.status(
            session, case, now=app[keys.CLOCK].now(), days=app[keys.CONFIG].case.evaluation_days
        )
        state = case.state
    handles = who.role == Role.DEPARTMENT and st.department is not None
    return web.json_response(
        {
            "case_id": case.id,
            "state": state,
            "department": (
                {"code": st.department.code, "name": st.department.name} if st.department else None
            ),
            "acknowledged": st.acknowledged,
            "object_due": st.object_due.isoformat() if st.object_due else None,
            "may_object": st.may_object,
            "supervision": _supervision_json(st.open_supervision),
            "overlays": st.overlays,
            "evaluation": status_json(grade),
            "handles": handles,
        }
    )


async def acknowledge(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        event = await departments.acknowledge(
            session, principal(request), _case_id(request), now=app[keys.CLOCK].now()
        )
        result = {"case_id": event.case_id, "seq": event.seq, "kind": event.kind}
    return web.json_response(result)


async def object_to(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ObjectionBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        done = await departments.object_to(
            session,
            principal(request),
            _case_id(request),
            ground=body.ground,
            now=app[keys.CLOCK].now(),
            extend_over=app[keys.CONFIG].case.extend_rule,
        )
        result = {"case_id": done.case.id, "state": done.case.state}
    return web.json_response(result)


async def reply(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ReplyBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        done = await departments.reply(
            session,
            principal(request),
            _case_id(request),
            outcome=body.outcome,
            text=body.text,
            now=app[keys.CLOCK].now(),
            change=Change(classification=body.classification, claim_type=body.claim_type),
            extend_over=app[keys.CONFIG].case.extend_rule,
        )
        result = {"case_id": done.case.id, "state": done.case.state, "outcome": done.case.outcome}
    return web.json_response(result)


async def open_supervision(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, SupervisionBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        row = await departments.open_supervision(
            session,
            principal(request),
            _case_id(request),
            reason=body.reason,
            feedback_due=body.feedback_due,
            now=app[keys.CLOCK].now(),
        )
        result = _supervision_json(row)
    return web.json_response(result, status=201)


async def feedback(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, FeedbackBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        row = await departments.record_feedback(
            session,
            principal(request),
            int(request.match_info["supervision_id"]),
            text=body.feedback,
            now=app[keys.CLOCK].now(),
        )
        result = _supervision_json(row)
    return web.json_response(result)


async def own_case(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].transaction() as session:
        case = await departments.own_case(
            session, principal(request), _case_id(request), now=app[keys.CLOCK].now()
        )
        result = {"case_id": case.id, "leader_id": case.leader_id}
    return web.json_response(result)


def _json_only(request: web.Request) -> None:
    if request.content_type != "application/json":
        # As for the query: a cross-site form cannot send JSON without a CORS preflight.
        raise BadJson("请以JSON提交（Content-Type: application/json）")


@asynccontextmanager
async def _public_case(
    request: web.Request, body: EvaluationQueryBody
) -> AsyncIterator[tuple[AsyncSession, Case]]:
    """A transaction and the case the body's number and code name, throttled as the query."""
    number = body.number.strip().upper()
    async with (
        throttled(request, request.app[keys.QUERY_THROTTLE], number, NotFound),
        request.app[keys.DB].transaction() as session,
    ):
        yield session, await public_query.matching_case(session, number, body.query_code)


async def evaluation_status(request: web.Request) -> web.StreamResponse:
    """Public: the evaluation window of the case; an expired window is recorded on read."""
    _json_only(request)
    body = await parse_body(request, EvaluationQueryBody)
    app = request.app
    async with _public_case(request, body) as (session, case):
        status = await evaluation.record_expiry(
            session, case, now=app[keys.CLOCK].now(), days=app[keys.CONFIG].case.evaluation_days
        )
    return web.json_response(status_json(status), headers={"Cache-Control": "no-store"})


async def evaluate(request: web.Request) -> web.StreamResponse:
    """Public: the petitioner grades the response (query page or terminal)."""
    _json_only(request)
    body = await parse_body(request, EvaluationBody)
    who = request.get(PRINCIPAL)
    channel = "terminal" if who is not None and who.role == Role.TERMINAL else "query"
    app = request.app
    days = app[keys.CONFIG].case.evaluation_days
    now = app[keys.CLOCK].now()
    async with _public_case(request, body) as (session, case):
        await evaluation.evaluate(
            session,
            case,
            grade=body.grade,
            comment=body.comment,
            channel=channel,
            now=now,
            days=days,
            actor_id=who.user_id if who is not None else None,
        )
        status = await evaluation.status(session, case, now=now, days=days)
    return web.json_response(status_json(status), headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    case = "/api/cases/{case_id:\\d+}"
    add_route(app, "GET", "/api/departments", list_departments, STAFF)
    add_route(app, "GET", f"{case}/department", department_status, STAFF | DEPARTMENT)
    add_route(app, "POST", f"{case}/acknowledgement", acknowledge, DEPARTMENT)
    add_route(app, "POST", f"{case}/objection", object_to, DEPARTMENT)
    add_route(app, "POST", f"{case}/reply", reply, DEPARTMENT)
    add_route(app, "POST", f"{case}/supervisions", open_supervision, {"supervisor", "admin"})
    add_route(app, "POST", "/api/supervisions/{supervision_id:\\d+}/feedback", feedback, DEPARTMENT)
    add_route(app, "POST", f"{case}/ownership", own_case, {"leader"})
    add_route(app, "POST", "/api/public/evaluation/status", evaluation_status, PUBLIC)
    add_route(app, "POST", "/api/public/evaluation", evaluate, PUBLIC)
