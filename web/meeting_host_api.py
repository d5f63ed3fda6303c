"""JSON API of a meeting's host: the lobby (admit, admit all, deny) and the host controls
(media controls, remove, role, hand-over, side rooms, end for all). Only the meeting's current
host passes the domain's check; each change is published on `meeting:<id>` after commit."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hall.meetings import controls, lobby
from hall.meetings.tables import ParticipantRole
from web import keys
from web.api import parse_body
from web.auth import STAFF, add_route, principal
from web.meeting_api import meeting_json, participant_answer, path_id, path_meeting_id


class DenyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(default="", max_length=200)


class ControlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["ask_unmute", "mute", "video_off"]


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["speaker", "observer"]


class HostBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participant_id: int


class SideRoomBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    participants: list[int] = Field(max_length=50)


async def admit(request: web.Request) -> web.StreamResponse:
    now = request.app[keys.MEETINGS].clock.now()
    who = principal(request)
    pid = path_id(request, "participant_id")
    return await participant_answer(
        request,
        lambda s: lobby.admit(s, who, path_meeting_id(request), pid, now=now),
        event="admitted",
    )


async def admit_all(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        rows = await lobby.admit_all(
            session, principal(request), path_meeting_id(request), now=service.clock.now()
        )
        return {"admitted": [row.id for row in rows]}

    answer = await service.run(path_meeting_id(request), use_case)
    for pid in answer["admitted"]:
        service.control(path_meeting_id(request), pid, "admitted")
    return web.json_response(answer)


async def deny(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, DenyBody)
    service = request.app[keys.MEETINGS]
    who = principal(request)
    pid = path_id(request, "participant_id")
    answer = await participant_answer(
        request,
        lambda s: lobby.deny(
            s, who, path_meeting_id(request), pid, body.message, now=service.clock.now()
        ),
    )
    service.denied(path_meeting_id(request), pid, body.message.strip())
    return answer


async def control(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ControlBody)
    now = request.app[keys.MEETINGS].clock.now()
    who = principal(request)
    pid = path_id(request, "participant_id")
    action = controls.Control(body.action)
    return await participant_answer(
        request,
        lambda s: controls.control(s, who, path_meeting_id(request), pid, action, now=now),
        event=action.value,
    )


async def remove(request: web.Request) -> web.StreamResponse:
    now = request.app[keys.MEETINGS].clock.now()
    who = principal(request)
    pid = path_id(request, "participant_id")
    return await participant_answer(
        request,
        lambda s: controls.remove(s, who, path_meeting_id(request), pid, now=now),
        event="removed",
    )


async def set_role(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, RoleBody)
    now = request.app[keys.MEETINGS].clock.now()
    who = principal(request)
    pid = path_id(request, "participant_id")
    role = ParticipantRole(body.role)
    return await participant_answer(
        request,
        lambda s: controls.set_role(s, who, path_meeting_id(request), pid, role, now=now),
        event=f"role_{role.value}",
    )


async def hand_over(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, HostBody)
    now = request.app[keys.MEETINGS].clock.now()
    who = principal(request)
    return await participant_answer(
        request,
        lambda s: controls.hand_over(
            s, who, path_meeting_id(request), body.participant_id, now=now
        ),
        event="made_host",
    )


async def open_side_room(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, SideRoomBody)
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        room = await controls.open_side_room(
            session,
            principal(request),
            path_meeting_id(request),
            body.name,
            body.participants,
            now=service.clock.now(),
        )
        return {"id": room.id, "name": room.name, "participants": body.participants}

    return web.json_response(await service.run(path_meeting_id(request), use_case), status=201)


async def close_side_room(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        room = await controls.close_side_room(
            session,
            principal(request),
            path_meeting_id(request),
            path_id(request, "room_id"),
            now=service.clock.now(),
        )
        return {"id": room.id, "name": room.name, "closed": True}

    return web.json_response(await service.run(path_meeting_id(request), use_case))


async def end_meeting(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.MEETINGS]

    async def use_case(session: AsyncSession) -> dict[str, Any]:
        meeting = await controls.end(
            session, principal(request), path_meeting_id(request), now=service.clock.now()
        )
        return meeting_json(meeting)

    answer = await service.run(path_meeting_id(request), use_case)
    service.ended(path_meeting_id(request))
    return web.json_response(answer)


def setup(app: web.Application) -> None:
    m = "/api/meetings/{meeting_id:\\d+}"
    p = m + "/participants/{participant_id:\\d+}"
    add_route(app, "POST", m + "/lobby/admit-all", admit_all, STAFF)
    add_route(app, "POST", p + "/admit", admit, STAFF)
    add_route(app, "POST", p + "/deny", deny, STAFF)
    add_route(app, "POST", p + "/control", control, STAFF)
    add_route(app, "POST", p + "/remove", remove, STAFF)
    add_route(app, "POST", p + "/role", set_role, STAFF)
    add_route(app, "POST", m + "/host", hand_over, STAFF)
    add_route(app, "POST", m + "/side-rooms", open_side_room, STAFF)
    add_route(app, "POST", m + "/side-rooms/{room_id:\\d+}/close", close_side_room, STAFF)
    add_route(app, "POST", m + "/end", end_meeting, STAFF)
