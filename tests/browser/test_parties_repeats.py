"""Collective visits (集体访) and repeat detection (重信重访) in real Chromium: the terminal
registers two representatives and the officer's case page shows them masked; the same person
comes back with a near-identical matter, is shown 可能重复 and links it to the earlier case;
the desk registers a collective walk-in; an officer merges a case and undoes it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from hall.audit import AuditEntry
from hall.cases.tables import Case
from tests.browser.pages import base_url, open_as
from tests.support import valid_id_number
from web import keys

pytestmark = pytest.mark.browser

PERSON = valid_id_number("41010219650303123")
REPS = [valid_id_number(f"32010219750505{n:03d}") for n in (1, 2)]


def masked(id_number: str) -> str:
    return id_number[:3] + "*" * 11 + id_number[-4:]


async def fill_person(page: Page, *, summary: str, line: str = "grassroots") -> None:
    await page.fill("#register-form input[name=name]", "孙七")
    await page.fill("#register-form input[name=id_number]", PERSON)
    await page.fill("#register-form input[name=phone]", "13912345678")
    await page.select_option("#register-form select[name=line]", line)
    await page.fill("#register-form textarea[name=summary]", summary)


async def add_representatives(page: Page) -> None:
    await page.check("#register-form input[name=collective]")
    await page.fill("#register-form input[name=head_count]", "30")
    await page.click("#register-form .rep-add")
    rows = page.locator("#register-form .rep-row")
    await expect(rows).to_have_count(2)
    for n, id_number in enumerate(REPS):
        row = rows.nth(n)
        await row.locator("[name=rep_name]").fill(f"代表{n + 1}")
        await row.locator("[name=rep_id_number]").fill(id_number)
        await row.locator("[name=rep_phone]").fill("13700137000")


async def test_terminal_collective_visit_shows_masked_representatives_to_the_officer(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    terminal = await open_as(browser, base, "village-zhangzhuang")
    await fill_person(terminal, summary="征地补偿标准过低，三十户村民请求复核补偿")
    await add_representatives(terminal)
    await terminal.click("#start-visit")
    await expect(terminal.locator("#waiting")).to_be_visible()
    number = await terminal.locator("#ticket-case-number").text_content()
    assert number and number.startswith("JF")

    officer = await open_as(browser, base, "officer-grassroots")
    await officer.goto(f"{base}/cases")
    await officer.get_by_role("link", name=number).click()
    await expect(officer.locator("#collective-badge")).to_have_text("集体访")
    rows = officer.locator("#parties tbody tr")
    await expect(rows).to_have_count(4)
    for n, id_number in enumerate(REPS, start=1):
        row = officer.locator("#parties tr[data-role=representative]").nth(n - 1)
        await expect(row.locator(".party-name")).to_have_text(f"代表{n}")
        await expect(row.locator(".party-id")).to_have_text(masked(id_number))
        await expect(row.locator(".party-phone")).to_have_text("137****7000")
    await expect(officer.locator("#parties tr[data-role=proxy_agent]")).to_contain_text("代办员")
    assert REPS[0] not in await officer.content()
    # Revealing one representative shows the full number and leaves an audit entry.
    second = officer.locator("#parties tr[data-role=representative]").nth(1)
    await second.locator(".party-unmask").click()
    await expect(second.locator(".party-id")).to_have_text(REPS[1])
    async with server.app[keys.DB].reader() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry is not None and entry.action == "read_personal"


async def test_terminal_links_a_repeat_to_the_earlier_case(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    terminal = await open_as(browser, base, "village-zhangzhuang")
    await fill_person(terminal, summary="村里拖欠我家的土地征收补偿款三万元，请求尽快发放")
    await terminal.click("#start-visit")
    await expect(terminal.locator("#waiting")).to_be_visible()
    earlier = await terminal.locator("#ticket-case-number").text_content()
    assert earlier
    await terminal.click("#leave-queue")
    await terminal.click("#leave-yes")
    await expect(terminal.locator("#register")).to_be_visible()

    await fill_person(terminal, summary="土地征收补偿款三万元村里一直拖欠，请求尽快发放")
    await terminal.click("#start-visit")
    prompt = terminal.locator("#repeat-prompt")
    await expect(prompt).to_be_visible()
    await expect(prompt.locator("h2")).to_have_text("可能重复")
    row = prompt.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(earlier)
    await expect(row).to_contain_text("基层")
    await expect(row).to_contain_text("已登记")
    await expect(row.locator(".similarity")).to_have_text("74%")
    await row.locator(".repeat-link").click()
    await expect(terminal.locator("#waiting")).to_be_visible()
    await expect(terminal.locator("#ticket-case-number")).to_have_text(earlier)
    await expect(terminal.locator("#ticket-linked")).to_have_text("已并入已有事项")
    await expect(terminal.locator("#ticket-number")).to_have_text("A002")


async def test_an_ended_earlier_case_can_only_be_confirmed_as_new(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    terminal = await open_as(browser, base, "village-zhangzhuang")
    await fill_person(terminal, summary="村里拖欠我家的土地征收补偿款三万元，请求尽快发放")
    await terminal.click("#start-visit")
    await expect(terminal.locator("#waiting")).to_be_visible()
    earlier = await terminal.locator("#ticket-case-number").text_content()
    await terminal.click("#leave-queue")
    await terminal.click("#leave-yes")
    await expect(terminal.locator("#register")).to_be_visible()
    async with server.app[keys.DB].transaction() as session:  # the earlier case is 已办结
        case = await session.scalar(select(Case).where(Case.number == earlier))
        assert case is not None
        case.state = "closed"

    await fill_person(terminal, summary="土地征收补偿款三万元村里一直拖欠，请求尽快发放")
    await terminal.click("#start-visit")
    row = terminal.locator("#repeat-prompt tbody tr")
    await expect(row).to_contain_text("已办结")
    await expect(row.locator(".repeat-ended")).to_have_text("已结束，不能并入")
    await expect(row.locator(".repeat-link")).to_have_count(0)
    await terminal.click("#repeat-new")
    await expect(terminal.locator("#waiting")).to_be_visible()
    await expect(terminal.locator("#ticket-linked")).to_be_hidden()
    await expect(terminal.locator("#ticket-case-number")).not_to_have_text(earlier or "")


async def test_desk_registers_a_collective_walk_in_and_is_told_a_wrong_head_count(
    server: TestServer, browser: Browser
) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    await fill_person(desk, summary="小区电梯长期故障无人维修", line="urban")
    await add_representatives(desk)
    await desk.fill("#register-form input[name=head_count]", "2")
    await desk.click("#register-submit")
    await expect(desk.locator("#register-error")).to_contain_text(
        "来访人数（2）少于集体访登记的人数"
    )
    await expect(desk.locator("#register-form input[name=head_count]")).to_have_attribute(
        "aria-invalid", "true"
    )
    await desk.fill("#register-form input[name=head_count]", "12")
    await desk.click("#register-submit")
    await expect(desk.locator("#issued")).to_be_visible()
    await expect(desk.locator("#issued-case-number")).to_contain_text("JF")
    await expect(desk.locator("#issued-linked")).to_be_hidden()
    await expect(desk.locator("#register-form .rep-row")).to_have_count(0)  # the form is reset


async def test_officer_merges_a_case_and_undoes_it(server: TestServer, browser: Browser) -> None:
    base = base_url(server)
    desk = await open_as(browser, base, "desk")
    numbers = []
    for n, summary in enumerate(("小区电梯长期故障无人维修", "电梯故障多次报修无果")):
        await desk.fill("#register-form input[name=name]", f"居民{n}")
        await desk.fill(
            "#register-form input[name=id_number]", valid_id_number(f"11010519900307{n:03d}")
        )
        await desk.fill("#register-form input[name=phone]", "13900139000")
        await desk.select_option("#register-form select[name=line]", "urban")
        await desk.fill("#register-form textarea[name=summary]", summary)
        await desk.click("#register-submit")
        await expect(desk.locator("#issued")).to_be_visible()
        numbers.append(await desk.locator("#issued-case-number").text_content() or "")
    first, second = numbers

    officer = await open_as(browser, base, "officer-urban")
    await officer.goto(f"{base}/cases")
    await officer.get_by_role("link", name=second).click()
    await officer.fill("#merge-form input[name=into]", first)
    await officer.fill("#merge-form input[name=reason]", "同一部电梯的同一事项")
    async with officer.expect_navigation():
        await officer.click("#merge-form button[type=submit]")
    await expect(officer.locator("#merged-into")).to_contain_text(f"本事项已并入 {first}")
    await officer.get_by_role("link", name=first).click()
    await expect(officer.locator("#merged-cases")).to_contain_text(second)
    # The second case's waiting ticket is served for the first one now.
    await expect(officer.locator("#tickets tbody tr")).to_have_count(2)
    await expect(officer.locator("#tickets")).not_to_contain_text(second)
    await expect(officer.locator(".timeline")).to_contain_text("他案并入本事项")

    await officer.get_by_role("link", name=second).first.click()
    await officer.fill("#undo-merge-form input[name=reason]", "合并有误")
    async with officer.expect_navigation():
        await officer.click("#undo-merge-form button[type=submit]")
    await expect(officer.locator("#merged-into")).to_have_count(0)
    await expect(officer.locator("#merge-form")).to_be_visible()
    await expect(officer.locator("#tickets tbody tr")).to_have_count(1)  # back with the undo
