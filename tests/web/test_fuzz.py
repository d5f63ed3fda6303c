"""Property-based fuzzing of the edges: every route of the route table, as a role allowed on it,
with random path parameters, query strings and JSON bodies, answers no 5xx and every 4xx in the
error shape; random signaling frames never answer `internal_error` and the socket still answers
`ping` after each.

Hypothesis runs derandomized (its seed comes from the test, not the clock) and with a fixed
number of examples, so that CI finds the same inputs on every run and stays within about a minute;
`make bench-fuzz` (bench/fuzz.py) runs the long, random campaign. One app serves the whole module:
mutating routes change its demo data as they go, which is accepted (the answers are checked for
their shape, not for their content).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzing
from tests.conftest import copy_seeded
from web.app import create_app
from web.config import Config

ROUTES = fuzzing.routes(create_app(Config.for_data_dir(Path("/nonexistent/fuzz-routes"))))
FUZZ = settings(
    max_examples=12,
    deadline=None,  # one request may take a while on a shared CI machine: no flaky deadlines
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the module's app and clients are shared on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzzer(
    tmp_path_factory: pytest.TempPathFactory, seeded_db: Path
) -> AsyncIterator[fuzzing.Fuzzer]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    copy_seeded(seeded_db, data_dir)
    config = Config.for_data_dir(data_dir)
    # The frame rate limit is tested elsewhere; here it would only close the fuzzed socket.
    signaling = dataclasses.replace(config.signaling, rate_per_s=1e6, rate_burst=1_000_000)
    fuzzer = await fuzzing.open_fuzzer(create_app(dataclasses.replace(config, signaling=signaling)))
    yield fuzzer
    await fuzzer.close()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
async def test_no_route_answers_a_5xx_or_an_error_out_of_shape(
    fuzzer: fuzzing.Fuzzer, route: fuzzing.Route, data: st.DataObject
) -> None:
    sent, problem = await fuzzing.http_case(fuzzer, route, data)
    assert problem is None, f"{sent}: {problem}"


@settings(FUZZ, max_examples=300)
@given(text=fuzzing.frames())
async def test_no_signaling_frame_answers_internal_error_or_ends_the_socket(
    fuzzer: fuzzing.Fuzzer, text: str
) -> None:
    problems = await fuzzing.frame_case(fuzzer, text)
    assert not problems, (text[:200], problems)
