"""Queue latency with 10,000 waiting tickets: "call next" and "enqueue", SQLite then PostgreSQL.

Seeds a fresh database (migrations, the seven lines, demo accounts) with --waiting tickets spread
over the seven lines (≈85 % normal, 12 % priority, 3 % urgent; `rank_at` from
`hall.queue.queue.rank_for`; a joined event each; a few recusals and disconnected terminals), then
runs --ops rounds of one "call next" (`hall.queue.queue.take_next`, its own transaction) and one
"enqueue" (`hall.queue.queue.enqueue`, its own transaction), so the waiting count stays at
--waiting. Latency is wall time of the whole transaction, commit included. Prints the figures, and
last `queue.call_next.p99_ms=<SQLite p99>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall import demo  # noqa: E402
from hall.accounts.tables import Role, User
from hall.cases.tables import Case, Petitioner
from hall.db import Database, migrate  # noqa: E402
from hall.queue import queue  # noqa: E402
from hall.queue.stats import hall_day, percentile  # noqa: E402
from hall.queue.tables import (
    Channel,
    Line,
    PriorityClass,
    Ticket,
    TicketEvent,
    TicketExclusion,
    TicketState,
)
from hall.settings import HallSettings, QueueSettings  # noqa: E402

PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://root@127.0.0.1:5432/{name}"
CLASSES = (PriorityClass.NORMAL, PriorityClass.PRIORITY, PriorityClass.URGENT)
CLASS_WEIGHTS = (85, 12, 3)
SPREAD_S = 4 * 3600  # seeded arrivals over the last four hours
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # 14:00 in the hall; the bench clock starts here


@dataclass
class Run:
    """Latencies (ms) of one database, and what the seeding took."""

    backend: str
    call_next: list[float] = field(default_factory=list)
    enqueue: list[float] = field(default_factory=list)
    seed_s: float = 0.0
    waiting_after: int = 0
    profile: dict[str, list[float]] = field(default_factory=dict)
    plans: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class World:
    """What the operations need: lines, officers, and the free case/petitioner pairs."""

    lines: list[Line]
    officers: list[tuple[int, int]]  # (officer id, line id)
    pairs: list[tuple[int, int]]  # (case id, petitioner id) not yet in the queue


def spans_all_lines(n: int) -> bool:
    """Every fifth call next is by an officer who serves all seven lines; the rest one line."""
    return n % 5 == 4


def pick_class(rng: random.Random) -> str:
    return rng.choices(CLASSES, weights=CLASS_WEIGHTS)[0]


async def seed(db: Database, *, waiting: int, spare: int, rng: random.Random) -> World:
    """Reference and demo data, `waiting` waiting tickets, `spare` unqueued cases."""
    settings = QueueSettings()
    day = hall_day(T0)
    async with db.transaction() as session:
        await demo.ensure_reference_data(session)
        await demo.seed_demo(session, now=T0)
    async with db.transaction() as session:
        lines = list(await session.scalars(select(Line).order_by(Line.sort)))
        officers = [
            (user.id, user.lines[0].id)
            for user in await session.scalars(
                select(User).where(User.role == Role.OFFICER).order_by(User.id)
            )
            if user.lines
        ]
        admin = await session.scalar(select(User.id).where(User.role == Role.ADMIN))
        total = waiting + spare
        await session.execute(
            insert(Petitioner),
            [
                {
                    "name": f"来访人{i}",
                    "id_number": f"B{i:017d}",
                    "phone": "13800138000",
                    "created_at": T0,
                }
                for i in range(total)
            ],
        )
        people = list(await session.scalars(select(Petitioner.id).order_by(Petitioner.id)))
        case_lines = [rng.choice(lines) for _ in range(total)]
        await session.execute(
            insert(Case),
            [
                {
                    "number": f"BENCH{i:09d}",
                    "query_code": "BENCH",
                    "line_id": case_lines[i].id,
                    "petitioner_id": people[i],
                    "summary": "基准测试事项",
                    "channel": Channel.WALK_IN,
                    "created_at": T0,
                }
                for i in range(total)
            ],
        )
        cases = list(await session.scalars(select(Case.id).order_by(Case.id)))
        seqs = {line.id: 0 for line in lines}
        tickets: list[dict[str, Any]] = []
        for i in range(waiting):
            line = case_lines[i]
            seqs[line.id] += 1
            klass = pick_class(rng)
            start = T0 - timedelta(seconds=rng.uniform(0, SPREAD_S))
            tickets.append(
                {
                    "line_id": line.id,
                    "day": day,
                    "seq": seqs[line.id],
                    "number": f"{line.letter}{seqs[line.id]:03d}",
                    "channel": rng.choice((Channel.REMOTE, Channel.WALK_IN)),
                    "state": TicketState.WAITING,
                    "case_id": cases[i],
                    "petitioner_id": people[i],
                    "head_count": 1,
                    "priority_class": klass,
                    "priority_reason": "" if klass == PriorityClass.NORMAL else "elderly",
                    "approver_id": admin if klass == PriorityClass.URGENT else None,
                    "effective_start": start,
                    "rank_at": queue.rank_for(klass, start, settings),
                    "created_at": start,
                    "missed_count": 0,
                    # A few terminals are away within their grace window: not callable.
                    "disconnected_at": T0 - timedelta(seconds=30) if i % 200 == 7 else None,
                }
            )
        await session.execute(insert(Ticket), tickets)
        rows = (await session.execute(select(Ticket.id, Ticket.line_id).order_by(Ticket.id))).all()
        await session.execute(
            insert(TicketEvent),
            [
                {
                    "ticket_id": ticket_id,
                    "line_id": line_id,
                    "kind": "joined",
                    "at": seeded["created_at"],
                    "data": {"channel": seeded["channel"], "class": seeded["priority_class"]},
                }
                for (ticket_id, line_id), seeded in zip(rows, tickets, strict=True)
            ],
        )
        # Recusals (回避): some tickets exclude their line's officer.
        by_line = {line_id: officer_id for officer_id, line_id in officers}
        await session.execute(
            insert(TicketExclusion),
            [
                {"ticket_id": ticket_id, "user_id": by_line[line_id], "reason": "亲属回避"}
                for ticket_id, line_id in rng.sample(rows, k=max(1, waiting // 200))
                if line_id in by_line
            ],
        )
    if not db.url.startswith("sqlite"):
        # Planner statistics as autovacuum would have them on a live server (SQLite's
        # optional ANALYZE is left out: the hall never runs it).
        async with db.transaction() as session:
            await session.execute(text("ANALYZE"))
    pairs = list(zip(cases[waiting:], people[waiting:], strict=True))
    return World(lines=lines, officers=officers, pairs=pairs)


@contextlib.contextmanager
def statement_profile(db: Database, into: dict[str, list[float]]) -> Iterator[None]:
    """Time every SQL statement executed meanwhile, by statement text (ms)."""
    engine = db.engine.sync_engine

    def before(conn: Any, _c: Any, _s: str, _p: Any, context: Any, _m: bool) -> None:
        context._bench_t0 = time.perf_counter()

    def after(conn: Any, _c: Any, statement: str, _p: Any, context: Any, _m: bool) -> None:
        elapsed = (time.perf_counter() - context._bench_t0) * 1000
        into.setdefault(" ".join(statement.split()), []).append(elapsed)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


async def operate(
    db: Database, world: World, *, rounds: int, rng: random.Random, first: int
) -> tuple[list[float], list[float]]:
    """`rounds` rounds of one call next and one enqueue; their latencies in ms."""
    settings = QueueSettings()
    calls: list[float] = []
    adds: list[float] = []
    all_lines = [line.id for line in world.lines]
    for n in range(first, first + rounds):
        now = T0 + timedelta(seconds=n)
        officer_id, line_id = world.officers[n % len(world.officers)]
        line_ids = all_lines if spans_all_lines(n) else [line_id]
        t0 = time.perf_counter()
        async with db.transaction() as session:
            await queue.take_next(
                session, line_ids=line_ids, officer_id=officer_id, now=now, settings=settings
            )
        t1 = time.perf_counter()
        case_id, petitioner_id = world.pairs[n]
        async with db.transaction() as session:
            await queue.enqueue(
                session,
                line=rng.choice(world.lines),
                case_id=case_id,
                petitioner_id=petitioner_id,
                channel=Channel.WALK_IN,
                head_count=1,
                terminal_id=None,
                created_by=None,
                now=now,
                settings=settings,
                priority_class=pick_class(rng),
            )
        t2 = time.perf_counter()
        calls.append((t1 - t0) * 1000)
        adds.append((t2 - t1) * 1000)
    return calls, adds


async def count_waiting(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.state == TicketState.WAITING)
        )
        or 0
    )


async def bench(url: str, backend: str, args: argparse.Namespace) -> Run:
    """Seed `url`, warm up, measure, and (with --profile) time each statement in extra rounds."""
    rng = random.Random(args.seed)  # noqa: S311 - reproducible load, not security
    run = Run(backend=backend)
    t0 = time.perf_counter()
    await migrate(url)
    db = Database(url, checkpoint_s=HallSettings().wal_checkpoint_s)  # as the server runs it
    db.start()
    try:
        world = await seed(
            db, waiting=args.waiting, spare=args.warmup + args.ops + args.profile, rng=rng
        )
        run.seed_s = time.perf_counter() - t0
        await operate(db, world, rounds=args.warmup, rng=rng, first=0)
        run.call_next, run.enqueue = await operate(
            db, world, rounds=args.ops, rng=rng, first=args.warmup
        )
        if args.profile:
            with statement_profile(db, run.profile):
                await operate(db, world, rounds=args.profile, rng=rng, first=args.warmup + args.ops)
        async with db.reader() as session:
            run.waiting_after = await count_waiting(session)
        if args.explain and url.startswith("sqlite"):
            run.plans = await explain(db, world)
    finally:
        await db.close()
    return run


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str | None]:
    """A new PostgreSQL database for the run (dropped afterwards), or None if unreachable."""
    name = f"queue_bench_{os.getpid()}"
    try:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        print(f"PostgreSQL skipped: {PG_ADMIN} unreachable ({exc.__class__.__name__}: {exc})")
        yield None
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_URL.format(name=name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def figures(values: list[float]) -> str:
    p50, p90, p99 = (percentile(values, p) or 0.0 for p in (50, 90, 99))
    return f"p50 {p50:6.2f}  p90 {p90:6.2f}  p99 {p99:6.2f}  max {max(values):7.2f}"


def report(run: Run, args: argparse.Namespace) -> None:
    print(
        f"\n{run.backend}: {args.waiting} waiting tickets seeded in {run.seed_s:.1f} s; "
        f"{args.ops} calls + {args.ops} enqueues measured after {args.warmup} warm-up rounds; "
        f"{run.waiting_after} waiting at the end"
    )
    print(f"  call next (ms)  {figures(run.call_next)}")
    one = [ms for n, ms in enumerate(run.call_next, start=args.warmup) if not spans_all_lines(n)]
    every = [ms for n, ms in enumerate(run.call_next, start=args.warmup) if spans_all_lines(n)]
    print(f"    one line      {figures(one)}")
    print(f"    seven lines   {figures(every)}")
    print(f"  enqueue   (ms)  {figures(run.enqueue)}")
    if run.profile:
        print(f"  statements during {args.profile} profiled rounds (mean ms, count):")
        ranked = sorted(run.profile.items(), key=lambda kv: -sum(kv[1]))
        for sql, times in ranked[:8]:
            print(f"    {sum(times) / len(times):6.3f} ms ×{len(times):5d}  {sql[:150]}")
    for plan in run.plans:
        print(f"  plan: {plan}")


async def explain(db: Database, world: World) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) of every SELECT the engine runs in one call next on one line,
    one across all lines and one enqueue, captured as executed and rolled back afterwards."""
    captured: dict[str, Any] = {}

    def grab(_conn: Any, _c: Any, statement: str, params: Any, _ctx: Any, _m: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.setdefault(statement, params)

    now = T0 + timedelta(days=1)
    officer_id, line_id = world.officers[0]
    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        for line_ids in ([line_id], [line.id for line in world.lines]):
            async with db.reader() as session:  # never committed: closing rolls back
                await queue.take_next(
                    session,
                    line_ids=line_ids,
                    officer_id=officer_id,
                    now=now,
                    settings=QueueSettings(),
                )
        async with db.reader() as session:
            case_id, petitioner_id = world.pairs[-1]
            await queue.enqueue(
                session,
                line=world.lines[0],
                case_id=case_id,
                petitioner_id=petitioner_id,
                channel=Channel.WALK_IN,
                head_count=1,
                terminal_id=None,
                created_by=None,
                now=now,
                settings=QueueSettings(),
            )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)
    plans: list[str] = []
    async with db.reader() as session:
        connection = await session.connection()
        for statement, params in captured.items():
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            steps = " | ".join(str(row[-1]) for row in plan.all())
            plans.append(f"{steps}\n      of {' '.join(statement.split())[:200]}")
    return plans


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        sqlite = await bench(url, "SQLite (WAL, synchronous=NORMAL)", args)
        report(sqlite, args)
    if not args.skip_postgres:
        async with fresh_postgres() as pg_url:
            if pg_url is not None:
                report(await bench(pg_url, "PostgreSQL (asyncpg, 127.0.0.1)", args), args)
    p99 = percentile(sqlite.call_next, 99) or 0.0
    print(f"\ntarget: call-next p99 < 5 ms with {args.waiting} waiting tickets")
    print(f"queue.call_next.p99_ms={p99:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--waiting", type=int, default=10_000, help="waiting tickets to seed")
    parser.add_argument("--ops", type=int, default=2_000, help="measured calls (and enqueues)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured rounds first")
    parser.add_argument("--profile", type=int, default=0, help="extra rounds timing each SQL")
    parser.add_argument(
        "--explain", action="store_true", help="print the SQLite plans of the engine's queries"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--seed", type=int, default=20261102, help="random seed of the load")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
