"""The bounds of input values at the HTTP edge: row ids in paths, integers and dates in bodies and
query strings. A value outside them is refused here, before it reaches a query or date arithmetic
(SQLite and PostgreSQL keys are signed 64-bit; `date` overflows one day past 9999-12-31)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from hall.errors import InvalidInput, NotFound

ROW_ID_MAX = 2**63 - 1  # the largest signed 64-bit integer: no row id is above it
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
DAY_MIN, DAY_MAX = date(1900, 1, 1), date(2999, 12, 31)
# A `{name:\d+}` placeholder in a route's compiled pattern: that path parameter is a row id.
_ID_GROUP = re.compile(r"\(\?P<(\w+)>\\d\+\)")


def _path_ids(request: web.Request) -> list[str]:
    resource = request.match_info.route.resource
    if resource is None:
        return []
    pattern = resource.get_info().get("pattern")
    return _ID_GROUP.findall(pattern.pattern) if pattern is not None else []


@web.middleware
async def path_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A path id that cannot be a row id (not ASCII digits, or above ROW_ID_MAX) is `not_found`
    for every route, so that no handler hands it to the database."""
    for name in _path_ids(request):
        value = request.match_info[name]
        if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > ROW_ID_MAX:
            raise NotFound("没有这条记录")
    return await handler(request)


def day_problem(day: date) -> str | None:
    """Why `day` is not a day the hall takes (outside DAY_MIN–DAY_MAX), or None."""
    if DAY_MIN <= day <= DAY_MAX:
        return None
    return f"日期须在 {DAY_MIN.isoformat()} 至 {DAY_MAX.isoformat()} 之间"


def _problems(value: Any, where: str, found: dict[str, str]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            key = type(value).model_fields[name].alias or name
            _problems(getattr(value, name), f"{where}.{key}" if where else key, found)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _problems(item, f"{where}.{i}", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _problems(item, f"{where}.{key}", found)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            found[where] = "数值超出范围"
    elif isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if (problem := day_problem(day)) is not None:
            found[where] = problem


def check_bounds(parsed: BaseModel, message: str) -> None:
    """Every integer of a parsed body or query within signed 64 bits and every date within
    DAY_MIN–DAY_MAX; otherwise `invalid_input` with `message`, naming each field."""
    found: dict[str, str] = {}
    _problems(parsed, "", found)
    if found:
        raise InvalidInput(message, fields=found)
