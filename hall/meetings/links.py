"""Invitation links of external invitees: signed (itsdangerous) tokens carrying the invitation id
and the nonce stored on its row; valid until the meeting's planned end plus a margin, revocable
(a new nonce or `revoked_at`), and opened by one browser at a time (the guest session)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from hall.errors import HallError
from hall.meetings.tables import Meeting, MeetingInvitation, MeetingState

SECRET_FILE = "meeting-link.secret"  # noqa: S105 - a file name, not a secret
_SALT = "jiefang-hall.meeting-invitation"


class LinkInvalid(HallError):
    """A link whose signature does not verify (tampered, cut short, or signed with another
    secret), or that names no invitation."""

    code = "link_invalid"


class LinkExpired(HallError):
    """A link past the meeting's planned end plus the margin."""

    code = "link_expired"


class LinkRevoked(HallError):
    """A link revoked by the host (or replaced by a newer one), or of a cancelled meeting."""

    code = "link_revoked"


class LinkInUse(HallError):
    """A link open in another browser right now."""

    code = "link_in_use"


def load_secret(configured: str, data_dir: Path) -> str:
    """The link-signing secret: the configured one, else the one kept in the data dir,
    generated (random, 256 bits, file mode 0600) the first time."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    if path.exists():
        stored = path.read_text(encoding="ascii").strip()
        if len(stored) >= 32:
            return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    part = path.with_suffix(".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret)
    part.replace(path)
    return secret


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """Signs and reads invitation tokens with the hall's link secret."""

    secret: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=_SALT)

    def token(self, invitation: MeetingInvitation) -> str:
        """The token of the invitation's current nonce (the invitation must have one)."""
        if invitation.nonce is None:
            raise ValueError(f"invitation {invitation.id} has no link")
        return self._serializer().dumps([invitation.id, invitation.nonce])

    def read(self, token: str) -> tuple[int, str]:
        """(invitation id, nonce) of a token; `link_invalid` if it does not verify."""
        try:
            value = self._serializer().loads(token)
        except BadSignature:
            raise LinkInvalid(
                "链接无效：链接不完整或已被改动，请向会议主持人索取新的链接"
            ) from None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], int)
            or not isinstance(value[1], str)
        ):
            raise LinkInvalid("链接无效：链接内容不正确")
        return value[0], value[1]


def new_nonce() -> str:
    """A fresh link nonce (128 bits)."""
    return secrets.token_hex(16)


def expires_at(meeting: Meeting, margin_min: int) -> datetime:
    """When the meeting's links expire: its planned end plus the margin."""
    return meeting.starts_at + timedelta(minutes=meeting.duration_min + margin_min)


def check_valid(
    invitation: MeetingInvitation | None,
    meeting: Meeting | None,
    nonce: str,
    *,
    now: datetime,
    margin_min: int,
) -> tuple[MeetingInvitation, Meeting]:
    """The invitation and meeting of a verified token, or the reason it may not be used:
    `link_invalid` (no such external invitation), `link_revoked` (revoked, replaced by a newer
    link, meeting cancelled), `link_expired` (past the planned end plus the margin)."""
    if invitation is None or meeting is None or invitation.sort != "external":
        raise LinkInvalid("链接无效：找不到对应的会议邀请")
    if invitation.revoked_at is not None or invitation.nonce != nonce:
        raise LinkRevoked("链接已被主持人撤销，请向会议主持人索取新的链接")
    if meeting.state == MeetingState.CANCELLED:
        raise LinkRevoked("会议已取消，链接不再有效")
    if now >= expires_at(meeting, margin_min):
        raise LinkExpired("链接已过期：会议已结束")
    return invitation, meeting
