"""Flow 2 in real browsers: the desk registers walk-ins and prints their tickets; the hall
display board shows each call within a second or two, chimes, and recovers after a network drop."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from sqlalchemy import select

from hall.cases.tables import Case
from tests.browser.pages import (
    base_url,
    drop_network,
    open_as,
    open_tracking_sockets,
    register_walk_in,
    serve_next,
)
from tests.support import valid_id_number
from web import keys

pytestmark = pytest.mark.browser


async def test_desk_registers_a_walk_in_and_prints_its_ticket(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    await expect(desk).to_have_url(f"{base}/desk")

    # A wrong identity number is explained on the form, as on the terminal.
    await desk.fill("#register-form input[name=name]", "王建国")
    await desk.fill("#register-form input[name=id_number]", "110105194912310021")
    await desk.check("#register-form input[name=priority_class][value=urgent]")
    await desk.click("#register-submit")
    error = desk.locator("#register-error")
    await expect(error).to_contain_text("身份证号校验位错误")
    await expect(error).to_contain_text("加急须写明原因")
    await expect(error).to_contain_text("加急须有批准人")
    for field in ("id_number", "phone", "summary", "priority_reason_text", "approver"):
        await expect(desk.locator(f"#register-form [name={field}]")).to_have_attribute(
            "aria-invalid", "true"
        )
    await expect(desk.locator("#issued")).to_be_hidden()

    number = await register_walk_in(
        desk,
        name="王建国",
        id_number=valid_id_number("37010219500101011"),
        line="urban",
        klass="priority",
        reason="elderly",
    )
    assert number == "C001"
    await expect(desk.locator("#issued-line")).to_have_text("城建接谈室")

    # The overview shows the ticket in its line, with its class and channel, the name masked.
    row = desk.locator("#line-urban tr[data-number='C001']")
    await expect(row).to_be_visible()
    await expect(row.locator(".name")).to_have_text("王*")
    await expect(row.locator(".badge-priority")).to_have_text("优先")
    await expect(row.locator(".channel")).to_have_text("现场")
    await expect(desk.locator(".tile[data-line='urban'] .tile-count")).to_have_text("1")
    assert "37010219500101011" not in await desk.content()

    # The print page (opened from the desk) shows the number, the room and the note.
    async with desk.context.expect_page() as opened:
        await desk.click("#issued-print")
    slip = await opened.value
    await slip.wait_for_load_state()
    await expect(slip.locator("#slip-number")).to_have_text("C001")
    await expect(slip.locator("#slip-room")).to_have_text("城建接谈室")
    await expect(slip.locator("#slip-name")).to_have_text("王*")
    await expect(slip.locator("#slip-ahead")).to_have_text("0 人")
    await expect(slip.locator(".slip")).to_contain_text("请留意叫号屏")
    await expect(slip.locator("#print-button")).to_have_text("打印")
    await slip.emulate_media(media="print")
    await expect(slip.locator("#print-button")).to_be_hidden()
    await expect(slip.locator("#slip-number")).to_be_visible()
    await slip.close()  # as the desk does after printing; a background tab is throttled

    # Transfer to another line from the overview, then undo it within the window.
    await row.locator("button[data-act=transfer]").click()
    dialog = desk.locator("#action-dialog")
    await expect(dialog).to_be_visible()
    await dialog.locator("select[name=line]").select_option("enterprise")
    await dialog.locator("textarea[name=reason]").fill("转")
    await dialog.locator("#action-submit").click()
    await expect(dialog.locator("#action-error")).to_have_text("请写明转办原因；2至200字")
    await expect(dialog.locator("textarea[name=reason]")).to_have_attribute("aria-invalid", "true")
    await dialog.locator("textarea[name=reason]").fill("属企业欠薪纠纷")
    await dialog.locator("#action-submit").click()
    await expect(dialog).to_be_hidden()
    await expect(desk.locator("#moved-text")).to_contain_text("C001 已转至企业，新排队号 B001")
    await expect(desk.locator("#line-enterprise tr[data-number='B001']")).to_be_visible()
    await expect(desk.locator("#line-urban tr")).to_have_count(0)
    await desk.click("#undo-move")
    await expect(desk.locator("#moved-text")).to_contain_text("已撤回")
    await expect(desk.locator("#line-urban tr[data-number='C001']")).to_be_visible()
    await expect(desk.locator("#line-enterprise tr")).to_have_count(0)

    # 回避: the urban officer may no longer take the ticket.
    await row.locator("button[data-act=exclude]").click()
    await dialog.locator("select[name=username]").select_option("officer-urban")
    await dialog.locator("textarea[name=reason]").fill("与来访人系亲属")
    await dialog.locator("#action-submit").click()
    await expect(dialog).to_be_hidden()
    officer = await open_as(browser, base, "officer-urban")
    await expect(officer.locator("#queues li[data-number='C001']")).to_be_visible()
    await officer.click("#call-next")
    await expect(officer.locator("#call-error")).to_have_text("当前没有可叫的排队号")

    # 取消: the visitor leaves; a follow-up ticket (复访) for the same case can be taken later.
    await row.locator("button[data-act=leave]").click()
    await dialog.locator("#action-submit").click()
    await expect(row).to_have_count(0)
    await expect(officer.locator("#queues li")).to_have_count(0)
    async with server.app[keys.DB].reader() as session:
        case = (await session.scalars(select(Case))).one()
    await desk.click("#issued-close")
    await desk.fill("#follow-up-form input[name=case]", case.number)
    await desk.click("#follow-up-form button[type=submit]")
    await expect(desk.locator("#issued-number")).to_have_text("C002")
    await expect(desk.locator("#line-urban tr[data-number='C002'] .name")).to_have_text("王*")
    await desk.fill("#follow-up-form input[name=case]", str(case.id))
    await desk.click("#follow-up-form button[type=submit]")
    await expect(desk.locator("#follow-up-error")).to_contain_text("已有进行中的排队号 C002")


async def test_board_shows_calls_live_and_recovers_after_a_network_drop(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    for i, name in enumerate(("张丽华", "李明", "赵强")):
        id_number = valid_id_number(f"37010219800101{i + 1:03d}")
        await register_walk_in(desk, name=name, id_number=id_number, line="urban")
    await expect(desk.locator("#line-urban tr")).to_have_count(3)

    board = await open_tracking_sockets(browser, base, "hall-board")
    await expect(board).to_have_url(f"{base}/board")
    await expect(board.locator("#counts li[data-line='urban'] strong")).to_have_text("3")
    await expect(board.locator("#latest-room")).to_have_text("暂无叫号")
    body = board.locator("body")
    await expect(body).to_have_attribute("data-chimes", "0")

    officer = await open_as(browser, base, "officer-urban")
    await officer.click("#call-next")
    called = time.monotonic()
    await expect(board.locator("#latest-number")).to_have_text("C001", timeout=3000)
    seen = time.monotonic() - called
    await expect(board.locator("#latest-room")).to_have_text("城建接谈室")
    await expect(board.locator("#latest-name")).to_have_text("张*")
    await expect(body).to_have_attribute("data-chimes", "1")
    await expect(board.locator("#counts li[data-line='urban'] strong")).to_have_text("2")
    assert seen < 3.0, seen
    assert "张丽华" not in await board.content()

    # The network drops: the board says so; a call made meanwhile shows once it is back.
    await officer.click("#end-visit")
    await expect(officer.locator("#ended-panel")).to_be_visible()
    await drop_network(board)
    await expect(board.locator("#board-conn")).to_be_visible(timeout=15000)
    assert await serve_next(officer) == "C002"
    await board.context.set_offline(False)
    await expect(board.locator("#board-conn")).to_be_hidden(timeout=15000)
    await expect(board.locator("#latest-number")).to_have_text("C002")
    await expect(board.locator("#recent li").first).to_contain_text("C001")
    await expect(board.locator("#counts li[data-line='urban'] strong")).to_have_text("1")
    await expect(body).to_have_attribute("data-chimes", "2")

    # Live again: the next call arrives over the new connection.
    await officer.click("#call-next")
    await expect(board.locator("#latest-number")).to_have_text("C003", timeout=3000)
    await expect(board.locator("#latest-name")).to_have_text("赵*")
    await expect(body).to_have_attribute("data-chimes", "3")
    await expect(board.locator("#counts li[data-line='urban'] strong")).to_have_text("0")
