"""The terminal's registration form shows each wrong field and stores nothing."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from hall.cases.tables import Case, Petitioner
from hall.queue.tables import Ticket
from tests.browser.pages import log_in
from web import keys

pytestmark = pytest.mark.browser


async def test_invalid_registration_is_explained_on_the_form(
    server: TestServer, browser: Browser
) -> None:
    base = str(server.make_url("")).rstrip("/")
    page = await (await browser.new_context()).new_page()
    await log_in(page, base, "village-lijiawan")
    await page.wait_for_selector("body[data-ready='1']")
    await page.fill("input[name=name]", "李四")
    await page.fill("input[name=id_number]", "110105194912310021")
    await page.fill("input[name=phone]", "12345")
    await page.click("#start-visit")
    error = page.locator("#register-error")
    await expect(error).to_contain_text("身份证号校验位错误")
    await expect(error).to_contain_text("电话号码格式不正确")
    await expect(error).to_contain_text("请填写反映事项")
    for field in ("id_number", "phone", "summary"):
        await expect(page.locator(f"[name={field}]")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#register")).to_be_visible()
    await expect(page.locator("#waiting")).to_be_hidden()
    async with server.app[keys.DB].reader() as session:
        for model in (Case, Petitioner, Ticket):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
