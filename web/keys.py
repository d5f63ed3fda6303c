"""Typed application keys: the shared objects of one app, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hall.cases.document_store import DocumentStore
from hall.db import Database
from hall.ports import Clock
from hall.throttle import Throttle
from signaling.bus import LocalBus
from signaling.hub import MediaHub
from signaling.session import SignalingContext

if TYPE_CHECKING:
    from services.calls import CallService
    from services.meetings import MeetingService
    from services.queue import QueueService
    from web.config import Config

CONFIG: web.AppKey[Config] = web.AppKey("config")
DB: web.AppKey[Database] = web.AppKey("db", Database)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
BUS: web.AppKey[LocalBus] = web.AppKey("bus", LocalBus)
HUB: web.AppKey[MediaHub] = web.AppKey("hub", MediaHub)
CALLS: web.AppKey[CallService] = web.AppKey("calls")
QUEUE: web.AppKey[QueueService] = web.AppKey("queue")
THROTTLE: web.AppKey[Throttle] = web.AppKey("throttle", Throttle)  # failed logins
QUERY_THROTTLE: web.AppKey[Throttle] = web.AppKey("query_throttle", Throttle)  # public queries
SIGNALING: web.AppKey[SignalingContext] = web.AppKey("signaling", SignalingContext)
POLICIES: web.AppKey[dict[str, frozenset[str]]] = web.AppKey("policies")
DOCUMENTS: web.AppKey[DocumentStore] = web.AppKey("documents", DocumentStore)
MEETINGS: web.AppKey[MeetingService] = web.AppKey("meetings")
