"""Fixtures for the signaling tests: sample media shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_fixtures import make_sample_webm


@pytest.fixture(scope="session")
def sample_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s 640x480@30 VP8 + Opus file, one keyframe per second."""
    return make_sample_webm(tmp_path_factory.mktemp("media") / "sample.webm", seconds=10.0)


@pytest.fixture(scope="session")
def small_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 s 160x120@10 VP8 + Opus (60 ms packets) file, one keyframe per second: cheap
    enough for rooms of six aiortc peers (30 forwarded streams) in one process on two shared
    cores."""
    return make_sample_webm(
        tmp_path_factory.mktemp("media") / "small.webm",
        seconds=40.0,
        size=(160, 120),
        fps=10,
        audio_frame_ms=60,
    )
