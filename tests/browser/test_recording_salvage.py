"""DESIGN §9 in a browser: after a crash mid-visit and a restart, the case page plays the
recording up to the crash, marked 录制因服务中断而截止, and says which file could not be saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.pages import base_url, open_as, wait_playing
from tests.media_fixtures import make_sample_webm
from tests.web.test_recording_recovery import crashed_visit, running
from web import keys
from web.config import Config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_webm(tmp_path_factory.mktemp("media") / "sample.webm", seconds=8.0)


async def test_the_case_page_plays_a_recording_salvaged_after_a_crash(
    config: Config, media: Path, browser: Browser
) -> None:
    called, _ = await crashed_visit(config, media)
    async with running(config) as server:
        await server.app[keys.CALLS].wait_idle()
        officer = await open_as(browser, base_url(server), "officer-urban")
        await officer.goto(f"{base_url(server)}/cases/{called['case']['id']}")

        visit = officer.locator(f"#visit-{called['visit_id']}")
        await expect(visit.locator("h3")).to_contain_text("因服务中断而结束")
        await expect(visit.locator(".recording-salvaged")).to_have_text("录制因服务中断而截止")
        await expect(visit.locator("figcaption")).to_contain_text("SHA-256")
        await expect(visit.locator(".recording-quarantined")).to_contain_text(
            "terminal-9 的录音录像因服务中断无法恢复（已移入隔离目录）"
        )
        await expect(officer.locator("body")).to_contain_text("录音录像中断截止")
        # The salvaged file has a duration and a picture, and it plays.
        await officer.wait_for_function(
            "() => { const v = document.querySelector('figure[data-recording] video');"
            " return v && v.readyState >= 1 && v.duration > 2 && v.videoWidth > 0; }",
            timeout=15000,
        )
        await officer.eval_on_selector("figure[data-recording] video", "v => v.play()")
        await wait_playing(officer, "figure[data-recording] video")
