"""Seams the domain needs from the outside: an event bus and a clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol


class EventBus(Protocol):
    """Publishes domain events after commit to whoever listens on a topic."""

    def publish(self, topic: str, name: str, data: Mapping[str, Any]) -> None:
        """Deliver event `name` with `data` to the subscribers of `topic`; never blocks."""


class Clock(Protocol):
    """Source of the current time (UTC, timezone-aware)."""

    def now(self) -> datetime:
        """The current time."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)
