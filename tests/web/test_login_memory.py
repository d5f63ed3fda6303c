"""Memory before login (issue 8): a client that has failed its logins and then sends 1,000
logins with random 512 KB usernames must not grow the real server process by 5 MiB."""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp

from tests.web.test_durability import start

LONG = 512 * 1024
MiB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    """The resident set of process `pid` (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def flood(http: aiohttp.ClientSession, base: str, token: str, count: int) -> set[int]:
    """`count` logins, each with a new random 512 KB username; the statuses answered."""
    statuses = set()
    for _ in range(count):
        username = secrets.token_hex(8) + "x" * LONG
        form = {"username": username, "password": "guess-guess", "csrf_token": token}
        async with http.post(f"{base}/login", data=form) as resp:
            statuses.add(resp.status)
            await resp.read()
    return statuses


async def test_a_thousand_huge_usernames_do_not_grow_the_server(tmp_path: Path) -> None:
    server = await start(tmp_path / "var")
    try:
        # unsafe=True keeps the cookies of an IP-address host like 127.0.0.1.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{server.base}/login") as page:
                html = await page.text()
            token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            for i in range(6):
                form = {"username": f"guess{i}", "password": "guess-guess", "csrf_token": token}
                async with http.post(f"{server.base}/login", data=form) as resp:
                    assert resp.status in (401, 429)
            await flood(http, server.base, token, 200)  # warm-up: buffers, caches, arenas
            before = rss_bytes(server.process.pid)
            statuses = await flood(http, server.base, token, 1000)
            after = rss_bytes(server.process.pid)
        assert after - before < 5 * MiB, f"grew {(after - before) / MiB:.1f} MiB"
        assert statuses == {422}
    finally:
        server.process.terminate()
        await server.process.wait()
