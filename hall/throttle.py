"""Throttling of failed attempts at a secret (the login's password, the public query's code).

A guesser limits only itself: failures are counted per (subject, address) and per address, and
either count at its limit refuses that address for a while (`rate_limited`). The subject (an
account, a case number) is never refused for everyone: its failures from every address only add
a short delay to each attempt, capped, so the real user still gets in. Every table is bounded:
a check creates no entry, a key expires a window after its last failure, and the least recently
used key makes room when a table is full.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cachetools import TTLCache

from hall.errors import RateLimited

# The delay after `delay_after` failures of a subject; each further failure doubles it.
FIRST_DELAY_S = 0.25
# Failures kept per subject beyond `delay_after`: enough doublings to pass any sensible cap.
_DELAY_STEPS = 16


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    """The limits of one throttle (login, public query); see `hall.settings.ThrottleSettings`."""

    failures: int  # per (subject, address) within the window
    address_failures: int  # per address, whatever the subject
    window_s: float
    delay_after: int  # failures of the subject (all addresses) before attempts are delayed
    delay_max_s: float
    max_keys: int  # per table

    def __post_init__(self) -> None:
        for name in ("failures", "address_failures", "max_keys"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} is {getattr(self, name)}; expected 1 or more")
        if self.delay_after < 0:
            raise ValueError(f"delay_after is {self.delay_after}; expected 0 or more")
        if not 0 < self.window_s <= 86_400:
            raise ValueError(f"window_s is {self.window_s}; expected 0 < seconds <= 86400")
        if not 0 <= self.delay_max_s <= 60:
            raise ValueError(f"delay_max_s is {self.delay_max_s}; expected 0 to 60 seconds")


class FailureLog:
    """The recent failure times of each key, in a bounded LRU table; reading adds nothing."""

    def __init__(
        self, *, keep: int, window_s: float, max_keys: int, clock: Callable[[], float]
    ) -> None:
        self._keep = keep
        self._window_s = window_s
        self._clock = clock
        # A key lives a window after its last failure, when all its times have left the window.
        self._table: TTLCache[Hashable, tuple[float, ...]] = TTLCache(
            maxsize=max_keys, ttl=window_s, timer=clock
        )

    def recent(self, key: Hashable) -> tuple[float, ...]:
        """The key's failure times within the window, oldest first (at most `keep`)."""
        now = self._clock()
        return tuple(t for t in self._table.get(key, ()) if now - t < self._window_s)

    def add(self, key: Hashable) -> None:
        self._table[key] = (*self.recent(key), self._clock())[-self._keep :]

    def clear(self, key: Hashable) -> None:
        self._table.pop(key, None)

    def __len__(self) -> int:
        self._table.expire()
        return len(self._table)


class Throttle:
    """Failed attempts per (subject, address), per address, and per subject (delay only)."""

    def __init__(
        self,
        limits: ThrottleLimits,
        *,
        message: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.message = message
        self._clock = clock
        self._pairs = self._log(limits.failures)
        self._addresses = self._log(limits.address_failures)
        self._subjects = self._log(limits.delay_after + _DELAY_STEPS)

    def _log(self, keep: int) -> FailureLog:
        limits = self.limits
        return FailureLog(
            keep=keep, window_s=limits.window_s, max_keys=limits.max_keys, clock=self._clock
        )

    def check(self, subject: str, address: str) -> float:
        """Seconds to wait before trying `subject` from `address`; `rate_limited` (with the
        seconds until a try is allowed again) while the address has no tries left."""
        for times, limit in (
            (self._pairs.recent((subject, address)), self.limits.failures),
            (self._addresses.recent(address), self.limits.address_failures),
        ):
            if len(times) >= limit:
                free_in = self.limits.window_s - (self._clock() - times[-limit])
                raise RateLimited(self.message, retry_after_s=max(1, math.ceil(free_in)))
        over = len(self._subjects.recent(subject)) - self.limits.delay_after
        if over < 0:
            return 0.0
        return min(self.limits.delay_max_s, FIRST_DELAY_S * 2.0**over)

    def failed(self, subject: str, address: str) -> None:
        """Count a wrong secret for `subject` from `address`."""
        self._pairs.add((subject, address))
        self._addresses.add(address)
        self._subjects.add(subject)

    def succeeded(self, subject: str, address: str) -> None:
        """The right secret: forget this address's failures on this subject (not the others)."""
        self._pairs.clear((subject, address))

    @property
    def entries(self) -> int:
        """Keys held in all tables (expired ones dropped first)."""
        return len(self._pairs) + len(self._addresses) + len(self._subjects)
