"""Flow 1 in real browsers: a village terminal and an officer hold a recorded video visit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from sqlalchemy import select

from hall.visits.tables import Recording, Visit
from tests.browser.pages import log_in, video_frames, wait_playing
from tests.support import valid_id_number
from web import keys

pytestmark = pytest.mark.browser
CALL_SECONDS = 6.0


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


async def test_village_terminal_and_officer_hold_a_recorded_visit(
    server: TestServer, browser: Browser
) -> None:
    base = str(server.make_url("")).rstrip("/")
    village = await (await browser.new_context()).new_page()
    officer = await (await browser.new_context()).new_page()

    # The village operator registers the petitioner and the matter, and starts the visit.
    await log_in(village, base, "village-zhangzhuang")
    await expect(village).to_have_url(f"{base}/terminal")
    await village.wait_for_selector("body[data-ready='1']")
    await village.fill("input[name=name]", "张三")
    await village.fill("input[name=id_number]", valid_id_number())
    await village.fill("input[name=phone]", "13800138000")
    await village.select_option("select[name=line]", "urban")
    await village.fill("textarea[name=summary]", "宅基地确权纠纷，请求协调")
    await village.click("#start-visit")
    await expect(village.locator("#ticket-number")).to_have_text("C001")
    await expect(village.locator("#ticket-position")).to_have_text("1")
    await expect(village.locator("#ticket-estimate")).to_have_text("即将轮到您")

    # The officer of the urban line sees the ticket (masked name) and calls it.
    await log_in(officer, base, "officer-urban")
    await expect(officer).to_have_url(f"{base}/console")
    await expect(officer.locator("#queues li")).to_have_text("C001 张* · 远程视频 · 1人")
    await officer.click("#call-next")

    # Both sides see and hear each other, with the recording indicator on.
    for page in (village, officer):
        await expect(page.locator("#rec-indicator")).to_be_visible()
        await expect(page.locator("#rec-indicator")).to_have_text("● 录音录像中")
        await wait_playing(page, "#remote-video")
    started = time.monotonic()
    for page in (village, officer):
        first = await video_frames(page, "#remote-video")
        await page.wait_for_timeout(1000)
        later = await video_frames(page, "#remote-video")
        assert first["width"] > 0 and first["height"] > 0
        assert later["frames"] > first["frames"] + 10, (first, later)
        assert later["audio"] == 1
    await expect(officer.locator("#queues li")).to_have_count(0)

    # The officer keeps notes and ends the visit with an outcome.
    await officer.fill("#notes", "村民反映宅基地确权问题，已登记，转城建部门核实。")
    await expect(officer.locator("#notes-state")).to_have_text("已保存")
    remaining = CALL_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        await officer.wait_for_timeout(remaining * 1000)
    await officer.select_option("#outcome", "accepted")
    await officer.click("#end-visit")
    call_seconds = time.monotonic() - started

    # The terminal shows the case number and query code.
    await expect(village.locator("#finished")).to_be_visible()
    case_number = (await village.locator("#case-number").text_content()) or ""
    assert case_number.startswith("JF")
    assert len((await village.locator("#query-code").text_content()) or "") == 6
    await expect(officer.locator("#case-link")).to_have_text(case_number)

    # The server recorded the visit: a playable composite with video and audio.
    app = server.app
    await asyncio.wait_for(app[keys.CALLS].wait_idle(), 120)
    async with app[keys.DB].reader() as session:
        visit = (await session.scalars(select(Visit))).one()
        rows = list(await session.scalars(select(Recording).order_by(Recording.id)))
    assert [r.state for r in rows] == ["ready"] * len(rows), [(r.kind, r.error) for r in rows]
    assert sorted(r.kind for r in rows) == ["composite", "participant", "participant"]
    composite = next(r for r in rows if r.kind == "composite")
    probe = ffprobe(Path(composite.path))
    kinds = sorted(s["codec_type"] for s in probe["streams"])
    assert kinds == ["audio", "video"]
    duration = float(probe["format"]["duration"])
    assert visit.ended_at is not None
    visit_seconds = (visit.ended_at - visit.started_at).total_seconds()
    assert abs(duration - visit_seconds) < 2.0, (duration, visit_seconds, call_seconds)
    for row in rows:
        assert row.sha256 and len(row.sha256) == 64
        participant = ffprobe(Path(row.path))
        assert {s["codec_name"] for s in participant["streams"]} >= {"opus"}

    # The case page (officer side) lists the visit and plays its recording.
    await officer.click("#case-link")
    await expect(officer.locator("#case-number")).to_have_text(case_number)
    await expect(officer.locator(".visit h3")).to_contain_text("登记受理")
    await expect(officer.locator(".visit .notes")).to_contain_text("宅基地确权")
    player = officer.locator(f"figure[data-recording='{composite.id}'] video")
    await expect(player).to_be_visible()
    await officer.wait_for_function(
        "() => { const v = document.querySelector('figure[data-recording] video');"
        " return v && v.readyState >= 1 && v.duration > 1 && v.videoWidth > 0; }",
        timeout=15000,
    )
    assert "身份证号" in await officer.locator("#petitioner").inner_text()
    assert valid_id_number() not in await officer.content()
