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
