"""The in-process event bus: domain events fan out to the WebSocket connections of a topic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from signaling.messages import server_frame


class Subscriber(Protocol):
    """Anything that accepts frames without blocking (a connection's bounded send queue)."""

    def deliver(self, frame: Mapping[str, Any]) -> None:
        """Queue `frame` for sending; must not block or raise."""


class LocalBus:
    """Implements hall.ports.EventBus for one process; the Redis bus of scale-out has its shape."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = {}

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._topics.setdefault(topic, set()).add(subscriber)

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        subs = self._topics.get(topic)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self._topics[topic]

    def publish(self, topic: str, name: str, data: Mapping[str, Any]) -> None:
        """Deliver an `event` frame to every subscriber of `topic`."""
        frame = server_frame("event", topic=topic, name=name, data=dict(data))
        for subscriber in list(self._topics.get(topic, ())):
            subscriber.deliver(frame)

    def subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))
