"""Fixtures of the web tests: sample media for aiortc client peers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_fixtures import make_sample_webm


@pytest.fixture(scope="session")
def sample_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12 s 640x480@30 VP8 + Opus file, one keyframe per second."""
    return make_sample_webm(tmp_path_factory.mktemp("media") / "sample.webm", seconds=12.0)
