"""The 检举控告 rule in real Chromium: on the case page an officer classifies a matter as an
accusation and picks the accused unit from the department register (listed with its aliases);
routing the case to that unit is then refused with the Chinese message, to another unit it goes.
A supervisor sees the override field an officer does not."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from tests.browser.pages import base_url, log_in
from tests.browser.test_case_flow import change_state, desk_http, new_page, server
from tests.support import HttpClient, login
from tests.web.test_case_transitions import file_case
from web.config import Config

__all__ = ["desk_http", "server"]  # the fixtures of the case flow: a March clock, a desk client
ZHUJIAN = "县住房和城乡建设局"


async def try_to_route(page: Page, to: str, department: str, reason: str) -> None:
    """Submit a routing step that the server refuses (the page stays, showing the error)."""
    await page.select_option("#t-to", to)
    await page.select_option("#t-department", department)
    await page.fill("#t-reason", reason)
    await page.click("#transition-form button[type=submit]")


async def test_officer_picks_the_accused_unit_and_cannot_route_the_case_to_it(
    server: TestServer, browser: Browser, config: Config, desk_http: HttpClient
) -> None:
    base = base_url(server)
    case = await file_case(await login(desk_http, "desk"), config)
    officer = await new_page(browser)
    await log_in(officer, base, "officer-urban")
    await officer.goto(f"{base}/cases/{case.id}")
    await expect(officer.locator("#transitions")).to_be_visible()
    await expect(officer.locator("#t-override")).to_have_count(0)  # not an officer's to use

    # 分流 as 检举控告 against 住建, picked from the register (shown with its aliases).
    await officer.select_option("#t-to", "triaged")
    await officer.select_option("#t-classification", "accusation")
    await expect(officer.locator("#t-accused")).to_be_visible()
    picked = officer.locator("#t-accused-department option[value=zhujian]")
    await expect(picked).to_have_text(f"{ZHUJIAN}（县住建局、住建局）")
    await officer.select_option("#t-accused-department", "zhujian")
    await officer.fill("#t-reason", "反映县住建局工作人员违规，按检举控告分流")
    async with officer.expect_navigation():
        await officer.click("#transition-form button[type=submit]")
    await expect(officer.locator("#case-accused")).to_contain_text(ZHUJIAN)

    # 交办 to the accused unit: refused, in Chinese, and the case stays where it was.
    await expect(officer.locator("#t-department option[value=zhujian]")).to_have_count(1)
    for to in ("assigned", "transferred"):
        await try_to_route(officer, to, "zhujian", "交住建局办理")
        await expect(officer.locator("#t-error")).to_be_visible()
        await expect(officer.locator("#t-error")).to_have_text(
            f"该事项为检举控告，被检举控告单位为{ZHUJIAN}，不得转送、交办给被检举控告单位"
        )
    await officer.reload()
    await expect(officer.locator("#t-stage")).to_contain_text("已分流")

    # Another unit may take it.
    await change_state(officer, "assigned", "交人社局办理", **{"t-department": "renshe"})
    await expect(officer.locator("#dp-unit")).to_have_text("县人力资源和社会保障局")

    supervisor = await new_page(browser)
    await log_in(supervisor, base, "supervisor")
    await supervisor.goto(f"{base}/cases/{case.id}")
    await expect(supervisor.locator("#t-override")).to_have_count(1)
