"""No log line of the whole test run holds a person's identity number, phone or name.

This test runs last (tests/conftest.py moves it there): by then every other test has written its
logs into the run's log folder (tests/run_logs.py) and left its database under pytest's temp
folder, and those databases say which people the run registered. It registers one person itself,
so that it checks something even when run alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests import run_logs
from tests.conftest import ClientFactory
from tests.support import registration, valid_id_number

ID_NUMBER = valid_id_number("44030619750615123")
PHONE = "13912345678"
NAME = "欧阳志远"


def test_find_leaks_reports_a_planted_identity_number(tmp_path: Path) -> None:
    log = tmp_path / "planted.log"
    log.write_text(f"INFO web ok\nERROR hall failed for {ID_NUMBER.lower()}\n", encoding="utf-8")
    leaks = run_logs.find_leaks([log], {ID_NUMBER: "id_number", ID_NUMBER.lower(): "id_number"})
    assert [(leak.line_no, leak.kind) for leak in leaks] == [(2, "id_number")]


async def test_no_personal_data_in_the_run_logs(
    client_as: ClientFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = run_logs.folder()
    assert folder is not None, "tests/conftest.py opens the run's log folder at configure time"
    terminal = await client_as("village-zhangzhuang")
    await terminal.post(
        "/api/visit-requests",
        registration(name=NAME, id_number=ID_NUMBER, phone=PHONE),
        status=201,
    )
    logging.getLogger("web").info("[test] registered one petitioner for the log check")
    run_logs.flush()

    values = run_logs.personal_values(run_logs.hall_databases(tmp_path_factory.getbasetemp()))
    assert {ID_NUMBER, PHONE, NAME} <= set(values), "the scan must see this test's own person"
    logs = sorted(folder.glob("*.log"))
    assert (folder / "run.log").stat().st_size > 0
    leaks = run_logs.find_leaks(logs, values)
    assert not leaks, "personal data in the logs:\n" + "\n".join(
        f"{leak.file}:{leak.line_no} [{leak.kind}] {leak.line[:300]}" for leak in leaks[:20]
    )
