"""The throttle of failed logins and public queries: limits per (subject, address) and per
address, a capped delay per subject, and tables that stay bounded whatever the keys."""

from __future__ import annotations

import pytest

from hall.errors import RateLimited
from hall.settings import ThrottleSettings
from hall.throttle import Throttle, ThrottleLimits

LIMITS = ThrottleLimits(
    failures=3, address_failures=5, window_s=60.0, delay_after=2, delay_max_s=2.0, max_keys=100
)


class ManualClock:
    """Monotonic seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(limits: ThrottleLimits = LIMITS) -> tuple[Throttle, ManualClock]:
    clock = ManualClock()
    return Throttle(limits, message="太多", clock=clock), clock


def test_a_check_creates_no_entry() -> None:
    guard, _ = throttle()
    for i in range(500):
        assert guard.check(f"user{i}" * 50, f"10.0.{i // 256}.{i % 256}") == 0
    assert guard.entries == 0


def test_failures_limit_the_address_on_that_subject_not_the_subject() -> None:
    guard, clock = throttle()
    for _ in range(3):
        guard.check("leader", "10.0.0.1")
        guard.failed("leader", "10.0.0.1")
        clock.now += 1
    with pytest.raises(RateLimited) as refused:
        guard.check("leader", "10.0.0.1")
    # The oldest of the three failures is 3 s old: the window frees it in 57 s.
    assert refused.value.retry_after_s == 57
    guard.check("leader", "10.0.0.2")  # another address is never refused
    guard.check("officer", "10.0.0.1")  # nor this address on another account


def test_an_address_failing_across_subjects_is_limited() -> None:
    guard, _ = throttle()
    for i in range(5):
        guard.failed(f"user{i}", "10.0.0.1")
    with pytest.raises(RateLimited):
        guard.check("someone-else", "10.0.0.1")
    guard.check("someone-else", "10.0.0.2")


def test_the_subject_is_slowed_down_never_refused() -> None:
    guard, _ = throttle()
    delays = []
    for i in range(8):
        delays.append(guard.check("leader", "10.9.9.9"))
        guard.failed("leader", f"10.0.0.{i}")
    assert delays == [0, 0, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_success_clears_that_address_on_that_subject() -> None:
    guard, _ = throttle()
    for _ in range(3):
        guard.failed("leader", "10.0.0.1")
    guard.succeeded("leader", "10.0.0.1")
    assert guard.check("leader", "10.0.0.1") > 0  # the subject's delay stays


def test_expired_keys_are_evicted_and_forgiven() -> None:
    guard, clock = throttle()
    for i in range(3):
        guard.failed("leader", "10.0.0.1")
        guard.failed(f"user{i}", f"10.0.1.{i}")
    assert guard.entries > 0
    clock.now += 61
    assert guard.entries == 0
    assert guard.check("leader", "10.0.0.1") == 0


def test_each_table_is_bounded() -> None:
    guard, _ = throttle()
    for i in range(5000):
        guard.failed(f"user{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    # Three tables (pairs, addresses, subjects), each at most max_keys.
    assert guard.entries <= 3 * LIMITS.max_keys


@pytest.mark.parametrize("kind", ["login", "query"])
def test_the_login_and_query_throttles_are_bounded_by_max_keys(kind: str) -> None:
    settings = ThrottleSettings(max_keys=50)
    limits = settings.login_limits() if kind == "login" else settings.query_limits()
    guard = Throttle(limits, message="太多", clock=ManualClock())
    for i in range(2000):
        guard.check(f"JF{i:014d}", f"10.0.{i // 256}.{i % 256}")
        guard.failed(f"JF{i:014d}", f"10.0.{i // 256}.{i % 256}")
    assert guard.entries <= 3 * 50


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="failures"):
        ThrottleLimits(
            failures=0, address_failures=5, window_s=60, delay_after=2, delay_max_s=2, max_keys=9
        )
    with pytest.raises(ValueError, match="window_s"):
        ThrottleSettings(login_window_s=0)
