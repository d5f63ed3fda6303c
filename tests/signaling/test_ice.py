"""ICE configuration: STUN passes through, TURN gets coturn REST credentials that expire."""

from __future__ import annotations

import base64
import hashlib
import hmac

from signaling.ice import browser_ice_servers, hub_stun_urls, turn_credential
from signaling.settings import SignalingSettings


def test_turn_credentials_follow_coturn_rest_scheme() -> None:
    settings = SignalingSettings(
        ice_servers=("stun:stun.hall.gov:3478", "turn:turn.hall.gov:3478?transport=udp"),
        turn_secret="s3cret",
        turn_ttl_s=600,
    )
    servers = browser_ice_servers(settings, user="terminal-3", now_s=1_700_000_000.5)
    assert servers[0] == {"urls": "stun:stun.hall.gov:3478"}
    turn = servers[1]
    assert turn["username"] == "1700000600:terminal-3"
    expected = base64.b64encode(
        hmac.new(b"s3cret", b"1700000600:terminal-3", hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected == turn_credential("s3cret", turn["username"])
    assert hub_stun_urls(settings) == ["stun:stun.hall.gov:3478"]


def test_turn_without_secret_is_left_out() -> None:
    settings = SignalingSettings(ice_servers=("turn:turn.hall.gov:3478",))
    assert browser_ice_servers(settings, user="x", now_s=0) == []
