"""Names of units (单位名称) as people write them: one unit spelled many ways — its full name or
an alias (简称), traditional characters, full-width forms, zero-width characters, stray spaces —
is matched against the department register for the 检举控告 rule (`hall.cases.accusations`).

Two strengths of match:

- `score` ≥ `FUZZY_MIN`: the text *is* that unit — equal once normalised, or that similar. A
  free-text accused unit that is a register entry this way is stored as that entry.
- `overlaps`: the text may *mean* that unit — the same unit, or one name contains the other
  (a sub-unit: 县住建局城建股; a higher or lower level: 市住建局 holds the alias 住建局).
  Passing a 检举控告 to a unit that overlaps the accused one is refused; a supervisor may
  override a false alarm with a reason, whereas a missed match would hand the accusation to
  the accused.

`FUZZY_MIN` is rapidfuzz's normalised Indel similarity (0–100) of the normalised names. At 85 a
missing or extra character matches from 3 characters up (县住房城乡建设局 ~ 县住房和城乡建设局,
94), but a changed one only from 7 characters up: among short names one character is often the
whole difference between two units (县林业局 / 县农业局 75, 县住建局 / 县人社局 50).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache

from opencc import OpenCC
from rapidfuzz import fuzz

FUZZY_MIN = 85.0
CONTAINED_MIN = 3  # shorter names (县局, 住建) are contained in too many others


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")  # traditional → simplified (OpenCC's characters and phrases)


def _dropped(char: str) -> bool:
    # Other (Cc control, Cf format: zero-width space/joiners, BOM, …) and separators (spaces).
    return unicodedata.category(char)[0] in "CZ"


def normalise(text: str) -> str:
    """A name as stored: NFKC (full-width forms folded), control, zero-width and whitespace
    characters removed, traditional characters converted to simplified."""
    folded = unicodedata.normalize("NFKC", text)
    return str(_t2s().convert("".join(c for c in folded if not _dropped(c))))


def key(text: str) -> str:
    """A name as compared: normalised, without punctuation, case-folded."""
    return "".join(c for c in normalise(text) if unicodedata.category(c)[0] != "P").casefold()


def _keys(names: Iterable[str]) -> list[str]:
    return [k for k in (key(n) for n in names) if k]


def _alike(a: str, b: str) -> bool:
    return a == b or fuzz.ratio(a, b) >= FUZZY_MIN


def score(text: str, names: Iterable[str]) -> float:
    """0–100: how alike `text` is to the closest of a unit's `names` (its name and aliases),
    100 when equal once normalised. At `FUZZY_MIN` or more, `text` is that unit."""
    mine = key(text)
    if not mine:
        return 0.0
    return max((100.0 if mine == k else fuzz.ratio(mine, k) for k in _keys(names)), default=0.0)


def overlaps(names: Iterable[str], others: Iterable[str]) -> bool:
    """Whether a unit called `names` may be the unit called `others`: the same unit, or one of
    the names contains one of the others (the shorter at least `CONTAINED_MIN` characters)."""
    theirs = _keys(others)
    for mine in _keys(names):
        for other in theirs:
            shorter, longer = sorted((mine, other), key=len)
            if _alike(mine, other) or (len(shorter) >= CONTAINED_MIN and shorter in longer):
                return True
    return False
