"""Meeting pages (zh-CN): an external invitee's link `/m/{token}` (a guest session for that one
invitation, or a page saying exactly why the link cannot be used) and the printable invitation."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hall.accounts.tables import User
from hall.meetings import guests, links, scheduling
from hall.meetings.tables import MeetingKind
from web import keys
from web.auth import GUEST_COOKIE, PUBLIC, STAFF, add_route, principal
from web.meeting_api import invitation_link

KIND_LABELS = {
    MeetingKind.COORDINATION: "协调会",
    MeetingKind.JOINT: "联席会议",
    MeetingKind.DISPATCH: "包案调度会",
}
# The status of each reason a link cannot be used.
LINK_STATUS = {
    links.LinkInvalid.code: 404,
    links.LinkExpired.code: 410,
    links.LinkRevoked.code: 410,
    links.LinkInUse.code: 409,
}
LINK_ERRORS = (links.LinkInvalid, links.LinkExpired, links.LinkRevoked, links.LinkInUse)


async def open_link(request: web.Request) -> web.StreamResponse:
    """An external invitee opens their link: this browser becomes the invitation's guest."""
    service = request.app[keys.MEETINGS]
    now = service.clock.now()
    browser = request.cookies.get(GUEST_COOKIE)
    try:
        async with service.db.transaction() as session:
            opened = await guests.open_link(
                session,
                service.signer,
                request.match_info["token"],
                browser_token=browser,
                now=now,
                settings=service.settings,
            )
    except LINK_ERRORS as exc:
        if "application/json" in request.headers.get("Accept", ""):
            raise  # a program asked: the one JSON error shape, same status
        return aiohttp_jinja2.render_template(
            "meetings/link_error.html",
            request,
            {"who": None, "csrf_token": "", "code": exc.code, "message": exc.message},
            status=LINK_STATUS[exc.code],
        )
    async with service.db.reader() as session:
        guest = await guests.principal_for_guest(session, opened.token, now=now)
    context: dict[str, Any] = {
        "who": None,
        "csrf_token": "" if guest is None else guest.csrf_token,
        "meeting": opened.meeting,
        "invitation": opened.invitation,
        "kind_label": KIND_LABELS.get(MeetingKind(opened.meeting.kind), "会议"),
    }
    response = aiohttp_jinja2.render_template("meetings/link.html", request, context)
    if opened.new:
        response.set_cookie(
            GUEST_COOKIE,
            opened.token,
            httponly=True,
            samesite="Lax",
            secure=request.app[keys.CONFIG].web.secure_cookies,
            path="/",
            max_age=max(
                60,
                int(
                    (
                        links.expires_at(opened.meeting, service.settings.link_margin_min) - now
                    ).total_seconds()
                ),
            ),
        )
    return response


async def invitation_page(request: web.Request) -> web.StreamResponse:
    """A printable invitation, with the link of an external invitee (its managers only)."""
    who = principal(request)
    async with request.app[keys.DB].reader() as session:
        meeting, invitation = await scheduling.external_invitation(
            session,
            who,
            int(request.match_info["meeting_id"]),
            int(request.match_info["invitation_id"]),
        )
        host = await session.get(User, meeting.host_id)
    return aiohttp_jinja2.render_template(
        "meetings/invitation.html",
        request,
        {
            "meeting": meeting,
            "invitation": invitation,
            "link": invitation_link(request, invitation),
            "kind_label": KIND_LABELS.get(MeetingKind(meeting.kind), "会议"),
            "host_name": "" if host is None else host.display_name,
        },
    )


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/m/{token}", open_link, PUBLIC)
    add_route(
        app,
        "GET",
        "/meetings/{meeting_id:\\d+}/invitation/{invitation_id:\\d+}",
        invitation_page,
        STAFF,
    )
