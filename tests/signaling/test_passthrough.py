"""The pass-through hook: fails loudly if the aiortc internals it relies on change."""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiortc
import av
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from signaling.passthrough import (
    check_aiortc_internals,
    get_passthrough_decoder,
    install_passthrough,
    is_passthrough_installed,
    is_vp8_keyframe,
)


def test_aiortc_is_the_pinned_version_with_the_internals_the_hook_uses() -> None:
    assert aiortc.__version__ == "1.16.0"
    worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
    assert "decoder = get_decoder(codec)" in worker
    assert "frames = decoder.decode(encoded_frame)" in worker
    assert "output_q.put(frame)" in worker
    assert inspect.signature(JitterFrame).parameters.keys() == {"data", "timestamp"}
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) == [
        "self",
        "media_ssrc",
    ]
    assert callable(RTCRtpReceiver.getSynchronizationSources)
    assert check_aiortc_internals() == []


def test_install_is_idempotent_and_replaces_the_decoder_factory() -> None:
    install_passthrough()
    hook = vars(rtcrtpreceiver)["get_decoder"]
    install_passthrough()
    assert vars(rtcrtpreceiver)["get_decoder"] is hook is get_passthrough_decoder
    assert is_passthrough_installed()


def test_keyframe_flag_matches_the_vp8_encoder(sample_webm: Path) -> None:
    flags: list[tuple[bool, bool]] = []
    with av.open(str(sample_webm)) as container:
        for packet in container.demux(video=0):
            if packet.size:
                flags.append((is_vp8_keyframe(bytes(packet)), bool(packet.is_keyframe)))
    assert len(flags) >= 250
    assert all(ours == encoder for ours, encoder in flags)
    assert sum(ours for ours, _ in flags) >= 9  # one keyframe per second


def _run_decoder_worker(codec: RTCRtpCodecParameters, frames: list[JitterFrame]) -> list[Any]:
    """Feed frames through aiortc's real decoder thread; return what it put on the track queue."""
    install_passthrough()
    loop = asyncio.new_event_loop()
    try:
        output: asyncio.Queue[Any] = asyncio.Queue()
        inputs: queue.Queue[Any] = queue.Queue()
        for frame in frames:
            inputs.put((codec, frame))
        inputs.put(None)
        worker = threading.Thread(
            target=rtcrtpreceiver.decoder_worker,
            args=(loop, inputs, output, threading.Event()),
        )
        worker.start()
        items: list[Any] = []

        async def drain() -> None:
            while (item := await output.get()) is not None:
                items.append(item)

        loop.run_until_complete(asyncio.wait_for(drain(), timeout=10))
        worker.join(timeout=10)
        assert not worker.is_alive()
        return items
    finally:
        loop.close()


def test_decoder_thread_yields_encoded_vp8_packets(sample_webm: Path) -> None:
    with av.open(str(sample_webm)) as container:
        payloads = [bytes(p) for p in container.demux(video=0) if p.size][:40]
    frames = [JitterFrame(data=data, timestamp=i * 3000) for i, data in enumerate(payloads)]
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    packets = _run_decoder_worker(codec, frames)
    assert len(packets) == len(payloads)
    assert all(isinstance(p, av.Packet) for p in packets)
    assert [bytes(p) for p in packets] == payloads
    assert [p.pts for p in packets] == [i * 3000 for i in range(len(payloads))]
    assert all(p.time_base == Fraction(1, 90000) for p in packets)
    assert packets[0].is_keyframe
    assert [p.is_keyframe for p in packets] == [is_vp8_keyframe(d) for d in payloads]


def test_decoder_thread_yields_opus_packets_and_drops_other_codecs(sample_webm: Path) -> None:
    with av.open(str(sample_webm)) as container:
        payloads = [bytes(p) for p in container.demux(audio=0) if p.size][:20]
    frames = [JitterFrame(data=data, timestamp=i * 960) for i, data in enumerate(payloads)]
    opus = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111
    )
    packets = _run_decoder_worker(opus, frames)
    assert [bytes(p) for p in packets] == payloads
    assert all(p.time_base == Fraction(1, 48000) and p.is_keyframe for p in packets)

    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    assert _run_decoder_worker(h264, frames) == []  # dropped, and the thread still ended cleanly
