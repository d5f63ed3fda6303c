"""The whole test run's logs, kept in one folder for a last test to grep for personal data.

`start` (from tests/conftest.py at configure time) sends every log record of the run to
`<folder>/run.log`: INFO and up from every library, every level from the hall's own packages,
exceptions with their tracebacks (an SQL error's message carries its bound parameters, a way an
identity number reaches a log). Tests that start `hall serve` as a subprocess write its output into
the same folder through `server_log`. The folder is named in JIEFANG_TEST_LOG_DIR.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ENV = "JIEFANG_TEST_LOG_DIR"
OUR_PACKAGES = ("hall", "signaling", "recording", "web")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Shorter values would match ordinary text (a two-character word is not a person).
MIN_NAME_CHARS = 2


def start() -> Path:
    """Open the run's log folder and attach its file handler to the root logger."""
    folder = Path(tempfile.mkdtemp(prefix="hall-run-logs-"))
    os.environ[ENV] = str(folder)
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for name in OUR_PACKAGES:
        logging.getLogger(name).setLevel(logging.DEBUG)
    return folder


def folder() -> Path | None:
    """The run's log folder, if the run opened one."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def server_log(label: str) -> IO[bytes]:
    """A file in the run's log folder for a `hall serve` subprocess's output (or the null device
    when the run keeps no logs); the caller closes it."""
    where = folder()
    if where is None:
        return open(os.devnull, "wb")  # noqa: SIM115 - returned to the caller, who closes it
    return tempfile.NamedTemporaryFile(  # noqa: SIM115 - the caller closes it
        dir=where, prefix=f"server-{label}-", suffix=".log", delete=False
    )


def flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


@dataclass(frozen=True, slots=True)
class Leak:
    """One log line that holds a registered person's data: which file, which line, what kind."""

    file: str
    line_no: int
    kind: str
    line: str


def personal_values(databases: Iterable[Path]) -> dict[str, str]:
    """Every petitioner's name, identity number and phone stored in `databases`, with its kind."""
    values: dict[str, str] = {}
    for path in databases:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT name, id_number, phone FROM petitioners").fetchall()
        except sqlite3.Error:
            continue  # not a hall database, or one a test left half-made on purpose
        for name, id_number, phone in rows:
            if name and len(name) >= MIN_NAME_CHARS:
                values[name] = "name"
            if id_number:
                values[id_number] = "id_number"
                values[id_number.lower()] = "id_number"
            if phone:
                values[phone] = "phone"
    return values


def hall_databases(base: Path) -> Iterator[Path]:
    """The SQLite files the run's tests left under the pytest temp folder `base`."""
    yield from base.rglob("*.db")


def find_leaks(logs: Iterable[Path], values: dict[str, str]) -> list[Leak]:
    """Log lines in `logs` that contain any of `values` (longest first, so an identity number is
    not reported as the phone-like run of digits inside it); the line is kept with each value
    replaced by its kind, so that the report does not repeat the data."""
    if not values:
        return []
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    leaks = []
    for path in logs:
        with path.open(encoding="utf-8", errors="replace") as text:
            for number, line in enumerate(text, 1):
                match = pattern.search(line)
                if match:
                    shown = pattern.sub(lambda m: f"<{values[m.group()]}>", line.strip())
                    leaks.append(Leak(path.name, number, values[match.group()], shown))
    return leaks
