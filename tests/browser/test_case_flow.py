"""Issue 4's case flow in real Chromium: an officer routes a case (分流, then 交办 to a department)
on the case page, the department signs for it and replies, and the petitioner — without an
account — queries it with case number + query code and rates the answer 满意."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from tests.browser.pages import base_url, log_in
from tests.support import HttpClient, login
from tests.web.test_case_transitions import NAME, NOTE, PHONE, FixedClock, file_case
from web.app import create_app
from web.config import Config


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    # A Monday in March 2026: every deadline the flow attaches lies in the calendar's years.
    srv = TestServer(create_app(config, clock=FixedClock()))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def desk_http(server: TestServer) -> AsyncIterator[HttpClient]:
    """An HTTP client for filing the case at the desk (closed with the server)."""
    http = TestClient(server)
    await http.start_server()
    yield http
    await http.close()


async def new_page(browser: Browser) -> Page:
    return await (await browser.new_context()).new_page()


async def change_state(page: Page, to: str, reason: str, **fields: str) -> None:
    """Use the case page's state panel (办理状态) as an officer would."""
    await expect(page.locator(f"#t-to option[value={to}]")).to_have_count(1)
    await page.select_option("#t-to", to)
    for select, value in fields.items():
        await page.select_option(f"#{select}", value)
    await page.fill("#t-reason", reason)
    async with page.expect_navigation():
        await page.click("#transition-form button[type=submit]")


async def test_officer_assigns_department_replies_petitioner_evaluates(
    server: TestServer, browser: Browser, config: Config, desk_http: HttpClient
) -> None:
    base = base_url(server)
    case = await file_case(await login(desk_http, "desk"), config)

    # The officer of the line routes the case: 分流, then 交办 to 县住建局, classified.
    officer = await new_page(browser)
    await log_in(officer, base, "officer-urban")
    await officer.goto(f"{base}/cases/{case.id}")
    await expect(officer.locator("#transitions")).to_be_visible()
    await change_state(officer, "triaged", "属城建条线，予以分流")
    await expect(officer.locator("#t-stage")).to_contain_text("已分流")
    await expect(officer.locator("#t-department option[value=zhujian]")).to_have_count(1)
    await change_state(
        officer,
        "assigned",
        "交县住建局办理",
        **{"t-classification": "suggestion", "t-department": "zhujian"},
    )
    await expect(officer.locator("#t-stage")).to_contain_text("已交办责任单位")
    await expect(officer.locator("#dp-unit")).to_have_text("县住房和城乡建设局")
    await expect(officer.locator("#dp-ack")).to_have_text("未签收")
    await expect(officer.locator("#dp-object-due")).to_have_text("2026-03-09")
    await expect(officer.locator("#dp-actions")).to_be_hidden()  # the bureau does not sign

    # The department logs in, finds the case in its list, signs for it and replies.
    dept = await new_page(browser)
    await log_in(dept, base, "dept-zhujian")
    assert dept.url.endswith("/cases")
    link = dept.locator(f"a[href='/cases/{case.id}']")
    await expect(link).to_have_text(case.number)
    async with dept.expect_navigation():
        await link.click()
    await expect(dept.locator("#department")).to_be_visible()
    await expect(dept.locator("#dp-unit")).to_have_text("县住房和城乡建设局")
    await expect(dept.locator("#transitions")).to_be_hidden()  # no bureau state panel
    await expect(dept.locator("#unmask")).to_have_count(0)
    await expect(dept.locator("#dp-reply-form")).to_be_hidden()  # sign first
    async with dept.expect_navigation():
        await dept.click("#dp-acknowledge")
    await expect(dept.locator("#dp-ack")).to_have_text("已签收")
    await expect(dept.locator(".timeline")).to_contain_text("责任单位签收")
    await expect(dept.locator("#dp-acknowledge")).to_be_hidden()
    await dept.select_option("#dp-outcome", "support")
    await dept.fill("#dp-text", "经核实，补偿款已于本周发放到位")
    async with dept.expect_navigation():
        await dept.click("#dp-reply")
    await expect(dept.locator("#dp-evaluation")).to_have_text("可评价")
    await expect(dept.locator("#dp-actions")).to_be_hidden()
    await expect(dept.locator(".timeline")).to_contain_text("in_progress → responded")
    assert NOTE not in await dept.locator("main").inner_text()  # the bureau's internal note

    # The officer sees the department's receipt and answer.
    await officer.reload()
    await expect(officer.locator("#t-stage")).to_contain_text("已答复")
    await expect(officer.locator(".timeline")).to_contain_text("经核实，补偿款已于本周发放到位")

    # The petitioner queries without an account and rates the answer.
    petitioner = await new_page(browser)
    await petitioner.goto(f"{base}/query")
    await petitioner.fill("#q-number", case.number)
    await petitioner.fill("#q-code", case.query_code)
    await petitioner.click("#query-form button[type=submit]")
    await expect(petitioner.locator("#query-result")).to_be_visible()
    await expect(petitioner.locator("#r-stage")).to_have_text("已答复")
    await expect(petitioner.locator("#r-unit")).to_have_text("县住房和城乡建设局")
    await expect(petitioner.locator("#r-events")).to_contain_text("责任单位签收")
    await expect(petitioner.locator("#e-state")).to_have_text("请在 2026-04-01 前评价。")
    await petitioner.check("#evaluation-form input[value=satisfied]")
    await petitioner.fill("#e-comment", "办得好，谢谢")
    await petitioner.click("#e-submit")
    await expect(petitioner.locator("#e-state")).to_have_text("您的评价：满意。感谢您的评价。")
    await expect(petitioner.locator("#evaluation-form")).to_be_hidden()
    shown = await petitioner.locator("main").inner_text()
    for secret in (NAME, PHONE, NOTE, "办得好"):
        assert secret not in shown

    # Querying again shows the evaluation; the department sees it recorded.
    await petitioner.reload()
    await petitioner.fill("#q-number", case.number)
    await petitioner.fill("#q-code", case.query_code)
    await petitioner.click("#query-form button[type=submit]")
    await expect(petitioner.locator("#r-events")).to_contain_text("满意度评价")
    await expect(petitioner.locator("#e-state")).to_contain_text("满意")
    await dept.reload()
    await expect(dept.locator("#dp-evaluation")).to_have_text("已评价：满意（查询页）")
