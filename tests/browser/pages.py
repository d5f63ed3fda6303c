"""Small page helpers for the browser tests: log in, and watch a <video> play."""

from __future__ import annotations

from playwright.async_api import Page

from hall.demo import DEMO_PASSWORD


async def log_in(page: Page, base: str, username: str) -> None:
    """Log in through the real form, as a person would."""
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", DEMO_PASSWORD)
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
