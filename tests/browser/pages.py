"""Small page helpers for the browser tests: log in, watch a <video> play, register at the
desk or a terminal, serve the next ticket on the console."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from hall.demo import DEMO_PASSWORD


async def log_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form, as a person would."""
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")


async def video_frames(page: Page, selector: str) -> dict[str, float]:
    """What the <video> shows: its size, playback time and decoded frame count."""
    result: dict[str, float] = await page.eval_on_selector(
        selector,
        """v => ({width: v.videoWidth, height: v.videoHeight, time: v.currentTime,
                  frames: v.getVideoPlaybackQuality().totalVideoFrames,
                  audio: v.srcObject ? v.srcObject.getAudioTracks().length : 0})""",
    )
    return result


async def wait_playing(page: Page, selector: str, timeout_ms: int = 20000) -> None:
    """Wait until the video has a picture and its frames advance."""
    await page.wait_for_function(
        f"""() => {{ const v = document.querySelector('{selector}');
                    return v && v.videoWidth > 0 && v.currentTime > 0.5; }}""",
        timeout=timeout_ms,
    )


def base_url(server: TestServer) -> str:
    """The test server's address without the trailing slash."""
    return str(server.make_url("")).rstrip("/")


async def open_as(browser: Browser, base: str, username: str) -> Page:
    """A page in a fresh browser context (its own cookies), logged in and ready."""
    page = await (await browser.new_context()).new_page()
    await log_in(page, base, username)
    await page.wait_for_selector("body[data-ready='1']")
    return page


async def register_walk_in(
    desk: Page,
    *,
    name: str,
    id_number: str,
    line: str,
    klass: str = "normal",
    reason: str = "elderly",
    approver: str = "leader",
) -> str:
    """Register a walk-in on the desk page; returns the ticket number it was given."""
    await desk.fill("#register-form input[name=name]", name)
    await desk.fill("#register-form input[name=id_number]", id_number)
    await desk.fill("#register-form input[name=phone]", "13900139000")
    await desk.select_option("#register-form select[name=line]", line)
    await desk.fill("#register-form textarea[name=summary]", f"{name}反映的事项")
    await desk.check(f"#register-form input[name=priority_class][value={klass}]")
    if klass == "priority":
        await desk.select_option("#register-form select[name=priority_reason_select]", reason)
    elif klass == "urgent":
        await desk.fill("#register-form input[name=priority_reason_text]", reason)
        await desk.fill("#register-form input[name=approver]", approver)
    await desk.click("#register-submit")
    await expect(desk.locator("#issued")).to_be_visible()
    return (await desk.locator("#issued-number").text_content()) or ""


async def register_at_terminal(
    page: Page, *, name: str, id_number: str, line: str, priority: str | None = None
) -> str:
    """Register a remote visit on the terminal page; returns the ticket number."""
    await page.fill("input[name=name]", name)
    await page.fill("input[name=id_number]", id_number)
    await page.fill("input[name=phone]", "13800138000")
    await page.select_option("select[name=line]", line)
    await page.fill("textarea[name=summary]", f"{name}反映的事项")
    if priority is not None:
        await page.check("#priority")
        await page.select_option("select[name=priority_reason]", priority)
    await page.click("#start-visit")
    await expect(page.locator("#waiting")).to_be_visible()
    return (await page.locator("#ticket-number").text_content()) or ""


async def serve_next(officer: Page, *, outcome: str = "answered") -> str:
    """On the console: call the next ticket, end the visit at once; returns its number."""
    calls_before = await officer.locator("#call-log li").count()
    await officer.click("#call-next")
    await expect(officer.locator("#visit-panel")).to_be_visible()
    await expect(officer.locator("#call-log li")).to_have_count(calls_before + 1)
    number = (await officer.locator("#visit-ticket").text_content()) or ""
    await officer.select_option("#outcome", outcome)
    await officer.click("#end-visit")
    await expect(officer.locator("#ended-panel")).to_be_visible()
    await expect(officer.locator("#call-next")).to_be_enabled()
    return number


# Chromium's offline emulation blocks new connections but leaves an open WebSocket alone, so a
# network drop is the emulation plus closing the sockets the page holds (recorded from the start).
TRACK_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__socketTimes = [];  // performance.now() of each socket's creation
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
      window.__socketTimes.push(performance.now());
    }
  };
})();
"""


async def open_tracking_sockets(browser: Browser, base: str, username: str) -> Page:
    """Like `open_as`, but the page's WebSockets can later be dropped with `drop_network`."""
    context = await browser.new_context()
    await context.add_init_script(TRACK_SOCKETS)
    page = await context.new_page()
    await log_in(page, base, username)
    await page.wait_for_selector("body[data-ready='1']")
    return page


async def drop_network(page: Page) -> None:
    """Take the page's context offline and cut its open WebSockets."""
    await page.context.set_offline(True)
    await page.evaluate("() => window.__sockets.forEach((ws) => ws.close())")
