"""HTTP edge of satisfaction evaluation (满意度评价) beyond the public query page: the village
terminal's 待评价 list and the rating it records for the petitioner, and the supervisors'
figures (参评率, 满意率) as JSON and as a zh-CN page."""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hall.cases import evaluation
from hall.cases.evaluation_stats import EvaluationFigures, Group, Tally, evaluation_figures
from hall.queue.stats import hall_day
from web import keys
from web.api import parse_body, parse_query
from web.auth import PRINCIPAL, add_route, principal
from web.supervision import percent_text, rate_json

TERMINAL = {"terminal"}
FIGURE_ROLES = {"supervisor", "admin", "leader"}


class TerminalEvaluationBody(BaseModel):
    """POST /api/terminal/cases/{case_id}/evaluation."""

    model_config = ConfigDict(extra="forbid")
    grade: str = Field(max_length=32)
    comment: str = Field(default="", max_length=2000)


class RangeQuery(BaseModel):
    """Query parameters of the figures: `from` and `to`, hall days (YYYY-MM-DD), inclusive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")


def status_json(status: evaluation.EvaluationStatus) -> dict[str, Any]:
    """An evaluation status as every route shows it (the grade and channel in words too)."""
    return {
        "state": status.state,
        "deadline": status.deadline.isoformat() if status.deadline else None,
        "grade": status.grade,
        "grade_label": evaluation.GRADES.get(status.grade or ""),
        "channel": status.channel,
        "channel_label": evaluation.CHANNEL_LABELS.get(status.channel or ""),
    }


async def terminal_pending(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[keys.DB].reader() as session:
        rows = await evaluation.pending_for_terminal(
            session,
            principal(request),
            now=app[keys.CLOCK].now(),
            days=app[keys.CONFIG].case.evaluation_days,
        )
    return web.json_response(
        {
            "cases": [
                {
                    "case_id": p.case_id,
                    "number": p.number,
                    "summary": p.summary,
                    "petitioner": p.petitioner,
                    "line": p.line,
                    "outcome": p.outcome,
                    "deadline": p.deadline.isoformat(),
                }
                for p in rows
            ]
        }
    )


async def terminal_evaluate(request: web.Request) -> web.StreamResponse:
    """The agent records the petitioner's grade on the petitioner's behalf (channel terminal)."""
    body = await parse_body(request, TerminalEvaluationBody)
    who = principal(request)
    app = request.app
    now = app[keys.CLOCK].now()
    days = app[keys.CONFIG].case.evaluation_days
    async with app[keys.DB].transaction() as session:
        case = await evaluation.terminal_case(session, who, int(request.match_info["case_id"]))
        await evaluation.evaluate(
            session,
            case,
            grade=body.grade,
            comment=body.comment,
            channel="terminal",
            now=now,
            days=days,
            actor_id=who.user_id,
        )
        status = await evaluation.status(session, case, now=now, days=days)
        result = {"case_id": case.id, "number": case.number, **status_json(status)}
    return web.json_response(result, status=201)


async def _figures(request: web.Request) -> EvaluationFigures:
    q = parse_query(request, RangeQuery, "统计区间有误")
    app = request.app
    now = app[keys.CLOCK].now()
    end = q.end or hall_day(now)
    start = q.start or end.replace(day=1)
    async with app[keys.DB].reader() as session:
        return await evaluation_figures(
            session, start=start, end=end, now=now, days=app[keys.CONFIG].case.evaluation_days
        )


def tally_json(t: Tally) -> dict[str, Any]:
    """One group's counts and its two rates (each with numerator and denominator)."""
    return {
        "responses": t.responses,
        "evaluated": t.evaluated,
        "expired": t.expired,
        "open": t.open,
        "grades": dict(t.grades),
        "participation": rate_json(t.participation),
        "satisfaction": rate_json(t.satisfaction),
    }


def _group_json(g: Group) -> dict[str, Any]:
    return {"code": g.code, "name": g.name, **tally_json(g.tally)}


async def figures_api(request: web.Request) -> web.StreamResponse:
    f = await _figures(request)
    return web.json_response(
        {
            "from": f.start.isoformat(),
            "to": f.end.isoformat(),
            "lines": [_group_json(g) for g in f.lines],
            "departments": [_group_json(g) for g in f.departments],
            "total": tally_json(f.total),
        }
    )


async def figures_page(request: web.Request) -> web.StreamResponse:
    f = await _figures(request)
    who = request.get(PRINCIPAL)
    context = {
        "who": who,
        "csrf_token": who.csrf_token if who else "",
        "figures": f,
        "grades": evaluation.GRADES,
        "percent": percent_text,
    }
    return aiohttp_jinja2.render_template("supervisor_evaluations.html", request, context)


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/api/terminal/evaluations", terminal_pending, TERMINAL)
    add_route(
        app,
        "POST",
        "/api/terminal/cases/{case_id:\\d+}/evaluation",
        terminal_evaluate,
        TERMINAL,
    )
    add_route(app, "GET", "/api/evaluations/stats", figures_api, FIGURE_ROLES)
    add_route(app, "GET", "/supervisor/evaluations", figures_page, FIGURE_ROLES)
