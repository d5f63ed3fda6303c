"""The legal channel (法定途径) of a matter the hall does not accept or redirects (诉访分离):
a typed choice on the `not_accepted` and `redirected` steps, told to the petitioner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hall.cases.tables import CaseState, LegalChannel
from hall.errors import InvalidInput

NOTE_MIN = 2
NOTE_MAX = 200
# The steps that must name the channel the petitioner is pointed to.
REQUIRED_ON = frozenset({CaseState.NOT_ACCEPTED, CaseState.REDIRECTED})
LABELS: Mapping[LegalChannel, str] = MappingProxyType(
    {
        LegalChannel.LITIGATION: "诉讼",
        LegalChannel.ARBITRATION: "仲裁",
        LegalChannel.RECONSIDERATION: "行政复议",
        LegalChannel.LABOUR_ARBITRATION: "劳动人事争议仲裁",
        LegalChannel.PARTY_APPEAL: "党员申诉",
        LegalChannel.DISCIPLINE: "纪检监察",
        LegalChannel.OTHER: "其他",
    }
)


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """A validated channel; `note` names the channel when it is `other`, else None."""

    channel: LegalChannel
    note: str | None

    @property
    def label(self) -> str:
        """What the petitioner reads: the channel's name, or the note for `other`."""
        return display(self.channel, self.note) or ""

    def as_json(self) -> dict[str, str | None]:
        """As stored in the `state_changed` event."""
        return {"code": self.channel.value, "label": self.label, "note": self.note}


def display(channel: str | None, note: str | None) -> str | None:
    """The text of a stored channel (None when the case has none)."""
    if channel is None:
        return None
    try:
        kind = LegalChannel(channel)
    except ValueError:
        return channel
    return (note or LABELS[kind]) if kind is LegalChannel.OTHER else LABELS[kind]


def parse(to: CaseState, channel: str | None, note: str | None) -> ChannelChoice | None:
    """The channel a step to `to` names: required (and only allowed) on `REQUIRED_ON`;
    `other` needs a note of 2–200 characters. `invalid_input` naming the field otherwise."""
    choices = ", ".join(c.value for c in LegalChannel)
    if to not in REQUIRED_ON:
        if channel is not None or note is not None:
            raise InvalidInput(
                "只有不予受理、导入法定程序时指明法定途径",
                fields={"legal_channel": f"not for {to}"},
            )
        return None
    if not channel:
        raise InvalidInput(
            "请选择法定途径（诉讼、仲裁、行政复议等）",
            fields={"legal_channel": f"required: one of {choices}"},
        )
    try:
        kind = LegalChannel(channel)
    except ValueError:
        raise InvalidInput(
            f"未知的法定途径：{channel}", fields={"legal_channel": f"one of {choices}"}
        ) from None
    if kind is not LegalChannel.OTHER:
        if note:
            raise InvalidInput(
                "只有“其他”途径需要说明", fields={"legal_channel_note": "only for other"}
            )
        return ChannelChoice(kind, None)
    text = (note or "").strip()
    if not NOTE_MIN <= len(text) <= NOTE_MAX:
        raise InvalidInput(
            f"选择“其他”时请写明途径（{NOTE_MIN}–{NOTE_MAX}字）",
            fields={"legal_channel_note": f"{NOTE_MIN} to {NOTE_MAX} characters for other"},
        )
    return ChannelChoice(kind, text)
