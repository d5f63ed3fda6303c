"""Fixtures for the signaling tests: sample media shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_fixtures import make_sample_webm


@pytest.fixture(scope="session")
def sample_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s 640x480@30 VP8 + Opus file, one keyframe per second."""
    return make_sample_webm(tmp_path_factory.mktemp("media") / "sample.webm", seconds=10.0)
