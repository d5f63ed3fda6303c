"""The app factory: `create_app(config)` wires hall, signaling and recording into one app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiortc import RTCIceServer

from hall import demo
from hall.accounts import users
from hall.cases import documents, public_query
from hall.cases.document_store import DocumentStore
from hall.db import Database, migrate
from hall.meetings import links
from hall.ports import Clock, SystemClock
from hall.settings import HALL_TZ
from hall.throttle import Throttle
from services.calls import CallService
from services.evaluation_sweeper import EvaluationSweeper
from services.meetings import MeetingService
from services.queue import QueueService
from signaling.bus import LocalBus
from signaling.hub import MediaHub
from signaling.ice import hub_stun_urls
from signaling.session import SignalingContext
from web import (
    admin,
    api,
    case_api,
    case_link_api,
    department_api,
    document_api,
    evaluation_api,
    headers,
    keys,
    meeting_api,
    meeting_host_api,
    meeting_pages,
    notice_api,
    pages,
    queue_api,
    supervision,
    ws,
)
from web.auth import PUBLIC, auth_middleware
from web.bounds import path_id_middleware
from web.config import Config
from web.errors import error_middleware

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent


async def _database(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    url = config.hall.resolved_database_url()
    await migrate(url)
    db = Database(url, checkpoint_s=config.hall.wal_checkpoint_s)
    app[keys.DB] = db
    async with db.transaction() as session:
        await demo.ensure_reference_data(session)
        if config.hall.seeds_demo:
            logins = await demo.seed_demo(session, now=app[keys.CLOCK].now())
            app[DEMO_LOGINS] = logins
    db.start()  # after seeding: a failed start-up leaves no task behind
    yield
    await db.close()


async def _documents(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.CONFIG].documents
    await asyncio.to_thread(settings.directory.mkdir, parents=True, exist_ok=True)
    store = DocumentStore(settings.directory, max_bytes=settings.max_bytes)
    async with app[keys.DB].reader() as session:
        known = await documents.storage_names(session)
    await store.recover(known)
    app[keys.DOCUMENTS] = store
    yield


async def _media(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    hub = MediaHub(ice_servers=_ice_servers(config))
    bus = LocalBus()
    app[keys.HUB] = hub
    app[keys.BUS] = bus
    app[keys.SIGNALING] = SignalingContext(
        db=app[keys.DB],
        hub=hub,
        bus=bus,
        clock=app[keys.CLOCK],
        settings=config.signaling,
        handle_default_s=config.hall.average_handle_s,
    )
    yield
    await hub.close()


async def _meetings(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    secret = await asyncio.to_thread(
        links.load_secret, config.meeting.link_secret, config.hall.data_dir
    )
    app[keys.MEETINGS] = MeetingService(
        db=app[keys.DB],
        bus=app[keys.BUS],
        clock=app[keys.CLOCK],
        settings=config.meeting,
        signer=links.LinkSigner(secret),
    )
    yield


async def _queue(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    service = QueueService(
        db=app[keys.DB],
        bus=app[keys.BUS],
        clock=app[keys.CLOCK],
        settings=config.queue,
        handle_default_s=config.hall.average_handle_s,
    )
    app[keys.QUEUE] = service
    await service.start()
    yield
    await service.close()


async def _calls(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    config.recording.directory.mkdir(parents=True, exist_ok=True)
    calls = CallService(
        db=app[keys.DB],
        hub=app[keys.HUB],
        bus=app[keys.BUS],
        clock=app[keys.CLOCK],
        settings=config.recording,
        queue=app[keys.QUEUE],
    )
    app[keys.CALLS] = calls
    await calls.recover()
    yield
    await calls.close()


async def _evaluations(app: web.Application) -> AsyncIterator[None]:
    case = app[keys.CONFIG].case
    sweeper = EvaluationSweeper(
        db=app[keys.DB],
        clock=app[keys.CLOCK],
        days=case.evaluation_days,
        interval_s=case.evaluation_sweep_s,
    )
    sweeper.start()
    yield
    await sweeper.close()


def _ice_servers(config: Config) -> list[RTCIceServer]:
    return [RTCIceServer(urls=url) for url in hub_stun_urls(config.signaling)]


DEMO_LOGINS: web.AppKey[list[demo.DemoLogin]] = web.AppKey("demo_logins")


def hall_time(value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) timestamp as the hall's wall-clock time, for pages (`|hall_time`)."""
    return value.astimezone(HALL_TZ).strftime(fmt)


def create_app(config: Config, *, clock: Clock | None = None) -> web.Application:
    """A ready-to-run application for `config`; resources open and close with the app."""
    app = web.Application(
        middlewares=[error_middleware, auth_middleware, path_id_middleware],
        client_max_size=config.web.max_body_bytes,
    )
    app[keys.CONFIG] = config
    app[keys.CLOCK] = clock or SystemClock()
    limits = config.throttle
    app[keys.THROTTLE] = Throttle(limits.login_limits(), message=users.THROTTLED)
    app[keys.QUERY_THROTTLE] = Throttle(limits.query_limits(), message=public_query.THROTTLED)
    app[keys.POLICIES] = {}
    app[DEMO_LOGINS] = []
    headers.setup(app)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    env.filters["hall_time"] = hall_time
    pages.setup(app)
    api.setup(app)
    api.setup_live(app)
    queue_api.setup(app)
    ws.setup(app)
    supervision.setup(app)
    case_api.setup(app)
    case_link_api.setup(app)
    department_api.setup(app)
    notice_api.setup(app)
    evaluation_api.setup(app)
    document_api.setup(app)
    meeting_api.setup(app)
    meeting_host_api.setup(app)
    meeting_pages.setup(app)
    admin.setup(app)
    app.router.add_static("/static", HERE / "static", name="static")
    app[keys.POLICIES]["GET /static"] = PUBLIC
    app.cleanup_ctx.extend([_database, _documents, _media, _meetings, _queue, _calls, _evaluations])
    return app
