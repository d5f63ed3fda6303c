"""Supervision of the queues (督查): the day's queue figures as JSON and as a zh-CN page.

Both read `hall.queue.stats.queue_figures` for one local day of the hall (UTC+8); every rate is
given with its numerator and denominator.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hall.errors import InvalidInput
from hall.queue.stats import DayFigures, Figures, Rate, hall_day, queue_figures
from web import keys
from web.auth import PRINCIPAL, add_route
from web.bounds import day_problem

ROLES = frozenset({"supervisor", "admin", "leader", "desk"})
REFRESH_S = 10
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(request: web.Request) -> date:
    """The `day` query parameter (YYYY-MM-DD), or today in the hall's time zone."""
    raw = request.query.get("day", "").strip()
    if not raw:
        return hall_day(request.app[keys.CLOCK].now())
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "日期格式有误", fields={"day": "请使用 YYYY-MM-DD 格式的有效日期"}
        ) from None
    if (problem := day_problem(day)) is not None:
        raise InvalidInput("日期超出范围", fields={"day": problem})
    return day


async def load(request: web.Request, day: date) -> DayFigures:
    """The queue figures of `day` at the app clock's now, under the configured thresholds."""
    app = request.app
    async with app[keys.DB].reader() as session:
        return await queue_figures(
            session, day=day, now=app[keys.CLOCK].now(), settings=app[keys.CONFIG].queue
        )


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def rate_json(rate: Rate) -> dict[str, Any]:
    """A rate as {"value", "numerator", "denominator"}; value is null for a zero denominator."""
    value = rate.value
    return {
        "value": None if value is None else round(value, 4),
        "numerator": rate.numerator,
        "denominator": rate.denominator,
    }


def figures_json(f: Figures) -> dict[str, Any]:
    """One line's (or the total's) figures; durations in seconds, null when undefined."""
    return {
        "joined": f.joined,
        "people": f.people,
        "answered": f.answered,
        "asa_s": _seconds(f.asa_s),
        "wait_p50_s": _seconds(f.wait_p50_s),
        "wait_p90_s": _seconds(f.wait_p90_s),
        "abandoned": f.abandoned,
        "short_abandons": f.short_abandons,
        "long_abandons": f.long_abandons,
        "abandon_rate": rate_json(f.abandon_rate),
        "sl1": rate_json(f.sl1),
        "sl2": rate_json(f.sl2),
        "finished": f.finished,
        "avg_handle_s": _seconds(f.avg_handle_s),
        "no_shows": f.no_shows,
        "transfers_out": f.transfers_out,
        "transfers_undone": f.transfers_undone,
        "missed_calls": f.missed_calls,
        "waiting_now": f.waiting_now,
        "longest_wait_s": _seconds(f.longest_wait_s),
    }


def day_json(figures: DayFigures) -> dict[str, Any]:
    """The whole answer of `GET /api/queue/stats`."""
    return {
        "day": figures.day.isoformat(),
        "from": figures.start.isoformat(),
        "to": figures.end.isoformat(),
        "now": figures.now.isoformat(),
        "live": figures.live,
        "service_level_s": figures.service_level_s,
        "short_abandon_s": figures.short_abandon_s,
        "lines": [
            {
                "id": line.line_id,
                "code": line.code,
                "name": line.name,
                "letter": line.letter,
                "figures": figures_json(line.figures),
            }
            for line in figures.lines
        ],
        "total": figures_json(figures.total),
    }


def duration_text(seconds: float | None) -> str:
    """A duration for people: 1小时02分, 3分05秒, 42秒; "—" when undefined."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600}小时{whole % 3600 // 60:02d}分"
    if whole >= 60:
        return f"{whole // 60}分{whole % 60:02d}秒"
    return f"{whole}秒"


def percent_text(rate: Rate) -> str:
    """A rate as a percentage with one decimal; "—" for a zero denominator."""
    value = rate.value
    return "—" if value is None else f"{value * 100:.1f}%"


async def queue_stats(request: web.Request) -> web.StreamResponse:
    day = parse_day(request)
    return web.json_response(day_json(await load(request, day)))


async def queues_page(request: web.Request) -> web.StreamResponse:
    day = parse_day(request)
    figures = await load(request, day)
    who = request.get(PRINCIPAL)
    context = {
        "who": who,
        "csrf_token": who.csrf_token if who else "",
        "figures": figures,
        "refresh_s": REFRESH_S,
        "duration": duration_text,
        "percent": percent_text,
    }
    return aiohttp_jinja2.render_template("supervisor_queues.html", request, context)


def setup(app: web.Application) -> None:
    """Register the supervision routes (supervisor, admin, leader, desk)."""
    add_route(app, "GET", "/api/queue/stats", queue_stats, ROLES)
    add_route(app, "GET", "/supervisor/queues", queues_page, ROLES)
