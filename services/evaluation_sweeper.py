"""The evaluation sweep: a background task that records every evaluation window that has
passed as `evaluation_expired` (满意度评价逾期), so figures need nobody to open a page."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hall.cases import evaluation
from hall.db import Database
from hall.ports import Clock

logger = logging.getLogger(__name__)


class EvaluationSweeper:
    """Runs `evaluation.sweep_expired` at start and every `interval_s` on the app clock."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        days: int,
        interval_s: float,
        batch: int = evaluation.SWEEP_BATCH,
    ) -> None:
        self.db = db
        self.clock = clock
        self.days = days
        self.interval_s = interval_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """One pass: batches of at most `batch` expiries, one short transaction each (so queue
        writes never wait for the whole pass on SQLite's lock), until a batch comes up short;
        returns how many expiries it recorded (idempotent)."""
        now, recorded = self.clock.now(), 0
        while True:
            async with self.db.transaction() as session:
                done = await evaluation.sweep_expired(
                    session, now=now, days=self.days, limit=self.batch
                )
            recorded += done
            if done < self.batch:
                break
        if recorded:
            logger.info("[evaluation] %d evaluation window(s) recorded as expired", recorded)
        return recorded

    async def _forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                # A failed pass (e.g. a concurrent evaluation of the same response) is retried.
                logger.exception("evaluation sweep failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Start the task (a first pass right away: the server may have been down)."""
        if self._task is None:
            self._task = asyncio.create_task(self._forever())

    async def close(self) -> None:
        """Stop the task; idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
