"""Guest sessions: the browser that opened an external invitee's link acts as a guest bound to
that one invitation (role `guest`, no account). One browser at a time: another browser is
refused while the first was active within `meeting.guest_claim_s`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.meetings import links
from hall.meetings.links import LinkInUse, LinkSigner
from hall.meetings.tables import GuestSession, Meeting, MeetingInvitation
from hall.settings import MeetingSettings


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Opened:
    """A link opened: the guest session's cookie token (new, or the browser's own) and whose."""

    token: str
    new: bool
    invitation: MeetingInvitation
    meeting: Meeting


async def open_link(
    session: AsyncSession,
    signer: LinkSigner,
    link_token: str,
    *,
    browser_token: str | None,
    now: datetime,
    settings: MeetingSettings,
) -> Opened:
    """Open an invitation link in a browser that holds `browser_token` (its guest cookie, if
    any). The link must verify and be valid (`link_invalid`, `link_revoked`, `link_expired`);
    the browser that holds the invitation's session keeps it; another browser takes it over
    only when that session has been idle for `guest_claim_s` (else `link_in_use`)."""
    invitation_id, nonce = signer.read(link_token)
    invitation = await session.get(MeetingInvitation, invitation_id)
    meeting = None if invitation is None else await session.get(Meeting, invitation.meeting_id)
    invitation, meeting = links.check_valid(
        invitation, meeting, nonce, now=now, margin_min=settings.link_margin_min
    )
    held = list(
        await session.scalars(
            select(GuestSession).where(
                GuestSession.invitation_id == invitation.id, GuestSession.expires_at > now
            )
        )
    )
    mine = _hash(browser_token) if browser_token else None
    for row in held:
        if row.token_hash == mine and browser_token is not None:
            row.seen_at = now
            return Opened(browser_token, False, invitation, meeting)
    idle_before = now - timedelta(seconds=settings.guest_claim_s)
    if any(row.seen_at > idle_before for row in held):
        raise LinkInUse("该链接正在另一台设备或浏览器上使用；一个链接同一时间只能一人使用")
    await end_guest_sessions(session, invitation.id)
    token = secrets.token_urlsafe(32)
    session.add(
        GuestSession(
            token_hash=_hash(token),
            invitation_id=invitation.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            seen_at=now,
            expires_at=links.expires_at(meeting, settings.link_margin_min),
        )
    )
    await session.flush()
    return Opened(token, True, invitation, meeting)


async def end_guest_sessions(session: AsyncSession, invitation_id: int) -> None:
    """Forget every guest session of the invitation (revoked link, cancelled meeting)."""
    await session.execute(delete(GuestSession).where(GuestSession.invitation_id == invitation_id))


async def principal_for_guest(
    session: AsyncSession, token: str, *, now: datetime
) -> Principal | None:
    """The guest principal of a live guest session token, or None."""
    row = (
        await session.execute(
            select(GuestSession, MeetingInvitation)
            .join(MeetingInvitation, MeetingInvitation.id == GuestSession.invitation_id)
            .where(GuestSession.token_hash == _hash(token))
        )
    ).first()
    if row is None:
        return None
    guest, invitation = row
    if guest.expires_at <= now or invitation.revoked_at is not None:
        return None
    return Principal(
        user_id=-invitation.id,
        username=f"guest-{invitation.id}",
        display_name=invitation.name,
        role=Role.GUEST,
        line_ids=frozenset(),
        terminal_id=None,
        room_id=None,
        csrf_token=guest.csrf_token,
        invitation_id=invitation.id,
    )


async def touch(session: AsyncSession, token: str, *, now: datetime) -> None:
    """The guest's browser is active now (keeps its claim on the link)."""
    row = await session.get(GuestSession, _hash(token))
    if row is not None:
        row.seen_at = now
