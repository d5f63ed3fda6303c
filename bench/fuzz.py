"""A long fuzzing campaign against an in-process app: --bodies HTTP requests spread over every route
of the route table (random path values, query strings and JSON bodies, as a role allowed on the
route) and --frames signaling frames on a real WebSocket, each followed by a `ping`.

The same strategies and checks as tests/web/test_fuzz.py (tests/fuzzing.py), but random (a new
seed each run unless --seed) and counted rather than stopped at the first failure. Prints the
counts and, last, `fuzz.server_errors=<n>`: HTTP 5xx answers plus `internal_error` frames plus
sockets that closed or stopped answering.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzzing  # noqa: E402
from web.app import create_app  # noqa: E402
from web.config import Config  # noqa: E402

EXAMPLES_SHOWN = 5  # problems printed in full, per kind


def campaign(n: int) -> settings:
    """Generation only (no shrinking, no example database): a count of inputs, not a search."""
    return settings(
        max_examples=n,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@dataclasses.dataclass
class Campaign:
    """The counts and the first problems of a campaign against one fuzzer."""

    loop: asyncio.AbstractEventLoop
    fuzzer: fuzzing.Fuzzer
    seed_value: int | None
    counts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    shown: list[str] = dataclasses.field(default_factory=list)

    def note(self, kind: str, problem: str) -> None:
        self.counts[kind] += 1
        if len(self.shown) < EXAMPLES_SHOWN:
            self.shown.append(problem)

    def run(self, test: Callable[[], None]) -> None:
        """Run a hypothesis test, with the fixed seed if one was given."""
        (test if self.seed_value is None else seed(self.seed_value)(test))()

    def http(self, n: int) -> None:
        routes = fuzzing.routes(self.fuzzer.server.app)

        @campaign(n)
        @given(data=st.data())
        def one(data: st.DataObject) -> None:
            route = data.draw(st.sampled_from(routes))
            sent, problem = self.loop.run_until_complete(
                fuzzing.http_case(self.fuzzer, route, data)
            )
            self.counts["http.requests"] += 1
            if problem is not None:
                server = problem.startswith("server error")
                self.note("http.server_errors" if server else "http.unshaped", f"{sent}: {problem}")

        self.run(one)

    def frames(self, n: int) -> None:
        @campaign(n)
        @given(text=fuzzing.frames())
        def one(text: str) -> None:
            problems = self.loop.run_until_complete(fuzzing.frame_case(self.fuzzer, text))
            self.counts["frames.sent"] += 1
            for problem in problems:
                kind = "frames.internal_errors" if "internal_error" in problem else "frames.dead"
                self.note(kind, f"{text[:200]!r}: {problem}")

        self.run(one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=20_000, help="HTTP requests")
    parser.add_argument("--frames", type=int, default=100_000, help="signaling frames")
    parser.add_argument("--seed", type=int, default=None, help="fixed seed (reproducible run)")
    args = parser.parse_args()
    # The app logs each unexpected error with its traceback; the counts say how many there were.
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="hall-fuzz-") as tmp:
        config = Config.for_data_dir(Path(tmp))
        # The frame rate limit would only close the fuzzed socket over and over.
        signaling = dataclasses.replace(config.signaling, rate_per_s=1e6, rate_burst=1_000_000)
        app = create_app(dataclasses.replace(config, signaling=signaling))
        loop = asyncio.new_event_loop()
        fuzzer = loop.run_until_complete(fuzzing.open_fuzzer(app))
        run = Campaign(loop, fuzzer, args.seed)
        try:
            started = time.monotonic()
            run.http(args.bodies)
            http_s = time.monotonic() - started
            started = time.monotonic()
            run.frames(args.frames)
            frames_s = time.monotonic() - started
        finally:
            loop.run_until_complete(fuzzer.close())
            loop.close()
    counts = run.counts
    for line in run.shown:
        print(f"problem: {line}")
    print(f"fuzz.http.routes={len(fuzzing.routes(app))}")
    print(f"fuzz.http.requests={counts['http.requests']} ({http_s:.0f} s)")
    print(f"fuzz.http.unshaped_4xx={counts['http.unshaped']}")
    print(f"fuzz.http.server_errors={counts['http.server_errors']}")
    print(f"fuzz.frames.sent={counts['frames.sent']} ({frames_s:.0f} s)")
    print(f"fuzz.frames.internal_errors={counts['frames.internal_errors']}")
    print(f"fuzz.frames.dead_sockets={counts['frames.dead']}")
    total = counts["http.server_errors"] + counts["frames.internal_errors"] + counts["frames.dead"]
    print(f"fuzz.server_errors={total}")


if __name__ == "__main__":
    main()
