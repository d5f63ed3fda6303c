"""Settings of the domain package: database, demo mode, queue and case numbering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HallSettings:
    """Domain settings; defaults give the embedded mode (SQLite file under the data dir)."""

    data_dir: Path = field(
        default=Path("var"),
        metadata={"help": "Folder for the SQLite file, recordings and uploads (embedded mode)."},
    )
    database_url: str = field(
        default="",
        metadata={
            "help": "SQLAlchemy async URL; empty means sqlite+aiosqlite:///<data_dir>/hall.db. "
            "Production: postgresql+asyncpg://user@host/db."
        },
    )
    demo: bool = field(
        default=True,
        metadata={
            "help": "Seed the seven lines, rooms, villages and demo accounts and print the "
            "demo logins. Only honoured with the embedded SQLite database."
        },
    )
    session_hours: int = field(
        default=12, metadata={"help": "Lifetime of a login session, in hours."}
    )
    average_handle_s: int = field(
        default=600,
        metadata={"help": "Assumed handle time of one visit (s) before real visits exist."},
    )

    def resolved_database_url(self) -> str:
        """The database URL actually used: the explicit one, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hall.db').resolve()}"

    @property
    def embedded(self) -> bool:
        """True when running on the embedded SQLite database."""
        return self.resolved_database_url().startswith("sqlite")

    @property
    def seeds_demo(self) -> bool:
        """Demo data is seeded only in the embedded demo mode, never in production."""
        return self.demo and self.embedded


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Queue rules (DESIGN §5): head starts, quota, grace window, missed calls, timers."""

    priority_head_start_s: int = field(
        default=600,
        metadata={"help": "Head start (s) of the priority class (elderly, disabled, ...)."},
    )
    urgent_head_start_s: int = field(
        default=1800, metadata={"help": "Head start (s) of the urgent class."}
    )
    priority_quota: int = field(
        default=3,
        metadata={
            "help": "After this many priority/urgent calls in a row on a line, the "
            "longest-waiting normal ticket goes next."
        },
    )
    grace_s: int = field(
        default=120,
        metadata={"help": "How long a disconnected waiting terminal keeps its place (s)."},
    )
    missed_move_back: int = field(
        default=3, metadata={"help": "Places a missed call (过号) moves the ticket back (k)."}
    )
    missed_max: int = field(
        default=2,
        metadata={"help": "Missed calls a ticket may have (m); one more makes it a no-show."},
    )
    wrap_up_s: int = field(
        default=60,
        metadata={"help": "Wrap-up time after a visit (s); the officer is then available."},
    )
    offer_timeout_s: int = field(
        default=20,
        metadata={
            "help": "Auto-offer: seconds an officer has to accept before the offer moves on "
            "and the officer is set away (no answer)."
        },
    )
    undo_window_s: int = field(
        default=120, metadata={"help": "How long a transfer or redirect can be undone (s)."}
    )
    first_handler_wait_s: int = field(
        default=300,
        metadata={
            "help": "A follow-up visit waits this long (s) for the officer who handled the "
            "case before (首办负责) before any officer may take it."
        },
    )
    short_abandon_s: int = field(
        default=30,
        metadata={"help": "Abandons sooner than this (s) are left out of the abandon rate."},
    )
    service_level_s: int = field(
        default=600,
        metadata={"help": "Service-level threshold T (s): answered within T counts as in time."},
    )
    sweep_interval_s: float = field(
        default=1.0,
        metadata={"help": "How often (s) the server expires grace windows, offers, wrap-ups."},
    )
