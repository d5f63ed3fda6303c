"""The hall's queue rules as people see them: a terminal keeps its place across a closed tab,
priority tickets follow the quota, and the terminal's position and estimate follow the queue."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from tests.browser.pages import (
    base_url,
    log_in,
    open_as,
    register_at_terminal,
    register_walk_in,
    serve_next,
)
from tests.support import valid_id_number

pytestmark = pytest.mark.browser


async def test_terminal_that_closes_its_tab_keeps_its_place(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    first = await open_as(browser, base, "village-lijiawan")
    await register_at_terminal(
        first, name="李红", id_number=valid_id_number("41010219700101001"), line="urban"
    )
    village = await open_as(browser, base, "village-zhangzhuang")
    number = await register_at_terminal(
        village, name="张三", id_number=valid_id_number("41010219700101002"), line="urban"
    )
    assert number == "C002"
    await expect(village.locator("#ticket-position")).to_have_text("2")
    desk = await open_as(browser, base, "desk")
    row = desk.locator("#line-urban tr[data-number='C002']")
    await expect(row.locator(".channel")).to_have_text("远程视频")
    await expect(row.locator(".badge-away")).to_have_count(0)

    # The operator closes the tab: the desk sees the ticket away, still in its place.
    context = village.context
    await village.close()
    await expect(row.locator(".badge-away")).to_have_text("离线")
    await expect(desk.locator("#line-urban tr").nth(1)).to_have_attribute("data-number", "C002")

    # Reopened within the grace window, the same terminal finds the same number and position.
    again = await context.new_page()
    await again.goto(f"{base}/terminal")
    await again.wait_for_selector("body[data-ready='1']")
    await expect(again.locator("#waiting")).to_be_visible()
    await expect(again.locator("#ticket-number")).to_have_text("C002")
    await expect(again.locator("#ticket-position")).to_have_text("2")
    await expect(again.locator("#ticket-ahead")).to_have_text("1")
    await expect(row.locator(".badge-away")).to_have_count(0)

    # The operator may also give the place up; the desk sees the ticket go.
    await again.click("#leave-queue")
    await again.click("#leave-yes")
    await expect(again.locator("#register")).to_be_visible()
    await expect(again.locator("#register-message")).to_have_text("已取消排队（C002）。")
    await expect(row).to_have_count(0)
    await expect(first.locator("#ticket-position")).to_have_text("1")

    # The desk cancels the other ticket (the visitor gave up by phone): its terminal is told.
    await desk.locator("#line-urban tr[data-number='C001'] button[data-act=leave]").click()
    await desk.locator("#action-submit").click()
    await expect(first.locator("#queue-message")).to_contain_text("排队已失效")
    await expect(first.locator("#ticket-place")).to_be_hidden()


async def test_priority_tickets_follow_the_quota_under_load(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    # Arrival order N P N P P P N P: priority has a head start, but after three priority calls
    # in a row the longest-waiting normal ticket goes next (priority_quota = 3).
    arrivals = [
        ("normal", "陈一"),
        ("priority", "林二"),
        ("normal", "黄三"),
        ("priority", "周四"),
        ("priority", "吴五"),
        ("priority", "郑六"),
        ("normal", "王七"),
        ("priority", "冯八"),
    ]
    for i, (klass, name) in enumerate(arrivals):
        number = await register_walk_in(
            desk,
            name=name,
            id_number=valid_id_number(f"32010219600101{i + 1:03d}"),
            line="urban",
            klass=klass,
            reason=("elderly", "disabled", "pregnant", "veteran")[i % 4],
        )
        assert number == f"C{i + 1:03d}"
    await expect(desk.locator(".tile[data-line='urban'] .tile-count")).to_have_text("8")

    officer = await open_as(browser, base, "officer-urban")
    queue = officer.locator("#queues li")
    await expect(queue).to_have_count(8)
    await expect(officer.locator("#queues li[data-number='C002'] .badge-priority")).to_have_text(
        "优先"
    )
    await expect(officer.locator("#queues li[data-number='C001'] .badge")).to_have_count(0)
    expected = ["C002", "C004", "C005", "C001", "C006", "C008", "C003", "C007"]
    served = [await serve_next(officer) for _ in expected]
    assert served == expected
    await expect(officer.locator("#call-log li .number")).to_have_text(expected)
    await expect(queue).to_have_count(0)
    await officer.click("#call-next")
    await expect(officer.locator("#call-error")).to_have_text("当前没有可叫的排队号")


async def test_terminal_position_and_estimate_follow_the_queue(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    for i, name in enumerate(("刘一", "刘二")):
        await register_walk_in(
            desk, name=name, id_number=valid_id_number(f"51010219750101{i + 1:03d}"), line="urban"
        )
    village = await open_as(browser, base, "village-zhangzhuang")
    number = await register_at_terminal(
        village, name="张三", id_number=valid_id_number("51010219750101009"), line="urban"
    )
    assert number == "C003"
    position = village.locator("#ticket-position")
    estimate = village.locator("#ticket-estimate")
    await expect(position).to_have_text("3")
    await expect(village.locator("#ticket-ahead")).to_have_text("2")
    # Before any visit, the assumed handle time (10 min) × 2 ahead ÷ 1 officer.
    await expect(estimate).to_have_text("约 20 分钟内")

    officer = await open_as(browser, base, "officer-urban")
    assert await serve_next(officer) == "C001"
    await expect(position).to_have_text("2")
    await expect(village.locator("#ticket-ahead")).to_have_text("1")
    # Now measured from the (short) visit just held.
    await expect(estimate).to_have_text("即将轮到您")
    assert await serve_next(officer) == "C002"
    await expect(position).to_have_text("1")
    await expect(village.locator("#ticket-ahead")).to_have_text("0")

    # The terminal's turn: the call starts on both sides.
    await officer.click("#call-next")
    await expect(officer.locator("#visit-ticket")).to_have_text("C003")
    await expect(village.locator("#call")).to_be_visible()


async def test_auto_offer_missed_call_and_transfer_on_console_and_terminal(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    supervisor = await (await browser.new_context()).new_page()
    await log_in(supervisor, base, "supervisor")
    me = await (await supervisor.request.get(f"{base}/api/me")).json()
    resp = await supervisor.request.put(
        f"{base}/api/lines/urban/auto-offer",
        data={"enabled": True},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert resp.ok, await resp.text()

    officer = await open_as(browser, base, "officer-urban")
    state = officer.locator("#officer-state")
    await expect(state).to_have_text("就绪")
    await officer.select_option("#away-reason", "meeting")
    await officer.click("#state-away")
    await expect(state).to_have_text("暂离 · 开会")

    village = await open_as(browser, base, "village-zhangzhuang")
    await register_at_terminal(
        village, name="张三", id_number=valid_id_number("61010219650101001"), line="urban"
    )
    await expect(officer.locator("#queues li[data-number='C001']")).to_be_visible()
    await expect(officer.locator("#offer-panel")).to_be_hidden()

    # Back from the meeting: the waiting ticket is offered, with a countdown, and accepted.
    await officer.click("#state-available")
    offer = officer.locator("#offer-panel")
    await expect(offer).to_be_visible()
    await expect(officer.locator("#offer-number")).to_have_text("C001")
    countdown = int((await officer.locator("#offer-countdown").text_content()) or "0")
    assert 0 < countdown <= 20
    await officer.click("#offer-accept")
    await expect(offer).to_be_hidden()
    await expect(officer.locator("#visit-ticket")).to_have_text("C001")
    await expect(state).to_have_text("接访中")
    await expect(village.locator("#call")).to_be_visible()

    # 过号: the call ends and the terminal waits again, its place kept.
    await officer.click("#visit-missed")
    await expect(officer.locator("#ended-title")).to_have_text("已过号")
    await expect(officer.locator("#ended-text")).to_contain_text("C001 已过号（第 1 次）")
    await expect(state).to_have_text("整理中")
    await expect(officer.locator("#wrap-countdown")).to_contain_text("秒后自动就绪")
    await expect(village.locator("#waiting")).to_be_visible()
    await expect(village.locator("#queue-message")).to_have_text("未能接通，已为您保留排队位置")
    await expect(village.locator("#ticket-position")).to_have_text("1")
    await expect(officer.locator("#queues li[data-number='C001'] .badge-missed")).to_have_text(
        "过号 1"
    )

    # Offered again once the officer is ready; declined: the officer is set away.
    await officer.click("#state-available")
    await expect(officer.locator("#offer-number")).to_have_text("C001")
    await officer.click("#offer-decline")
    await expect(offer).to_be_hidden()
    await expect(officer.locator("#offer-message")).to_contain_text("已拒绝 C001")
    await expect(state).to_have_text("暂离 · 拒接")

    # Ready again, accepted, and transferred during the visit: the terminal follows.
    await officer.click("#state-available")
    await expect(officer.locator("#offer-number")).to_have_text("C001")
    await officer.click("#offer-accept")
    await expect(village.locator("#call")).to_be_visible()
    await officer.select_option("#transfer-line", "enterprise")
    await officer.click("#visit-transfer")
    await expect(officer.locator("#visit-error")).to_contain_text("请写明转办原因")
    await officer.fill("#transfer-reason", "属企业欠薪纠纷")
    await officer.click("#visit-transfer")
    await expect(officer.locator("#ended-title")).to_have_text("已转线")
    await expect(officer.locator("#ended-text")).to_contain_text("新排队号 B001")
    await expect(officer.locator("#call-log li .result")).to_have_text(["过号", "转至企业 B001"])
    await expect(village.locator("#waiting")).to_be_visible()
    await expect(village.locator("#ticket-number")).to_have_text("B001")
    await expect(village.locator("#ticket-line")).to_have_text("企业接谈室")
    await expect(village.locator("#queue-message")).to_contain_text("新排队号 B001")
    await expect(village.locator("#ticket-position")).to_have_text("1")


async def test_no_show_after_missed_calls_and_the_desk_reactivates_it(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    village = await open_as(browser, base, "village-wangqiao")
    await register_at_terminal(
        village,
        name="王五",
        id_number=valid_id_number("61010219400101003"),
        line="urban",
        priority="elderly",
    )
    officer = await open_as(browser, base, "officer-urban")
    await expect(officer.locator("#queues li[data-number='C001'] .badge-priority")).to_be_visible()
    desk = await open_as(browser, base, "desk")
    # missed_max = 2: the third missed call makes a no-show.
    for attempt in (1, 2, 3):
        await officer.click("#call-next")
        await expect(officer.locator("#visit-ticket")).to_have_text("C001")
        await expect(village.locator("#call")).to_be_visible()
        await officer.click("#visit-missed")
        await expect(officer.locator("#ended-title")).to_have_text("已过号")
        told = "C001 已过号 3 次，转为未到" if attempt == 3 else f"C001 已过号（第 {attempt} 次）"
        await expect(officer.locator("#ended-text")).to_contain_text(told)
        await expect(village.locator("#waiting")).to_be_visible()
    await expect(village.locator("#queue-message")).to_have_text("多次未接通，请联系登记分流区")
    await expect(village.locator("#ticket-place")).to_be_hidden()

    no_show = desk.locator("#no-shows tr[data-number='C001']")
    await expect(no_show).to_contain_text("城建")
    await expect(no_show).to_contain_text("王*")
    await no_show.locator("button[data-act=reactivate]").click()
    await expect(no_show).to_have_count(0)
    await expect(desk.locator("#line-urban tr[data-number='C001']")).to_be_visible()
    await expect(village.locator("#ticket-place")).to_be_visible()
    await expect(village.locator("#ticket-position")).to_have_text("1")
    await expect(village.locator("#queue-message")).to_be_hidden()
