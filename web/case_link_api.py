"""HTTP edge of merging and splitting case files (合并 / 拆分) and undoing them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hall.cases import cases, links
from hall.cases.tables import Case
from hall.errors import NotFound
from web import keys
from web.api import parse_body
from web.auth import add_route, principal

LINK_ROLES = {"officer", "leader", "supervisor", "admin"}


class MergeBody(BaseModel):
    """POST /api/cases/{case_id}/merge."""

    model_config = ConfigDict(extra="forbid")
    into: int | str = Field(union_mode="left_to_right")  # a case id or a case number
    reason: str = Field(max_length=2000)
    accused_override: str | None = Field(default=None, max_length=2000)  # supervisor only


class ReasonBody(BaseModel):
    """POST /api/cases/{case_id}/undo-merge and /undo-split."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=2000)
    accused_override: str | None = Field(default=None, max_length=2000)  # supervisor only


class SplitBody(BaseModel):
    """POST /api/cases/{case_id}/split: exactly one of visit_id, ticket_id, party_id."""

    model_config = ConfigDict(extra="forbid")
    visit_id: int | None = None
    ticket_id: int | None = None
    party_id: int | None = None
    summary: str = Field(max_length=4000)
    reason: str = Field(max_length=2000)


def _case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "merged_into_id": case.merged_into_id,
        "split_from_id": case.split_from_id,
    }


async def _case_id(session: AsyncSession, ref: int | str) -> int:
    """A case named by its id or its number (JF…)."""
    if isinstance(ref, int):
        return ref
    found = await cases.case_id_of_number(session, ref.strip().upper())
    if found is None:
        raise NotFound(f"信访事项 {ref.strip()} 不存在")
    return found


async def merge(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, MergeBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        case = await links.merge(
            session,
            principal(request),
            int(request.match_info["case_id"]),
            await _case_id(session, body.into),
            reason=body.reason,
            now=app[keys.CLOCK].now(),
            accused_override=body.accused_override,
        )
        return web.json_response(_case_json(case))


async def _undo(request: web.Request, step: Any) -> web.StreamResponse:
    """Undo a merge or a split of the case in the path, with the reason given."""
    body = await parse_body(request, ReasonBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        case = await step(
            session,
            principal(request),
            int(request.match_info["case_id"]),
            reason=body.reason,
            now=app[keys.CLOCK].now(),
            accused_override=body.accused_override,
        )
        return web.json_response(_case_json(case))


async def undo_merge(request: web.Request) -> web.StreamResponse:
    return await _undo(request, links.undo_merge)


async def split(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, SplitBody)
    app = request.app
    async with app[keys.DB].transaction() as session:
        case = await links.split(
            session,
            principal(request),
            int(request.match_info["case_id"]),
            links.SplitItem(
                visit_id=body.visit_id, ticket_id=body.ticket_id, party_id=body.party_id
            ),
            summary=body.summary,
            reason=body.reason,
            now=app[keys.CLOCK].now(),
            extend_over=app[keys.CONFIG].case.extend_rule,
        )
        return web.json_response(_case_json(case), status=201)


async def undo_split(request: web.Request) -> web.StreamResponse:
    return await _undo(request, links.undo_split)


def setup(app: web.Application) -> None:
    base = "/api/cases/{case_id:\\d+}"
    add_route(app, "POST", f"{base}/merge", merge, LINK_ROLES)
    add_route(app, "POST", f"{base}/undo-merge", undo_merge, LINK_ROLES)
    add_route(app, "POST", f"{base}/split", split, LINK_ROLES)
    add_route(app, "POST", f"{base}/undo-split", undo_split, LINK_ROLES)
