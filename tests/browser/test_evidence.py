"""Evidence documents (证据材料) in real Chromium: a village terminal uploads a PDF for the matter
it registered (and is told, in Chinese, when a file is of the wrong type or too large); the
officer sees it on the case page, uploads a photo, finds it in 证据材料 and in the timeline, and
the link gives back exactly the bytes uploaded."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, FilePayload, Page, expect
from sqlalchemy import select

from hall.cases.tables import Case
from tests.browser.pages import base_url, log_in, open_as, register_at_terminal
from tests.document_fixtures import HTML, exe, padded_png, pdf, png
from tests.support import valid_id_number
from web import keys
from web.config import Config

LIMIT = 256 * 1024


@pytest.fixture
def config(config: Config) -> Config:
    """The shared app (`server`) with a small document limit."""
    return replace(config, documents=replace(config.documents, max_bytes=LIMIT))


def payload(name: str, mime: str, data: bytes) -> FilePayload:
    """A file chosen in the file picker, made in memory."""
    return {"name": name, "mimeType": mime, "buffer": data}


async def downloaded(page: Page, link: str) -> bytes:
    """Click the link as a person would and read the file the browser saved."""
    async with page.expect_download() as info:
        await page.click(link)
    path = await (await info.value).path()
    return Path(path).read_bytes()


async def test_terminal_and_officer_upload_evidence(server: TestServer, browser: Browser) -> None:
    base = base_url(server)
    terminal = await open_as(browser, base, "village-zhangzhuang")
    await expect(terminal.locator("#materials")).to_be_hidden()  # nothing registered yet
    await register_at_terminal(terminal, name="孙八", id_number=valid_id_number(), line="urban")
    await expect(terminal.locator("#materials")).to_be_visible()
    await expect(terminal.locator("#materials h2")).to_have_text("上传材料")

    # The wrong type, whatever its name says, and a file over the limit: told in Chinese.
    form = terminal.locator("#material-form")
    await form.locator("input[name=file]").set_input_files(payload("照片.png", "image/png", HTML))
    await terminal.click("#material-submit")
    await expect(terminal.locator("#material-error")).to_contain_text("文件类型不支持")
    big = padded_png(LIMIT + 1)
    await form.locator("input[name=file]").set_input_files(payload("大图.png", "image/png", big))
    await terminal.click("#material-submit")
    await expect(terminal.locator("#material-error")).to_contain_text("文件过大")
    await expect(terminal.locator("#material-list li")).to_have_count(0)

    receipt = pdf("receipt 2026")
    await form.locator("input[name=file]").set_input_files(
        payload("收据.pdf", "application/pdf", receipt)
    )
    await form.locator("input[name=note]").fill("补偿款收据")
    await terminal.click("#material-submit")
    await expect(terminal.locator("#material-message")).to_have_text("已上传：收据.pdf")
    await expect(terminal.locator("#material-error")).to_have_text("")
    await expect(terminal.locator("#material-list li")).to_have_count(1)
    await expect(terminal.locator("#material-list li")).to_contain_text("PDF 文件")
    assert await downloaded(terminal, "#material-list a") == receipt

    async with server.app[keys.DB].reader() as session:
        case_id = await session.scalar(select(Case.id))

    officer = await (await browser.new_context()).new_page()
    await log_in(officer, base, "officer-urban")
    await officer.goto(f"{base}/cases/{case_id}")
    documents = officer.locator("#documents")
    await expect(documents.locator("h2")).to_have_text("证据材料")
    await expect(documents.locator("#document-list li")).to_have_count(1)
    await expect(documents.locator("#document-list li")).to_contain_text("收据.pdf")
    await expect(documents.locator("#document-list li")).to_contain_text("补偿款收据")

    upload = officer.locator("#document-form input[name=file]")
    await upload.set_input_files(payload("现场.jpg", "image/jpeg", exe()))
    await officer.click("#document-submit")
    await expect(officer.locator("#document-error")).to_contain_text("文件类型不支持")

    photo = png(320, 240, (30, 120, 200))
    await upload.set_input_files(payload("院墙裂缝.png", "image/png", photo))
    await officer.fill("#document-form input[name=note]", "院墙裂缝照片")
    await officer.check("#document-form input[name=petitioner]")
    async with officer.expect_navigation():
        await officer.click("#document-submit")
    items = documents.locator("#document-list li")
    await expect(items).to_have_count(2)
    newest = items.nth(1)
    await expect(newest).to_contain_text("院墙裂缝.png")
    await expect(newest).to_contain_text("PNG 图片")
    await expect(newest).to_contain_text("信访人可见")
    await expect(newest).to_contain_text(hashlib.sha256(photo).hexdigest())
    thumb = newest.locator("img.thumb")
    await expect(thumb).to_be_visible()
    await officer.wait_for_function(
        "() => document.querySelector('#document-list li:nth-child(2) img').naturalWidth === 320"
    )
    timeline = officer.locator(".timeline li", has_text="上传证据材料")
    await expect(timeline).to_have_count(2)
    await expect(timeline.nth(1)).to_contain_text("院墙裂缝.png")
    await expect(timeline.nth(1)).to_contain_text(hashlib.sha256(photo).hexdigest()[:16])
    saved = await downloaded(officer, "#document-list li:nth-child(2) a")
    assert hashlib.sha256(saved).hexdigest() == hashlib.sha256(photo).hexdigest()

    # The terminal, reopened, finds its matter's materials again, with what was shared with it.
    await terminal.reload()
    await terminal.wait_for_selector("body[data-ready='1']")
    await expect(terminal.locator("#material-list li")).to_have_count(2)
    await expect(terminal.locator("#material-list")).to_contain_text("院墙裂缝.png")
