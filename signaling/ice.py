"""ICE configuration for browsers: STUN URLs and short-lived TURN credentials.

TURN credentials follow coturn's REST scheme (`use-auth-secret`): the username is
`<expiry unix time>:<user>`, the password is base64(HMAC-SHA1(shared secret, username)).
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from signaling.settings import SignalingSettings


def turn_credential(secret: str, username: str) -> str:
    """The TURN password coturn derives from its shared secret for `username`."""
    digest = hmac.new(secret.encode(), username.encode(), digestmod="sha1").digest()
    return base64.b64encode(digest).decode()


def browser_ice_servers(
    settings: SignalingSettings, *, user: str, now_s: float
) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for a browser of `user`; TURN entries carry fresh credentials."""
    servers: list[dict[str, Any]] = []
    for url in settings.ice_servers:
        if url.startswith(("turn:", "turns:")):
            if not settings.turn_secret:
                continue  # a TURN server without credentials would only fail
            username = f"{int(now_s) + settings.turn_ttl_s}:{user}"
            servers.append(
                {
                    "urls": url,
                    "username": username,
                    "credential": turn_credential(settings.turn_secret, username),
                }
            )
        else:
            servers.append({"urls": url})
    return servers


def hub_stun_urls(settings: SignalingSettings) -> list[str]:
    """The STUN URLs the server's own peer connections use (the hub needs no TURN relay:
    browsers reach it, it does not reach them)."""
    return [url for url in settings.ice_servers if url.startswith(("stun:", "stuns:"))]
