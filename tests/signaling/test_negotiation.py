"""Server offers keep the numbering of the first negotiation (payload types, extension ids)."""

from __future__ import annotations

from aiortc import sdp
from aiortc.codecs import is_rtx

from signaling.hub import ALLOWED_MIME_TYPES
from signaling.negotiation import negotiated_parameters, pin_offer

# What the hub answered a browser that offered audio only, with the browser's numbers: opus on
# payload type 97 (aiortc's own VP8 number) and the mid extension on id 3 (aiortc's
# abs-send-time).
AUDIO_ONLY_ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 97",
        "c=IN IP4 0.0.0.0",
        "a=recvonly",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=mid:0",
        "a=rtcp-mux",
        "a=rtpmap:97 opus/48000/2",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=setup:active",
        "",
    ]
)


def test_a_kind_the_first_answer_lacks_is_numbered_around_the_other_kind() -> None:
    parameters = negotiated_parameters(AUDIO_ONLY_ANSWER, ALLOWED_MIME_TYPES)
    audio, video = parameters["audio"], parameters["video"]
    assert [(c.mimeType, c.payloadType) for c in audio.codecs] == [("audio/opus", 97)]
    video_types = [c.payloadType for c in video.codecs]
    assert [c.mimeType for c in video.codecs] == ["video/VP8", "video/rtx"]
    assert 97 not in video_types and len(set(video_types)) == 2
    (rtx,) = [c for c in video.codecs if is_rtx(c)]
    assert rtx.parameters["apt"] == video.codecs[0].payloadType
    ids = {e.uri: e.id for e in video.header_extensions}
    assert ids["urn:ietf:params:rtp-hdrext:sdes:mid"] == 3  # the same id as in audio
    assert (
        set(ids.values()).isdisjoint({1})
        or ids.get("urn:ietf:params:rtp-hdrext:ssrc-audio-level") == 1
    )


def test_pinning_rewrites_every_m_section_of_an_offer_to_the_kept_numbers() -> None:
    parameters = negotiated_parameters(AUDIO_ONLY_ANSWER, ALLOWED_MIME_TYPES)
    offer = (
        AUDIO_ONLY_ANSWER.replace("a=recvonly", "a=sendonly")
        .replace(
            "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        )
        .replace("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n", "")
    )
    offer = offer.replace(
        "m=audio 9 UDP/TLS/RTP/SAVPF 97", "m=audio 9 UDP/TLS/RTP/SAVPF 96"
    ).replace("a=rtpmap:97 opus/48000/2", "a=rtpmap:96 opus/48000/2")
    pinned = sdp.SessionDescription.parse(pin_offer(offer, parameters))
    (media,) = pinned.media
    assert media.fmt == [97]
    assert {e.uri: e.id for e in media.rtp.headerExtensions} == {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
        "urn:ietf:params:rtp-hdrext:sdes:mid": 3,
    }
    assert media.direction == "sendonly" and media.rtp.muxId == "0"
