"""`hall deadlines --from DATE`: the supervisors' check tool, run as a real subprocess on a real
data folder; the case settings it reads from the environment.

Every expected date is counted by hand (see tests/hall/calendar/test_deadlines.py for the calendar
facts).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hall.calendar.workdays import mark_year_complete, set_override
from hall.db import Database
from hall.settings import CaseSettings, ExtendOver
from web.config import Config, from_env

HALL = [sys.executable, "-m", "web.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run_hall(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `hall` command with a clean JIEFANG_* environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JIEFANG_")}
    return subprocess.run(
        [*HALL, *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deadlines_around_national_day_2026(tmp_path: Path) -> None:
    result = run_hall("deadlines", "--from", "2026-09-28", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # Mon 2026-09-28:
    # accept        +15: 09-29 is day 1 ... 10-13 (Tue) day 15, a working day.
    # object        5 working days: 09-29 (1), 09-30 (2), 10-01..07 off, 10-08 (3), 10-09 (4),
    #               10-10 Sat, a make-up workday (5).
    # handle        +60: Sep 29..30 = 2, Oct = 31 (33), Nov 1..27 (60) -> 11-27 (Fri).
    # general_reply 10 working days: as object to 10-10 (5), 10-11 Sun off, 10-12..16 (6..10).
    # the four 30-day steps: Sep 29..30 = 2, Oct 1..28 = 28 -> 10-28 (Wed).
    assert json.loads(result.stdout) == {
        "accept": "2026-10-13",
        "object": "2026-10-10",
        "handle": "2026-11-27",
        "general_reply": "2026-10-16",
        "review_request": "2026-10-28",
        "review_decision": "2026-10-28",
        "rereview_request": "2026-10-28",
        "rereview_decision": "2026-10-28",
    }
    assert len(result.stdout.splitlines()) == 1  # one JSON object and nothing else
    assert "accept:" not in result.stderr  # explanations only with --explain
    assert (tmp_path / "hall.db").is_file()  # migrations applied to the data folder


def test_explain_puts_the_rules_on_stderr_only(tmp_path: Path) -> None:
    result = run_hall("deadlines", "--from", "2026-09-18", "--explain", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # Fri 09-18 + 15 = 10-03 (Sat, National Day) -> 10-08.
    assert json.loads(result.stdout)["accept"] == "2026-10-08"
    assert (
        "2026-10-08  accept: 15 calendar days from the day after receipt (信访工作条例 Arts. "
        "22–23); day 15 is 2026-10-03, a statutory holiday, moved to the next working day "
        "2026-10-08 (民法典 Arts. 201–203)"
    ) in result.stderr


def test_the_configured_counting_rule_is_used(tmp_path: Path) -> None:
    # Fri 2025-03-07:
    # accept        +15 -> 03-22 (Sat): moved to Mon 03-24, or kept under holidays_only.
    # object        03-10..14 (1..5) -> 03-14.
    # handle        +60: Mar 8..31 = 24, Apr = 30 (54), May 1..6 (60) -> 05-06 (Tue, the day
    #               after Labour Day 05-01..05).
    # general_reply 03-10..14 (1..5), 03-17..21 (6..10) -> 03-21.
    # 30-day steps  Mar 8..31 = 24, Apr 1..6 (30) -> 04-06 (Sun, Qingming 04-04..06) -> 04-07,
    #               under both rules.
    expected = {
        "accept": "2025-03-24",
        "object": "2025-03-14",
        "handle": "2025-05-06",
        "general_reply": "2025-03-21",
        "review_request": "2025-04-07",
        "review_decision": "2025-04-07",
        "rereview_request": "2025-04-07",
        "rereview_decision": "2025-04-07",
    }
    args = ("deadlines", "--from", "2025-03-07", "--data-dir", str(tmp_path))
    result = run_hall(*args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
    result = run_hall(*args, env={"JIEFANG_CASE_EXTEND_OVER": "holidays_only"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected | {"accept": "2025-03-22"}


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "28/09/2026", "20260928", "today"])
def test_a_bad_date_exits_2(tmp_path: Path, bad: str) -> None:
    result = run_hall("deadlines", "--from", bad, "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"argument --from: {bad!r} is not a date" in result.stderr


def test_an_unknown_year_exits_2_naming_the_date_until_it_is_entered_complete(
    tmp_path: Path,
) -> None:
    args = ("deadlines", "--from", "2026-12-20", "--data-dir", str(tmp_path))
    result = run_hall(*args)
    # Sun 2026-12-20 + 15 = 2027-01-04: chinese_calendar 1.11.0 does not know 2027.
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: the official calendar does not cover 2027-01-04" in result.stderr

    async def enter_new_year() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hall.db'}")
        try:
            async with db.transaction() as session:
                await set_override(
                    session,
                    day=date(2027, 1, 1),
                    is_workday=False,
                    note="元旦",
                    by=None,
                    now=datetime(2026, 11, 20, tzinfo=UTC),
                )
                await mark_year_complete(
                    session, 2027, by=None, now=datetime(2026, 11, 20, tzinfo=UTC)
                )
        finally:
            await db.close()

    asyncio.run(enter_new_year())
    result = run_hall(*args)
    assert result.returncode == 0, result.stderr
    # 2027 is now covered (marked complete: 01-01 a holiday, other days by the week):
    # accept        +15: Dec 21..31 = 11, Jan 1..4 (15) -> 2027-01-04 (Mon).
    # object        12-21..25 (1..5) -> 12-25 (Fri).
    # handle        +60: Dec 21..31 = 11, Jan = 31 (42), Feb 1..18 (60) -> 2027-02-18 (Thu).
    # general_reply 12-21..25 (1..5), 12-28..31 (6..9), 01-01 holiday, 01-02/03 weekend,
    #               01-04 (10).
    # 30-day steps  Dec 21..31 = 11, Jan 1..19 (30) -> 2027-01-19 (Tue).
    assert json.loads(result.stdout) == {
        "accept": "2027-01-04",
        "object": "2026-12-25",
        "handle": "2027-02-18",
        "general_reply": "2027-01-04",
        "review_request": "2027-01-19",
        "review_decision": "2027-01-19",
        "rereview_request": "2027-01-19",
        "rereview_decision": "2027-01-19",
    }


def test_case_settings_come_from_the_environment_and_are_checked() -> None:
    config = from_env(
        Config(),
        {"JIEFANG_CASE_EXTEND_OVER": "holidays_only", "JIEFANG_CASE_DUE_SOON_DAYS": "5"},
    )
    assert config.case.extend_rule is ExtendOver.HOLIDAYS_ONLY
    assert config.case.due_soon_days == 5
    assert Config().case.extend_rule is ExtendOver.HOLIDAYS_AND_WEEKENDS
    with pytest.raises(ValueError, match="holidays_and_weekends, holidays_only"):
        from_env(Config(), {"JIEFANG_CASE_EXTEND_OVER": "weekends"})
    with pytest.raises(ValueError, match="due_soon_days"):
        CaseSettings(due_soon_days=-1)
