"""Administration in the browser: the bureau enters next year's holidays so that a case's
deadlines become computable, and creates a department with an account that then logs in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Dialog, Page, expect

from tests.browser.pages import base_url, log_in
from tests.support import MovableClock, login, registration, valid_id_number
from tests.web.test_admin_api import JAN_26_2027
from web.app import create_app
from web.config import Config

NOTICE = """# 2027年节假日安排
2027-01-01 holiday 元旦
2027-02-05..2027-02-11 holiday 春节
2027-02-20 workday 春节调休上班"""


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=MovableClock(JAN_26_2027)))
    await srv.start_server()
    yield srv
    await srv.close()


async def register_case(server: TestServer) -> int:
    """The desk registers a walk-in on 2027-01-26 (hall time); returns the case id."""
    http = TestClient(server)
    await http.start_server()
    try:
        desk = await login(http, "desk")
        body = registration(id_number=valid_id_number("41010219800101555"), name="孙五")
        created = await desk.post("/api/visit-requests", body, status=201)
        assert isinstance(created, dict)
        return int(created["case_id"])
    finally:
        await http.session.close()  # TestClient.close() would stop the shared server too


async def new_page(browser: Browser, base: str, username: str, password: str | None = None) -> Page:
    page = await (await browser.new_context()).new_page()
    if password is None:
        await log_in(page, base, username)
    else:
        await log_in(page, base, username, password)
    return page


async def test_admin_enters_2027_in_bulk_and_the_case_shows_its_deadlines(
    server: TestServer, browser: Browser
) -> None:
    case_id = await register_case(server)
    base = base_url(server)
    admin = await new_page(browser, base, "admin")
    await admin.goto(f"{base}/cases/{case_id}")
    await expect(admin.locator("#due-error")).to_be_visible()
    await expect(admin.locator("#due-error")).to_contain_text("期限无法计算")
    await expect(admin.locator("#deadline-rows")).to_contain_text("无法计算")

    await admin.click("#nav-admin")
    await admin.click("#link-calendar")
    await admin.wait_for_selector("body[data-ready='1']")
    await expect(admin.locator("#year-rows tr[data-year='2026']")).to_contain_text("日历组件已包含")
    await expect(admin.locator("#year-rows tr[data-year='2027']")).to_contain_text("未覆盖，须录入")
    await expect(admin.locator("#year-title")).to_have_text("2027")
    await admin.fill("#bulk-form textarea[name=text]", NOTICE)
    await admin.click("#bulk-form button[type=submit]")  # 本年已完整录入 left unticked
    await expect(admin.locator("#calendar-message")).to_have_text(
        "已录入 9 天。没有需要重新计算的期限；仍有 2 个期限无法计算；"
        "2027年尚未标记完整，该年期限暂不计算"
    )
    year_2027 = admin.locator("#year-rows tr[data-year='2027']")
    await expect(year_2027).to_contain_text("已录入部分，未标记完整")
    await expect(admin.locator("#year-coverage")).to_have_text("已录入部分，未标记完整")
    await expect(admin.locator("#override-rows tr")).to_have_count(9)

    questions: list[str] = []

    async def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await (dialog.dismiss() if len(questions) == 1 else dialog.accept())

    admin.on("dialog", answer)
    await year_2027.locator("button", has_text="标记完整").click()  # dismissed: nothing happens
    await expect(year_2027).to_contain_text("已录入部分，未标记完整")
    await year_2027.locator("button", has_text="标记完整").click()
    await expect(admin.locator("#calendar-message")).to_have_text(
        "已标记2027年完整录入。已重新计算 1 件信访事项的 2 个期限"
    )
    assert "确认2027年的放假日和调休上班日已按通知全部录入" in questions[0]
    await expect(year_2027).to_contain_text("已完整录入调整表")
    await expect(year_2027.locator("button", has_text="标记完整")).to_have_count(0)
    await expect(admin.locator("#override-rows tr[data-day='2027-02-20']")).to_contain_text("上班")

    # A wrong paste names its line and saves nothing.
    await admin.fill(
        "#bulk-form textarea[name=text]", "2027-10-01 holiday 国庆节\n2027-10-32 holiday 国庆节"
    )
    await admin.click("#bulk-form button[type=submit]")
    await expect(admin.locator("#calendar-error")).to_contain_text("line 2")
    await expect(admin.locator("#override-rows tr")).to_have_count(9)
    await admin.click("#recompute")
    await expect(admin.locator("#calendar-message")).to_have_text("没有需要重新计算的期限")

    await admin.goto(f"{base}/cases/{case_id}")
    await expect(admin.locator("#deadline-rows tr")).to_have_count(2)
    await expect(admin.locator("#deadline-rows")).to_contain_text("2027-02-12")
    await expect(admin.locator("#deadline-rows")).to_contain_text("2027-02-16")
    await expect(admin.locator("#deadline-rows")).not_to_contain_text("无法计算")
    await expect(admin.locator("#due-error")).to_be_hidden()
    await expect(admin.locator(".timeline")).to_contain_text("期限重新计算")


async def test_admin_creates_a_department_and_its_account_which_logs_in_until_deactivated(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    admin = await new_page(browser, base, "admin")
    await admin.goto(f"{base}/admin")
    await admin.click("#link-departments")
    await admin.wait_for_selector("body[data-ready='1']")
    await admin.fill("#dept-form input[name=code]", "jiaoyu")
    await admin.fill("#dept-form input[name=name]", "县教育局")
    await admin.fill("#dept-form input[name=aliases]", "县教体局、 教体局")
    await admin.fill("#dept-form input[name=region]", "本县")
    await admin.click("#dept-form button[type=submit]")
    await expect(admin.locator("#dept-message")).to_have_text("已新建责任单位：县教育局")
    await expect(admin.locator("#dept-rows tr[data-code='jiaoyu']")).to_contain_text("启用")
    await expect(admin.locator("#dept-rows tr[data-code='jiaoyu']")).to_contain_text(
        "县教体局、教体局"
    )
    # Another unit's alias is refused, in Chinese, in the edit dialog.
    await admin.click("#dept-rows tr[data-code='jiaoyu'] button:has-text('更名/简称')")
    await admin.fill("#rename-form input[name=aliases]", "县教体局、住建局")
    await admin.click("#rename-form button[type=submit]")
    await expect(admin.locator("#rename-error")).to_contain_text(
        "简称/别名“住建局”已被责任单位 zhujian 使用"
    )
    await admin.fill("#rename-form input[name=aliases]", "县教体局")
    await admin.click("#rename-form button[type=submit]")
    await expect(admin.locator("#dept-rows tr[data-code='jiaoyu']")).not_to_contain_text("教体局、")

    await admin.goto(f"{base}/admin/users")
    await admin.wait_for_selector("body[data-ready='1']")
    await admin.select_option("#user-form select[name=role]", "department")
    await expect(admin.locator("#user-form select[name=terminal]")).to_be_hidden()
    await admin.select_option("#user-form select[name=department]", "jiaoyu")
    await admin.fill("#user-form input[name=username]", "jiaoyu-li")
    await admin.fill("#user-form input[name=display_name]", "李经办")
    await admin.fill("#user-form input[name=password]", "short")
    await admin.click("#user-form button[type=submit]")  # the browser refuses: too short
    await expect(admin.locator("#user-rows tr[data-username='jiaoyu-li']")).to_have_count(0)
    await admin.fill("#user-form input[name=password]", "jiaoyu-2027")
    await admin.click("#user-form button[type=submit]")
    await expect(admin.locator("#user-message")).to_have_text("已新建账号：jiaoyu-li")
    row = admin.locator("#user-rows tr[data-username='jiaoyu-li']")
    await expect(row).to_contain_text("责任单位：县教育局")

    await admin.click("button.link:has-text('退出')")
    await expect(admin.locator("h1")).to_have_text("登录")
    await log_in(admin, base, "jiaoyu-li", "jiaoyu-2027")
    await expect(admin.locator("h1")).to_have_text("信访事项")
    await expect(admin.locator("#case-rows")).to_have_text("暂无信访事项")
    await expect(admin.locator("#nav-admin")).to_have_count(0)

    chief = await new_page(browser, base, "admin")
    await chief.goto(f"{base}/admin/users")
    await chief.wait_for_selector("body[data-ready='1']")
    mine = chief.locator("#user-rows tr[data-username='admin']")
    await expect(mine.locator("button", has_text="停用")).to_have_count(0)
    await chief.locator("#user-rows tr[data-username='jiaoyu-li'] button", has_text="停用").click()
    await expect(chief.locator("#user-message")).to_have_text("已停用账号：jiaoyu-li")
    await expect(chief.locator("#user-rows tr[data-username='jiaoyu-li']")).to_contain_text(
        "已停用"
    )

    await admin.reload()  # its session ended with the deactivation
    await expect(admin.locator("h1")).to_have_text("登录")
    await log_in(admin, base, "jiaoyu-li", "jiaoyu-2027")
    await expect(admin.locator("p.error")).to_have_text("用户名或密码错误")
