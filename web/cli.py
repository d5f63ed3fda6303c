"""The `hall` console command: serve, add users, list settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import json
import logging
import os
import re
import signal
import sys
from datetime import date
from pathlib import Path

from aiohttp import web

from hall import demo
from hall.accounts import admin
from hall.accounts.admin import ACCOUNT_ROLES
from hall.calendar.deadlines import check_dates
from hall.calendar.workdays import load_calendar
from hall.cases import cases
from hall.cases.timeline import verify_chain
from hall.db import Database, migrate
from hall.errors import HallError, InvalidInput
from hall.ports import SystemClock
from web.app import DEMO_LOGINS, create_app
from web.config import Config, env_name, from_env, settings_help


def _config(args: argparse.Namespace) -> Config:
    base = from_env(Config())
    data_dir = Path(args.data_dir) if args.data_dir else base.hall.data_dir
    config = Config.for_data_dir(
        data_dir, hall=base.hall, recording=base.recording, documents=base.documents
    )
    if env_name("recording", "directory") in os.environ:
        # An explicit recordings folder wins over the default <data dir>/recordings.
        config = dataclasses.replace(config, recording=base.recording)
    if env_name("documents", "directory") in os.environ:
        # The same for the evidence documents folder (<data dir>/documents by default).
        config = dataclasses.replace(config, documents=base.documents)
    web_settings = base.web
    if getattr(args, "host", None):
        web_settings = dataclasses.replace(web_settings, host=args.host)
    if getattr(args, "port", None):
        web_settings = dataclasses.replace(web_settings, port=args.port)
    return dataclasses.replace(
        config,
        web=web_settings,
        signaling=base.signaling,
        queue=base.queue,
        case=base.case,
        throttle=base.throttle,
    )


async def _serve(config: Config) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.web.host, config.web.port)
    await site.start()
    url = f"http://{config.web.host}:{config.web.port}/"
    print(f"接访厅 Jiefang Hall serving on {url}  (data: {config.hall.data_dir.resolve()})")
    logins = app[DEMO_LOGINS]
    if logins:
        print(f"Demo mode — every demo account's password is {demo.DEMO_PASSWORD!r}:")
        for login in logins:
            print(f"  {login.role:<10} {login.username:<22} {login.what}")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


async def _add_user(config: Config, args: argparse.Namespace) -> None:
    spec = admin.AccountSpec(
        username=args.username,
        display_name=args.name or args.username,
        role=args.role,
        password=os.environ.get("JIEFANG_NEW_PASSWORD") or getpass.getpass("密码 Password: "),
        lines=tuple(x for x in (args.lines or "").split(",") if x),
        terminal=args.terminal,
        department=args.department,
    )
    url = config.hall.resolved_database_url()
    await migrate(url)
    db = Database(url)
    try:
        async with db.transaction() as session:
            await demo.ensure_reference_data(session)
            user = await admin.create(session, spec, by=None, now=SystemClock().now())
        print(f"created {user.role} {user.username} (id {user.id})")
    finally:
        await db.close()


def _iso_date(text: str) -> date:
    """An argparse type: a calendar date written YYYY-MM-DD, nothing else."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: {exc}") from None


async def _deadlines(config: Config, start: date, *, explain: bool) -> None:
    """Print the due date of every step for an event on `start` as one JSON object."""
    url = config.hall.resolved_database_url()
    await migrate(url)
    db = Database(url)
    try:
        async with db.reader() as session:
            calendar = await load_calendar(session)
    finally:
        await db.close()
    dues = check_dates(start, calendar, extend_over=config.case.extend_rule)
    if explain:
        for due in dues.values():
            print(f"{due.day.isoformat()}  {due.text}", file=sys.stderr)
    print(json.dumps({rule.value: due.day.isoformat() for rule, due in dues.items()}))


async def _verify_chain(config: Config, case_id: int | None) -> int:
    """Check the hash chain of every case (or one); print each break and a summary.

    Returns the number of breaks found.
    """
    url = config.hall.resolved_database_url()
    await migrate(url)
    db = Database(url)
    try:
        async with db.reader() as session:
            rows = await cases.case_numbers(session, case_id)
            if case_id is not None and not rows:
                raise InvalidInput(f"信访事项 {case_id} 不存在")
            breaks = 0
            broken_cases = 0
            for cid, number in rows:
                found = await verify_chain(session, cid)
                for item in found:
                    print(f"case {cid} ({number}) event {item.seq}: {item.reason}")
                breaks += len(found)
                broken_cases += bool(found)
    finally:
        await db.close()
    verdict = "intact" if not breaks else f"{breaks} break(s) in {broken_cases} case(s)"
    print(f"checked {len(rows)} case(s): {verdict}")
    return breaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hall", description="接访厅 Jiefang Hall")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (applies migrations first)")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument("--data-dir", help="data folder (default ./var)")
    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account (password from a prompt)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ACCOUNT_ROLES)
    add.add_argument("--name", help="display name")
    add.add_argument("--lines", help="comma-separated line codes for officers")
    add.add_argument("--terminal", help="terminal code (required for terminal accounts)")
    add.add_argument("--department", help="department code (required for department accounts)")
    add.add_argument("--data-dir", help="data folder (default ./var)")
    sub.add_parser("settings", help="list every setting with its environment variable")
    deadlines = sub.add_parser(
        "deadlines", help="print the due date of every step for an event on a date (JSON)"
    )
    deadlines.add_argument(
        "--from", dest="start", required=True, type=_iso_date, help="event date YYYY-MM-DD"
    )
    deadlines.add_argument(
        "--explain", action="store_true", help="the rule of each date, on stderr"
    )
    deadlines.add_argument("--data-dir", help="data folder (default ./var)")
    chain = sub.add_parser(
        "verify-chain", help="check the timeline hash chain of every case (exit 1 on a break)"
    )
    chain.add_argument("--case", type=int, help="only the case with this id")
    chain.add_argument("--data-dir", help="data folder (default ./var)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "settings":
        for env, name, default, help_text in settings_help(Config()):
            print(f"{env}\t{name}\t{default!r}\t{help_text}")
        return 0
    if args.command == "serve":
        asyncio.run(_serve(_config(args)))
        return 0
    try:
        if args.command == "verify-chain":
            return 1 if asyncio.run(_verify_chain(_config(args), args.case)) else 0
        if args.command == "deadlines":
            asyncio.run(_deadlines(_config(args), args.start, explain=args.explain))
        else:
            asyncio.run(_add_user(_config(args), args))
    except HallError as exc:
        details = "".join(f"\n  {name}: {reason}" for name, reason in exc.fields.items())
        print(f"error: {exc.message}{details}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
