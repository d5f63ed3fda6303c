"""An officer finds an overdue case in the filtered list, opens it, prints its acceptance notice
(受理告知书) and records the notice's delivery (送达)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from tests.browser.pages import base_url, log_in
from tests.support import MovableClock, login, registration, valid_id_number
from web.app import create_app
from web.config import Config


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 9, 28, 2, 0, tzinfo=UTC))


@pytest.fixture
async def server(config: Config, clock: MovableClock) -> AsyncIterator[TestServer]:
    long = replace(config, hall=replace(config.hall, session_hours=24 * 365))
    srv = TestServer(create_app(long, clock=clock))
    await srv.start_server()
    yield srv
    await srv.close()


async def prepare(server: TestServer, clock: MovableClock) -> int:
    """Two cases registered on 2026-09-28; the first accepted on 10-10, the clock then on 10-14
    (the second one's 15 days are over). Returns the accepted case's id."""
    desk_http, officer_http = TestClient(server), TestClient(server)
    await desk_http.start_server()
    await officer_http.start_server()
    try:
        desk = await login(desk_http, "desk")
        officer = await login(officer_http, "officer-urban")
        made = []
        for n in (1, 2):
            body = registration(id_number=valid_id_number(f"41010219800101{n:03d}"), name=f"周{n}")
            created = await desk.post("/api/visit-requests", body, status=201)
            assert isinstance(created, dict)
            made.append(int(created["case_id"]))
        clock.at = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
        path = f"/api/cases/{made[0]}/transitions"
        await officer.post(path, {"to": "triaged", "reason": "分流至城建"})
        accept = {
            "to": "accepted",
            "reason": "依法受理",
            "classification": "claim",
            "claim_type": 1,
        }
        await officer.post(path, accept)
        clock.at = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
        assert made[1] == made[0] + 1
        return made[0]
    finally:
        # TestClient.close() would stop the shared server too: close the HTTP sessions only.
        await officer_http.session.close()
        await desk_http.session.close()


async def test_officer_prints_and_delivers_an_acceptance_notice(
    server: TestServer, browser: Browser, clock: MovableClock
) -> None:
    late = await prepare(server, clock)
    overdue_case = late + 1

    base = base_url(server)
    page = await (await browser.new_context()).new_page()
    await log_in(page, base, "officer-urban")
    await page.goto(f"{base}/cases")
    await page.wait_for_selector("#case-filter[data-ready=true]")
    await expect(page.locator("#case-rows tr")).to_have_count(2)
    await page.check("#case-filter input[name=overdue]")
    await page.click("#case-filter button[type=submit]")
    await expect(page.locator("#case-rows tr")).to_have_count(1)
    overdue_row = page.locator(f"#case-rows tr[data-case='{overdue_case}']")
    await expect(overdue_row.locator(".badge")).to_have_text("已超期")
    assert "overdue=true" in page.url

    await page.goto(f"{base}/cases/{late}")
    await expect(page.locator("#deadline-rows tr")).to_have_count(3)
    await expect(page.locator("#deadline-rows")).to_contain_text("60 calendar days")
    await page.click("#notice-list a[data-kind=acceptance]")
    await expect(page.locator("h1")).to_have_text("信访事项受理告知书")
    await expect(page.locator("#handle-due")).to_have_text("2026-12-09")
    await page.emulate_media(media="print")
    await expect(page.locator(".toolbar")).to_be_hidden()
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    await page.emulate_media(media="screen")
    await page.click(".toolbar a")

    await page.wait_for_selector("#delivery-form:not([hidden])")
    await page.select_option("#d-kind", "acceptance")
    await page.select_option("#d-method", "当面")
    await page.click("#delivery-form button[type=submit]")
    delivered = page.locator("#delivery-rows tr")
    await expect(delivered).to_have_count(1)
    await expect(delivered).to_contain_text("信访事项受理告知书")
    await expect(delivered).to_contain_text("当面")
    await page.reload()
    await expect(page.locator(".timeline")).to_contain_text("告知书送达")
