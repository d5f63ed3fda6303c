"""Settings of the live plane: WebSocket limits, heartbeat, ICE servers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SignalingSettings:
    """WebSocket and media settings; defaults suit a LAN or intranet install."""

    max_frame_bytes: int = field(
        default=65536,
        metadata={
            "help": "Largest accepted client frame (bytes); larger ones get frame_too_large."
        },
    )
    send_queue: int = field(
        default=256,
        metadata={"help": "Frames queued for one connection before it counts as a slow consumer."},
    )
    heartbeat_s: float = field(
        default=20.0, metadata={"help": "WebSocket ping interval (s); a silent peer is dropped."}
    )
    rate_per_s: float = field(
        default=20.0, metadata={"help": "Sustained client frames per second per connection."}
    )
    rate_burst: int = field(
        default=60, metadata={"help": "Burst of client frames allowed above the sustained rate."}
    )
    max_sockets_per_account: int = field(
        default=8,
        metadata={
            "help": "Open WebSockets one account may hold; one more is closed at once (4009)."
        },
    )
    abuse_cooldown_s: float = field(
        default=30.0,
        metadata={
            "help": "After a close for flooding (4029), seconds during which the same account "
            "from the same address is refused (429) before the upgrade."
        },
    )
    ice_servers: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "STUN/TURN URLs offered to browsers and used by the hub, e.g. "
            "stun:stun.example.gov:3478 (comma-separated in the environment)."
        },
    )
    turn_secret: str = field(
        default="",
        metadata={"help": "coturn REST shared secret for short-lived TURN credentials."},
    )
    turn_ttl_s: int = field(default=3600, metadata={"help": "Lifetime of a TURN credential (s)."})
