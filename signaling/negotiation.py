"""Server-initiated renegotiation: what a server offer carries and how its SDP is pinned.

Owns the codec and header-extension parameters a peer connection keeps for its whole life (the
ones of its first negotiation, i.e. the browser's payload types and extension ids), and the
rewriting of every later server offer to them. aiortc's createOffer() numbers codecs and header
extensions its own way (VP8 = 97, mid = 1); a browser's numbering differs (VP8 = 96, mid = 4), and
re-offering an existing m-section with other numbers would make the browser send with payload
types the hub's running receivers do not know, while new m-sections numbered differently from the
old ones in one BUNDLE group are refused by Chromium ("codec collision for header extension id").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from aiortc import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, sdp
from aiortc.codecs import CODECS, HEADER_EXTENSIONS, is_rtx

KINDS = ("audio", "video")
DYNAMIC_PAYLOAD_TYPES = range(96, 128)
EXTENSION_IDS = range(1, 15)  # one-byte header extensions (RFC 8285)


@dataclass(frozen=True, slots=True)
class RemoteTrack:
    """What one server-to-client m-section (by its ``mid``) carries: a participant's track."""

    participant: str
    kind: str
    name: str
    role: str

    def as_frame(self) -> dict[str, str]:
        return {
            "participant": self.participant,
            "kind": self.kind,
            "name": self.name,
            "role": self.role,
        }


@dataclass(frozen=True, slots=True)
class ServerOffer:
    """An SDP offer the hub made on a participant's existing peer connection.

    ``revision`` increases with every server offer to the participant in the room (across its
    peer connections); the answer must name it. ``tracks`` maps each active server-to-client
    ``mid`` to the participant it carries; a ``mid`` not in it is inactive.
    """

    room_id: str
    participant_id: str
    revision: int
    sdp: str
    tracks: Mapping[str, RemoteTrack]


@dataclass(frozen=True, slots=True)
class MediaParameters:
    """The codecs (with payload types) and header extensions (with ids) of one media kind."""

    codecs: tuple[RTCRtpCodecParameters, ...]
    header_extensions: tuple[RTCRtpHeaderExtensionParameters, ...]


def negotiated_parameters(
    answer_sdp: str, allowed: Mapping[str, tuple[str, ...]]
) -> dict[str, MediaParameters]:
    """Per kind, the parameters of the first m-section of that kind in ``answer_sdp``.

    A kind the answer lacks (an audio-only publisher) gets aiortc's codecs in ``allowed``,
    renumbered so that no payload type or extension id collides with the other kind's.
    """
    description = sdp.SessionDescription.parse(answer_sdp)
    found: dict[str, MediaParameters] = {}
    for media in description.media:
        if media.kind in KINDS and media.kind not in found and media.rtp.codecs:
            found[media.kind] = MediaParameters(
                tuple(copy.deepcopy(media.rtp.codecs)),
                tuple(copy.deepcopy(media.rtp.headerExtensions)),
            )
    for kind in KINDS:
        if kind not in found:
            found[kind] = _default_parameters(kind, allowed[kind], list(found.values()))
    return found


def _default_parameters(
    kind: str, allowed: tuple[str, ...], taken: list[MediaParameters]
) -> MediaParameters:
    used_types = {c.payloadType for p in taken for c in p.codecs}
    ids_by_uri = {e.uri: e.id for p in taken for e in p.header_extensions}
    wanted = [c for c in CODECS[kind] if c.mimeType.lower() in allowed and not is_rtx(c)]
    bases = {c.payloadType for c in wanted}
    codecs = [
        copy.deepcopy(c)
        for c in CODECS[kind]
        if c in wanted
        or (is_rtx(c) and c.mimeType.lower() in allowed and c.parameters.get("apt") in bases)
    ]
    renumbered: dict[int, int] = {}
    for codec in codecs:  # a base codec comes before its rtx in aiortc's list
        apt = codec.parameters.get("apt")
        if is_rtx(codec) and isinstance(apt, int) and apt in renumbered:
            codec.parameters["apt"] = renumbered[apt]
        payload_type = codec.payloadType
        if payload_type is not None and payload_type in used_types:
            free = next(pt for pt in DYNAMIC_PAYLOAD_TYPES if pt not in used_types)
            renumbered[payload_type] = free
            codec.payloadType = free
        used_types.add(codec.payloadType)
    used_ids = set(ids_by_uri.values())
    extensions = []
    for extension in HEADER_EXTENSIONS[kind]:
        ext_id = ids_by_uri.get(extension.uri)
        if ext_id is None:
            ext_id = next(i for i in EXTENSION_IDS if i not in used_ids)
            used_ids.add(ext_id)
        extensions.append(RTCRtpHeaderExtensionParameters(id=ext_id, uri=extension.uri))
    return MediaParameters(tuple(codecs), tuple(extensions))


def pin_offer(offer_sdp: str, parameters: Mapping[str, MediaParameters]) -> str:
    """``offer_sdp`` with every audio/video m-section using ``parameters`` of its kind."""
    description = sdp.SessionDescription.parse(offer_sdp)
    description.type = "offer"
    for media in description.media:
        pinned = parameters.get(media.kind)
        if pinned is None:
            continue
        media.rtp.codecs = copy.deepcopy(list(pinned.codecs))
        media.fmt = [codec.payloadType for codec in media.rtp.codecs]
        media.rtp.headerExtensions = copy.deepcopy(list(pinned.header_extensions))
        if not any(is_rtx(codec) for codec in media.rtp.codecs):
            # No retransmission codec negotiated: drop the rtx SSRC aiortc announces.
            media.ssrc_group = []
            media.ssrc = media.ssrc[:1]
    return str(description)
