"""In real Chromium: (a) the village terminal shows an answered case as 待评价 and records the
petitioner's 满意, which the case page and the supervisor's 满意度 page then show; (b) an officer
marks a case not accepted with the legal channel 行政复议, the printed notice and the public
query show it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect

from tests.browser.pages import base_url, log_in, open_as
from tests.browser.test_case_flow import change_state, new_page
from tests.support import HttpClient, login, registration, valid_id_number
from tests.web.test_case_transitions import FixedClock, file_case
from web.app import create_app
from web.config import Config


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=FixedClock()))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[list[HttpClient]]:
    """HTTP clients for the set-up steps (closed with the server)."""
    opened: list[HttpClient] = []
    yield opened
    for client in opened:
        await client.close()


async def client(server: TestServer, opened: list[HttpClient]) -> HttpClient:
    made = TestClient(server)
    await made.start_server()
    opened.append(made)
    return made


async def answered_at_terminal(server: TestServer, opened: list[HttpClient]) -> int:
    """A case the terminal registered (its visit over: the ticket left), answered by the line."""
    terminal = await login(await client(server, opened), "village-zhangzhuang")
    body = registration(id_number=valid_id_number("41010219800404001"), name="周九")
    created = await terminal.post("/api/visit-requests", body, status=201)
    assert isinstance(created, dict)
    await terminal.post(f"/api/tickets/{created['ticket']['id']}/leave")
    case_id = int(created["case_id"])
    officer = await login(await client(server, opened), "officer-urban")
    path = f"/api/cases/{case_id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    await officer.post(path, {"to": "accepted", "reason": "受理", "classification": "suggestion"})
    await officer.post(path, {"to": "in_progress", "reason": "办理"})
    await officer.post(path, {"to": "responded", "reason": "已协调解决", "outcome": "support"})
    return case_id


async def test_terminal_records_a_satisfied_rating_seen_on_the_case_page(
    server: TestServer, browser: Browser, http: list[HttpClient]
) -> None:
    base = base_url(server)
    case_id = await answered_at_terminal(server, http)

    terminal = await open_as(browser, base, "village-zhangzhuang")
    section = terminal.locator("#evaluations")
    await expect(section).to_be_visible()
    await expect(section.locator("h1")).to_contain_text("待评价")
    item = terminal.locator(f"#pending-list li[data-case='{case_id}']")
    await expect(item).to_contain_text("周*")
    await expect(item).to_contain_text("答复结果：支持")
    await expect(item).to_contain_text("2026-04-01")
    await item.locator("button.evaluate").click()
    await expect(terminal.locator("#evaluation-form")).to_be_visible()
    await terminal.click("#evaluation-submit")  # no grade chosen yet
    await expect(terminal.locator("#evaluation-error")).to_have_text("请选择信访人的评价")
    await terminal.check("#evaluation-form input[value=satisfied]")
    await terminal.fill("#evaluation-form textarea[name=comment]", "问题已解决")
    await terminal.click("#evaluation-submit")
    await expect(terminal.locator("#evaluation-message")).to_contain_text("满意（经本终端录入）")
    await expect(terminal.locator("#pending-list li")).to_have_count(0)
    await terminal.reload()
    await terminal.wait_for_selector("body[data-ready='1']")
    await expect(terminal.locator("#evaluations")).to_be_hidden()  # nothing left to rate

    officer = await new_page(browser)
    await log_in(officer, base, "officer-urban")
    await officer.goto(f"{base}/cases/{case_id}")
    await expect(officer.locator("#dp-evaluation")).to_have_text("已评价：满意（村信息中心终端）")
    await expect(officer.locator(".timeline")).to_contain_text("满意度评价 满意 · 村信息中心终端")

    supervisor = await new_page(browser)
    await log_in(supervisor, base, "supervisor")
    await supervisor.click("a[href='/supervisor/evaluations']")
    await expect(supervisor.locator("h1")).to_contain_text("满意度统计")
    await expect(supervisor.locator("#overall-participation")).to_have_text("100.0%")
    await expect(supervisor.locator("#overall-satisfaction")).to_have_text("100.0%")
    urban = supervisor.locator("#by-line tr[data-group=urban]")
    await expect(urban.locator("td[data-f=satisfied]")).to_have_text("1")
    await expect(urban.locator("td[data-f=satisfaction]")).to_contain_text("（1 / 1）")


async def test_officer_refuses_with_channel_and_the_notice_prints_it(
    server: TestServer, browser: Browser, config: Config, http: list[HttpClient]
) -> None:
    base = base_url(server)
    case = await file_case(await login(await client(server, http), "desk"), config)

    officer = await new_page(browser)
    await log_in(officer, base, "officer-urban")
    await officer.goto(f"{base}/cases/{case.id}")
    await expect(officer.locator("#transitions")).to_be_visible()
    await change_state(officer, "triaged", "属城建条线，予以分流")
    await expect(officer.locator("#t-channel-fields")).to_be_hidden()
    await officer.select_option("#t-to", "not_accepted")
    await expect(officer.locator("#t-channel-fields")).to_be_visible()
    # Without a channel the server refuses and says why.
    await officer.fill("#t-reason", "该事项属于行政复议范围")
    await officer.click("#transition-form button[type=submit]")
    await expect(officer.locator("#t-error")).to_contain_text("请选择法定途径")
    await change_state(
        officer, "not_accepted", "该事项属于行政复议范围", **{"t-channel": "reconsideration"}
    )
    await expect(officer.locator("#t-stage")).to_contain_text("不予受理")
    await expect(officer.locator("#case-legal-channel")).to_have_text("行政复议")
    await expect(officer.locator(".timeline")).to_contain_text("（法定途径：行政复议）")

    await officer.click("#notice-list a[data-kind=not_accepted]")
    await expect(officer.locator("h1")).to_have_text("信访事项不予受理告知书")
    await expect(officer.locator("#channel")).to_have_text("行政复议")
    await expect(officer.locator("#ground")).to_have_text("该事项属于行政复议范围")
    await officer.emulate_media(media="print")
    await expect(officer.locator("#channel")).to_be_visible()
    assert (await officer.pdf(format="A4")).startswith(b"%PDF")

    petitioner = await new_page(browser)
    await petitioner.goto(f"{base}/query")
    await petitioner.fill("#q-number", case.number)
    await petitioner.fill("#q-code", case.query_code)
    await petitioner.click("#query-form button[type=submit]")
    await expect(petitioner.locator("#r-stage")).to_have_text("不予受理")
    await expect(petitioner.locator("#r-channel")).to_have_text("行政复议")
    await expect(petitioner.locator("#query-result")).not_to_contain_text("该事项属于行政复议范围")
