"""Repeat detection (重信重访): the cases a new registration may repeat — the same person, a
similar matter, the same line, recent activity — and the similarity of two summaries.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz.distance import Indel
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.cases import states
from hall.cases.tables import Case, CaseEvent, CaseParty, CaseState, Classification, PartyRole
from hall.privacy import mask_snippet
from hall.queue.tables import Line
from hall.settings import HALL_TZ

_NOISE = re.compile(r"[\W_]+")


def bigrams(text: str) -> list[str]:
    """The summary's character bigrams, sorted; punctuation and spaces dropped.

    Chinese has no spaces between words, so words cannot be compared; bigrams of characters
    stand in for them (most Chinese words are two characters) and, unlike single characters,
    are not matched by the function words every summary shares (的, 请求...).
    """
    chars = _NOISE.sub("", text.casefold())
    if len(chars) < 2:
        return [chars] if chars else []
    return sorted(chars[i : i + 2] for i in range(len(chars) - 1))


def similarity(a: str, b: str) -> float:
    """Sørensen–Dice coefficient of the two texts' bigram multisets, 0 (nothing shared) to 1.

    Computed as rapidfuzz's normalised Indel similarity of the sorted bigram lists: for sorted
    sequences the longest common subsequence is the multiset intersection, so the value is
    2·|A∩B| / (|A| + |B|).
    """
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return float(Indel.normalized_similarity(x, y))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A case the registration may repeat, as shown to the registrar."""

    case_id: int
    number: str
    line: str
    line_name: str
    state: str
    registered_at: datetime
    similarity: float
    matched_role: str  # the matching person's role in that case
    snippet: str  # the case's summary, shortened and masked
    accusation: bool = False  # 检举控告: never listed outside the bureau's staff

    @property
    def linkable(self) -> bool:
        """Whether a new visit may join the case: only while it is open (not ended)."""
        return states.is_open(self.state)

    @property
    def score(self) -> float:
        """The similarity rounded to two places, as shown and recorded."""
        return round(self.similarity, 2)

    def as_json(self) -> dict[str, Any]:
        """The candidate as the API returns it (`repeat_candidates`)."""
        return {
            "case_id": self.case_id,
            "number": self.number,
            "line": self.line,
            "line_name": self.line_name,
            "state": self.state,
            "state_label": states.label(self.state),
            "registered_at": self.registered_at.isoformat(),
            "registered_on": self.registered_at.astimezone(HALL_TZ).date().isoformat(),
            "similarity": self.score,
            "matched_role": self.matched_role,
            "summary": self.snippet,
            "linkable": self.linkable,
        }

    def as_record(self) -> dict[str, Any]:
        """The candidate as a timeline event names it (no summary)."""
        return {"case_id": self.case_id, "number": self.number, "similarity": self.score}


async def candidates(
    session: AsyncSession,
    *,
    person_ids: Collection[int],
    line: Line,
    summary: str,
    now: datetime,
    days: int,
    threshold: float,
) -> list[Candidate]:
    """Cases where one of `person_ids` is a party (petitioner or representative), on `line`,
    with a timeline event in the last `days` days, not merged into another case, whose
    summary's similarity to `summary` is at least `threshold`; most similar first."""
    if not person_ids:
        return []
    since = now - timedelta(days=days)
    # Correlated to the person's cases only: the latest activity of every case is never scanned.
    recent = exists().where(CaseEvent.case_id == Case.id, CaseEvent.at >= since)
    rows = await session.execute(
        select(Case, CaseParty.role)
        .join(CaseParty, CaseParty.case_id == Case.id)
        .where(
            CaseParty.petitioner_id.in_(person_ids),
            Case.line_id == line.id,
            Case.state != CaseState.MERGED,
            recent,
        )
        .order_by(Case.id)
    )
    found: dict[int, Candidate] = {}
    for case, role in rows:
        score = similarity(summary, case.summary)
        if score < threshold:
            continue
        known = found.get(case.id)
        # One row per matching person: the petitioner role names the match best.
        if known is not None and role != PartyRole.PETITIONER:
            continue
        found[case.id] = Candidate(
            case_id=case.id,
            number=case.number,
            line=line.code,
            line_name=line.name,
            state=case.state,
            registered_at=case.created_at,
            similarity=score,
            matched_role=role,
            snippet=mask_snippet(case.summary),
            accusation=case.classification == Classification.ACCUSATION,
        )
    return sorted(found.values(), key=lambda c: (-c.similarity, -c.case_id))
