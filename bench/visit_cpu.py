"""Server CPU during one recorded 1:1 video visit (the baseline later issues improve).

Starts `hall serve` in its own process (pinned to one core when `taskset` exists), plays a village
terminal and an officer from this process with aiortc peers sending pre-encoded VP8 + Opus
(cheaper than the server under test), runs the visit for --seconds, and reads the server's CPU
time from /proc. Prints figures, the last line `visit.cpu_s_per_stream_minute=<number>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signaling.passthrough import install_passthrough  # noqa: E402
from tests.media_fixtures import PlayerClient, make_sample_webm  # noqa: E402
from tests.support import valid_id_number  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own user+system, waited-for children user+system) CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / TICK
    children = (int(fields[13]) + int(fields[14])) / TICK
    return own, children


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Actor:
    """A logged-in user of the hall: HTTP session, CSRF token, signaling socket."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.nextref = 0

    async def login(self, username: str) -> None:
        async with self.http.get(f"{self.base}/login") as page:
            html = await page.text()
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with self.http.post(
            f"{self.base}/login",
            data={"username": username, "password": "jiefang-demo", "csrf_token": token},
        ) as resp:
            resp.raise_for_status()
        async with self.http.get(f"{self.base}/api/me") as resp:
            self.csrf = (await resp.json())["csrf_token"]
        self.ws = await self.http.ws_connect(f"{self.base}/ws")
        await self.ws.receive_json()

    async def post(self, path: str, body: Any = None) -> Any:
        async with self.http.post(
            f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}
        ) as resp:
            data = await resp.json()
            if resp.status >= 400:
                raise RuntimeError(f"{path}: {resp.status} {data}")
            return data

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.base}{path}") as resp:
            return await resp.json()

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        self.nextref += 1
        await self.ws.send_str(json.dumps({**frame, "ref": self.nextref}))
        while True:
            data: dict[str, Any] = await self.ws.receive_json(timeout=10)
            if data.get("ref") == self.nextref:
                if data["type"] == "error":
                    raise RuntimeError(str(data["error"]))
                return data

    async def connect_media(self, room: str, peer: PlayerClient) -> None:
        await self.request({"type": "join", "room": room})
        sdp, _ = await peer.offer()
        answer = await self.request({"type": "offer", "room": room, "sdp": sdp})
        await peer.accept(answer["sdp"], answer["sdp_type"])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


async def run(seconds: float, media: Path, data_dir: Path, pin: bool) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "web.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "1", *cmd]
        os.sched_setaffinity(0, {0})
    server = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert server.stdout is not None
    while b"serving on" not in await asyncio.wait_for(server.stdout.readline(), 60):
        pass
    drain = asyncio.create_task(server.stdout.read())
    terminal, officer = Actor(base), Actor(base)
    village_peer = officer_peer = None
    try:
        await terminal.login("village-zhangzhuang")
        await officer.login("officer-urban")
        await terminal.post(
            "/api/visit-requests",
            {
                "name": "张三",
                "id_number": valid_id_number(),
                "phone": "13800138000",
                "village_id": 1,
                "head_count": 1,
                "summary": "基准测试",
                "line": "urban",
            },
        )
        called = await officer.post("/api/queue/call-next")
        village_peer, officer_peer = PlayerClient(media), PlayerClient(media)
        await officer.connect_media(called["room"], officer_peer)
        await terminal.connect_media(called["room"], village_peer)
        await asyncio.sleep(5.0)  # warm-up: ICE, DTLS, first keyframes
        before_cpu, _ = cpu_seconds(server.pid)
        before_at = time.monotonic()
        before_frames = [len(p.received["video"]) for p in (village_peer, officer_peer)]
        await asyncio.sleep(seconds)
        after_cpu, _ = cpu_seconds(server.pid)
        wall = time.monotonic() - before_at
        frames = [
            (len(p.received["video"]) - n) / wall
            for p, n in zip((village_peer, officer_peer), before_frames, strict=True)
        ]
        rss = rss_mb(server.pid)
        ended_at = time.monotonic()
        result = await officer.post(
            f"/api/visits/{called['visit_id']}/end", {"outcome": "answered"}
        )
        for _ in range(600):
            case = await officer.get(f"/api/cases/{result['case_id']}")
            states = [r["state"] for v in case["visits"] for r in v["recordings"]]
            if states and all(s != "processing" for s in states):
                break
            await asyncio.sleep(0.2)
        post_wall = time.monotonic() - ended_at
        _, children_cpu = cpu_seconds(server.pid)
        cpu = after_cpu - before_cpu
        return {
            "wall_s": wall,
            "server_cpu_s": cpu,
            "cpu_percent_of_core": 100 * cpu / wall,
            "cpu_s_per_stream_minute": cpu / (2 * wall / 60),
            "village_fps": frames[0],
            "officer_fps": frames[1],
            "server_rss_mb": rss,
            "postprocess_wall_s": post_wall,
            "postprocess_ffmpeg_cpu_s": children_cpu,
            "recordings_ready": float(all(s == "ready" for s in states)),
        }
    finally:
        for peer in (village_peer, officer_peer):
            if peer is not None:
                await peer.close()
        await terminal.close()
        await officer.close()
        server.send_signal(signal.SIGTERM)
        await server.wait()
        drain.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured call length")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/client cores")
    args = parser.parse_args()
    install_passthrough()  # the load generator must not decode what it receives either
    with tempfile.TemporaryDirectory(prefix="jf-bench-") as tmp:
        media = make_sample_webm(Path(tmp) / "sample.webm", seconds=args.seconds + 20)
        figures = asyncio.run(run(args.seconds, media, Path(tmp) / "data", not args.no_pin))
    print(f"1:1 recorded visit, {figures['wall_s']:.0f} s, server pinned to one core")
    for key, value in figures.items():
        if key != "cpu_s_per_stream_minute":
            print(f"visit.{key}={value:.2f}")
    print(f"visit.cpu_s_per_stream_minute={figures['cpu_s_per_stream_minute']:.2f}")


if __name__ == "__main__":
    main()
