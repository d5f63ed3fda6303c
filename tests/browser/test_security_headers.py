"""Every page under the hall's content security and permissions policies in real Chromium: each
role opens its pages, none of them trips the policy (no "Refused to …" console message, no
`securitypolicyviolation` event, no script error), and the pages still work — the WebSocket
connects, the slip prints, the figures lay out, only the terminal and console get the camera."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.browser.pages import base_url, log_in
from tests.document_fixtures import png, upload, upload_form
from tests.support import api_clients, registration, valid_id_number
from tests.web.test_case_transitions import FixedClock
from web.app import create_app
from web.config import Config

pytestmark = pytest.mark.browser

# Reports every policy violation of every page of a context to the test (survives navigation);
# `print` is recorded instead of opening the dialog, so the print buttons can be checked.
WATCH = """
document.addEventListener("securitypolicyviolation", (e) =>
  window.__violation(`${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI}`));
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""
CAMERA = """() => navigator.mediaDevices.getUserMedia({video: true, audio: true}).then(
  (stream) => { stream.getTracks().forEach((t) => t.stop()); return "granted"; },
  (err) => err.name)"""
# Chromium 156 words a violation "… violates the following Content Security Policy directive"; older
# versions "Refused to …".
POLICY_WORDS = ("Content Security Policy", "Refused to", "Permissions-Policy", "Permissions policy")


@dataclass
class Watched:
    """A logged-in page and what its context reported."""

    page: Page
    violations: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def trouble(self) -> list[str]:
        policy = [m for m in self.messages if any(w in m for w in POLICY_WORDS)]
        return self.violations + policy + self.errors


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    """The app on a Monday in March 2026: the cases' deadlines lie in the calendar's years."""
    srv = TestServer(create_app(config, clock=FixedClock()))
    async with srv:
        yield srv


@dataclass(frozen=True)
class Data:
    ticket_id: int
    accepted_case: int  # with an acceptance notice and an evidence photo
    assigned_case: int  # assigned to 县住建局 (dept-zhujian)


async def prepare(server: TestServer) -> Data:
    async with api_clients(server, "desk", "officer-urban") as (desk, officer):
        made = []
        for n in (1, 2):
            body = registration(id_number=valid_id_number(f"41010219800101{n:03d}"), name=f"周{n}")
            created = await desk.post("/api/visit-requests", body, status=201)
            assert isinstance(created, dict)
            made.append(created)
        accepted, assigned = (int(c["case_id"]) for c in made)
        await upload(desk, accepted, upload_form(png(64, 48), "现场.png", content_type="image/png"))
        triage = {"to": "triaged", "reason": "分流至城建"}
        accept: dict[str, object] = {
            "to": "accepted",
            "reason": "依法受理",
            "classification": "claim",
            "claim_type": 1,
        }
        assign = {
            "to": "assigned",
            "reason": "交县住建局办理",
            "classification": "suggestion",
            "department": "zhujian",
        }
        for case_id, steps in ((accepted, (triage, accept)), (assigned, (triage, assign))):
            for step in steps:
                await officer.post(f"/api/cases/{case_id}/transitions", step)
        return Data(int(made[0]["ticket"]["id"]), accepted, assigned)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def watched(browser: Browser, base: str, username: str | None) -> Watched:
    context = await browser.new_context()
    page = await context.new_page()
    seen = Watched(page)

    def on_violation(text: str) -> None:
        seen.violations.append(text)

    def on_console(message: ConsoleMessage) -> None:
        seen.messages.append(f"{page.url}: {message.type}: {message.text}")

    await context.expose_function("__violation", on_violation)
    await context.add_init_script(WATCH)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(f"{page.url}: {error}"))
    if username is not None:
        await log_in(page, base, username)
    return seen


async def visit(seen: Watched, url: str, *, ready: bool = False) -> Page:
    """Open `url`; wait until the page says it is ready (its WebSocket is open) or the network
    is quiet; nothing may have tripped a policy."""
    page = seen.page
    resp = await page.goto(url)
    assert resp is not None and resp.status == 200, (url, resp and resp.status)
    if ready:
        await page.wait_for_selector("body[data-ready='1']")
    await page.wait_for_load_state("networkidle")
    assert not seen.trouble(), seen.trouble()
    return page


async def test_every_page_runs_under_the_policies(server: TestServer, browser: Browser) -> None:
    base = base_url(server)
    data = await prepare(server)
    accepted = f"{base}/cases/{data.accepted_case}"

    anonymous = await watched(browser, base, None)
    for path in ("/login", "/query"):
        await visit(anonymous, f"{base}{path}")

    terminal = await watched(browser, base, "village-zhangzhuang")
    page = await visit(terminal, f"{base}/terminal", ready=True)
    assert await page.evaluate(CAMERA) == "granted"

    officer = await watched(browser, base, "officer-urban")
    page = await visit(officer, f"{base}/console", ready=True)
    assert await page.evaluate(CAMERA) == "granted"
    await visit(officer, f"{base}/cases")
    page = await visit(officer, accepted)
    thumb = page.locator("img.thumb")
    await expect(thumb).to_have_count(1)
    assert await thumb.evaluate("(img) => img.complete && img.naturalWidth") == 64
    page = await visit(officer, f"{accepted}/notices/acceptance")
    assert (
        await page.locator(".toolbar").evaluate("(el) => getComputedStyle(el).borderTopStyle")
        == "solid"
    )  # notice.css applies
    await page.click("#print")
    assert await page.evaluate("window.__printed") == 1

    desk = await watched(browser, base, "desk")
    page = await visit(desk, f"{base}/desk", ready=True)
    assert await page.evaluate(CAMERA) == "NotAllowedError"  # no camera outside a call page
    await until(lambda: any("camera is not allowed" in m for m in desk.messages))
    desk.messages.clear()  # the refusal just asked for, not a page's fault
    slip = f"{base}/tickets/{data.ticket_id}/print"
    page = await visit(desk, slip)
    await expect(page.locator("#slip-number")).to_have_text("C001")
    assert await page.evaluate("window.__printed") == 0
    await page.click("#print-button")
    assert await page.evaluate("window.__printed") == 1
    page = await visit(desk, f"{slip}?print=1")
    await page.wait_for_function("window.__printed === 1")

    board = await watched(browser, base, "hall-board")
    await visit(board, f"{base}/board", ready=True)

    leader = await watched(browser, base, "leader")
    await visit(leader, f"{base}/console", ready=True)
    for path in ("/cases", "/supervisor/queues", "/supervisor/evaluations"):
        await visit(leader, f"{base}{path}")

    supervisor = await watched(browser, base, "supervisor")
    page = await visit(supervisor, f"{base}/supervisor/queues")
    grid = page.locator("#figures")
    assert await grid.evaluate("(el) => getComputedStyle(el).display") == "grid"
    await expect(grid.locator("section[data-line]")).to_have_count(8)  # total + seven lines
    day = page.locator(".day-picker input[type=date]")
    assert await day.evaluate("(el) => getComputedStyle(el).maxWidth") == "224px"
    page = await visit(supervisor, f"{base}/supervisor/evaluations")
    for selector in ("input[name=from]", "input[name=to]"):
        width = await page.locator(selector).evaluate("(el) => getComputedStyle(el).maxWidth")
        assert width == "224px", selector
    await visit(supervisor, f"{base}/desk", ready=True)
    await visit(supervisor, f"{base}/board", ready=True)
    await visit(supervisor, f"{base}/cases")

    admin = await watched(browser, base, "admin")
    await visit(admin, f"{base}/admin")
    for path in ("/admin/calendar", "/admin/departments", "/admin/users"):
        await visit(admin, f"{base}{path}", ready=True)

    department = await watched(browser, base, "dept-zhujian")
    await visit(department, f"{base}/cases")
    page = await visit(department, f"{base}/cases/{data.assigned_case}")
    await expect(page.locator("#department")).to_be_visible()

    # The watch itself works: an image from elsewhere is refused, and reported both ways.
    await anonymous.page.evaluate("new Image().src = 'https://elsewhere.invalid/x.png'")
    await until(lambda: bool(anonymous.violations))
    assert "img-src" in anonymous.violations[0], anonymous.violations
    assert any("Content Security Policy" in m for m in anonymous.messages), anonymous.messages
