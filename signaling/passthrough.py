"""The one place that touches aiortc internals (pinned to aiortc 1.16.0).

Owns the pass-through "decoder" hook that makes remote tracks yield encoded ``av.Packet``s, and the
helpers that route RTCP keyframe requests (PLI/FIR) between senders and receivers.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import aiortc
import av
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame

logger = logging.getLogger(__name__)

PINNED_AIORTC_VERSION = "1.16.0"
VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_TIME_BASE = Fraction(1, 48000)

# Marks our replacement so that install_passthrough() is idempotent without a module-level flag.
_MARKER = "_jiefang_passthrough"


def is_vp8_keyframe(frame: bytes) -> bool:
    """True if a depayloaded VP8 frame is a key frame (RFC 6386 §9.1: frame tag bit 0 is 0)."""
    return len(frame) > 0 and (frame[0] & 0x01) == 0


class PassthroughDecoder:
    """Stands in for aiortc's decoders: turns a reassembled JitterFrame into one ``av.Packet``.

    Runs in aiortc's decoder thread; it must stay cheap and must not touch the event loop.
    """

    def __init__(self, kind: str, time_base: Fraction) -> None:
        self.kind = kind
        self.time_base = time_base

    def decode(self, encoded_frame: JitterFrame) -> list[av.Packet[Any]]:
        data: bytes = encoded_frame.data
        if not data:
            return []
        packet = av.Packet(data)
        packet.pts = encoded_frame.timestamp
        packet.dts = encoded_frame.timestamp
        packet.time_base = self.time_base
        # Opus frames are all independently decodable; VP8 carries the flag in its frame tag.
        packet.is_keyframe = self.kind == "audio" or is_vp8_keyframe(data)
        return [packet]


class DroppingDecoder:
    """Used for a codec we did not negotiate: logs once and drops, so the aiortc thread lives on."""

    def __init__(self, mime_type: str) -> None:
        self.mime_type = mime_type
        self._logged = False

    def decode(self, encoded_frame: JitterFrame) -> list[av.Packet[Any]]:
        if not self._logged:
            logger.error("passthrough: dropping frames of unsupported codec %s", self.mime_type)
            self._logged = True
        return []


def get_passthrough_decoder(codec: Any) -> PassthroughDecoder | DroppingDecoder:
    """Replacement for ``aiortc.codecs.get_decoder``: VP8 and Opus pass through, others drop.

    Raising here would kill aiortc's decoder thread and leave its input queue growing, so an
    unexpected codec is logged and dropped instead.
    """
    mime_type = str(codec.mimeType).lower()
    if mime_type == "video/vp8":
        return PassthroughDecoder("video", VIDEO_TIME_BASE)
    if mime_type == "audio/opus":
        return PassthroughDecoder("audio", AUDIO_TIME_BASE)
    return DroppingDecoder(mime_type)


setattr(get_passthrough_decoder, _MARKER, True)  # noqa: B010 - attribute on a function object


def check_aiortc_internals() -> list[str]:
    """Return what is missing from the aiortc internals this module relies on (empty = fine)."""
    problems: list[str] = []
    if aiortc.__version__ != PINNED_AIORTC_VERSION:
        problems.append(
            f"aiortc {aiortc.__version__} is installed, the pass-through hook is pinned to "
            f"{PINNED_AIORTC_VERSION}"
        )
    worker = getattr(rtcrtpreceiver, "decoder_worker", None)
    if worker is None:
        problems.append("aiortc.rtcrtpreceiver.decoder_worker is gone")
    else:
        source = inspect.getsource(worker)
        for needle in ("get_decoder(codec)", "decoder.decode(encoded_frame)"):
            if needle not in source:
                problems.append(f"decoder_worker no longer calls {needle}")
    if not hasattr(rtcrtpreceiver, "get_decoder"):
        problems.append("aiortc.rtcrtpreceiver has no module-level get_decoder")
    frame = JitterFrame(data=b"\x00", timestamp=0)
    if not (hasattr(frame, "data") and hasattr(frame, "timestamp")):
        problems.append("JitterFrame lost its data/timestamp attributes")
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        problems.append("RTCRtpSender._send_keyframe is gone")
    elif "self._send_keyframe()" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender._handle_rtcp_packet no longer calls self._send_keyframe()")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli is gone")
    if not callable(getattr(RTCRtpReceiver, "getSynchronizationSources", None)):
        problems.append("RTCRtpReceiver.getSynchronizationSources is gone")
    return problems


def install_passthrough() -> None:
    """Make every aiortc receiver in this process yield encoded ``av.Packet``s (idempotent).

    Raises RuntimeError naming what changed if aiortc is not the version this hook was written for.
    """
    if is_passthrough_installed():
        return
    problems = check_aiortc_internals()
    if problems:
        raise RuntimeError("cannot install the media pass-through: " + "; ".join(problems))
    rtcrtpreceiver.get_decoder = get_passthrough_decoder  # type: ignore[attr-defined,assignment]
    logger.info("passthrough: aiortc receivers now forward encoded packets")


def is_passthrough_installed() -> bool:
    """True once install_passthrough() has replaced aiortc's decoder factory."""
    return bool(getattr(getattr(rtcrtpreceiver, "get_decoder", None), _MARKER, False))


def forward_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Route PLI/FIR received by ``sender`` to ``request``.

    aiortc answers PLI/FIR by forcing its encoder to emit a keyframe, a no-op for pre-encoded
    packets; the request has to travel to the publisher instead.
    """
    sender._send_keyframe = request  # type: ignore[method-assign]


def media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC a receiver most recently got media from, or None before the first packet."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    latest = max(sources, key=lambda source: source.timestamp)
    return int(latest.source)


async def send_picture_loss(receiver: RTCRtpReceiver) -> bool:
    """Send an RTCP PLI to the publisher behind ``receiver``; False if no media SSRC is known."""
    ssrc = media_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True
