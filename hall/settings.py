"""Settings of the domain package: database, demo mode, queue, case numbering and deadlines,
evidence documents, throttling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone
from enum import StrEnum
from pathlib import Path

from hall.throttle import ThrottleLimits

# Case numbers, ticket days and legal periods follow the hall's local calendar (UTC+8).
HALL_TZ = timezone(timedelta(hours=8))


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
    wal_checkpoint_s: float = field(
        default=1.0,
        metadata={
            "help": "SQLite: run WAL checkpoints in the background every this many seconds, "
            "out of the commits' way; 0 leaves them to SQLite (a commit that crosses 1000 "
            "pages of WAL copies them itself)."
        },
    )

    def __post_init__(self) -> None:
        # A typo must not become a busy loop (negative) or no checkpoints at all (inf, nan).
        if not (self.wal_checkpoint_s == 0 or 0.05 <= self.wal_checkpoint_s <= 3600):
            raise ValueError(
                f"hall.wal_checkpoint_s is {self.wal_checkpoint_s}; expected 0 (off) or "
                "0.05 to 3600 seconds"
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


class ExtendOver(StrEnum):
    """Which non-working last days push a calendar-day period to the next working day."""

    # Every day the official calendar gives off: the announced holidays and the ordinary
    # Saturday/Sunday rest days, statutory rest days under 国务院关于职工工作时间的规定 Art. 7.
    HOLIDAYS_AND_WEEKENDS = "holidays_and_weekends"
    # Only a run of days off that contains an announced statutory holiday (法定节假日).
    HOLIDAYS_ONLY = "holidays_only"


@dataclass(frozen=True, slots=True)
class CaseSettings:
    """Case rules (DESIGN §6): how legal periods are counted and when a case is due soon."""

    extend_over: str = field(
        default=ExtendOver.HOLIDAYS_AND_WEEKENDS.value,
        metadata={
            "help": "A calendar-day period whose last day is a day off ends on the next working "
            "day (民法典 Art. 203). holidays_and_weekends: any day off of the official calendar "
            "(holidays and Saturday/Sunday rest days); holidays_only: only days off that belong "
            "to a statutory holiday."
        },
    )
    due_soon_days: int = field(
        default=3,
        metadata={
            "help": "A case is due soon this many calendar days or fewer before its due date."
        },
    )
    evaluation_days: int = field(
        default=30,
        metadata={
            "help": "Calendar days after a response (答复) during which the petitioner may "
            "evaluate it (满意度评价); afterwards the evaluation is recorded as expired."
        },
    )
    repeat_days: int = field(
        default=90,
        metadata={
            "help": "Repeat detection (重信重访): a registration is checked against the cases of "
            "the same person on the same line with any timeline activity in this many days "
            "(open ones and those closed within the period)."
        },
    )
    repeat_similarity: float = field(
        default=0.5,
        metadata={
            "help": "Repeat detection: the least similarity (0–1) of two summaries for a case "
            "to be shown as a possible repeat; Sørensen–Dice over the summaries' character "
            "bigrams, punctuation and spaces ignored."
        },
    )

    evaluation_sweep_s: float = field(
        default=3600.0,
        metadata={
            "help": "How often (s) the server records evaluation windows that have passed as "
            "evaluation_expired, without anyone opening a page. More than 0."
        },
    )

    def __post_init__(self) -> None:
        # Fail at start-up on a typo in the environment rather than count deadlines wrongly.
        if self.extend_over not in {e.value for e in ExtendOver}:
            choices = ", ".join(e.value for e in ExtendOver)
            raise ValueError(f"case.extend_over is {self.extend_over!r}; expected one of {choices}")
        if self.due_soon_days < 0:
            raise ValueError(f"case.due_soon_days is {self.due_soon_days}; expected 0 or more")
        if self.evaluation_days < 1:
            raise ValueError(f"case.evaluation_days is {self.evaluation_days}; expected 1 or more")
        if not self.evaluation_sweep_s > 0:
            raise ValueError(
                f"case.evaluation_sweep_s is {self.evaluation_sweep_s}; expected more than 0"
            )
        if self.repeat_days < 1:
            raise ValueError(f"case.repeat_days is {self.repeat_days}; expected 1 or more")
        if not 0 < self.repeat_similarity <= 1:
            raise ValueError(
                f"case.repeat_similarity is {self.repeat_similarity}; expected 0 < value <= 1"
            )

    @property
    def extend_rule(self) -> ExtendOver:
        """`extend_over` as its enum."""
        return ExtendOver(self.extend_over)


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    """Evidence documents (证据材料) uploaded to a case: where they are kept and how large."""

    directory: Path = field(
        default=Path("var/documents"),
        metadata={
            "help": "Directory for uploaded evidence documents, outside the web root; files are "
            "stored under random names."
        },
    )
    max_bytes: int = field(
        default=20 * 1024 * 1024,
        metadata={"help": "Largest accepted document in bytes (checked while it streams in)."},
    )
    max_per_case: int = field(
        default=100, metadata={"help": "Most documents one case may hold (0: no limit)."}
    )

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"documents.max_bytes is {self.max_bytes}; expected 1 or more")
        if self.max_per_case < 0:
            raise ValueError(f"documents.max_per_case is {self.max_per_case}; expected 0 or more")


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """Throttling of failed logins and failed public queries (查询码): the guesser's address is
    limited, the account or case is only slowed down, never locked for everyone."""

    login_failures: int = field(
        default=5,
        metadata={
            "help": "Failed logins on one account from one address within the window before "
            "that address gets 429 for that account."
        },
    )
    login_address_failures: int = field(
        default=20,
        metadata={
            "help": "Failed logins from one address, on any accounts, within the window before "
            "that address gets 429 for every account."
        },
    )
    login_window_s: float = field(
        default=300.0, metadata={"help": "Sliding window (s) of the login limits."}
    )
    login_delay_after: int = field(
        default=5,
        metadata={
            "help": "Failed logins on one account, from all addresses within the window, after "
            "which every login to it is delayed (0.25 s, doubling with each failure)."
        },
    )
    login_delay_max_s: float = field(
        default=3.0,
        metadata={"help": "Longest such delay (s); the account is never refused. 0: no delay."},
    )
    query_failures: int = field(
        default=10,
        metadata={
            "help": "Failed public queries (also evaluations) on one case number from one "
            "address within the window before that address gets 429 for that number."
        },
    )
    query_address_failures: int = field(
        default=30,
        metadata={
            "help": "Failed public queries from one address, on any numbers, within the window "
            "before that address gets 429 for every number."
        },
    )
    query_window_s: float = field(
        default=600.0, metadata={"help": "Sliding window (s) of the public query limits."}
    )
    query_delay_after: int = field(
        default=10,
        metadata={
            "help": "Failed queries on one case number, from all addresses within the window, "
            "after which every query of it is delayed (0.25 s, doubling with each failure)."
        },
    )
    query_delay_max_s: float = field(
        default=3.0,
        metadata={"help": "Longest such delay (s); the case is never refused. 0: no delay."},
    )
    max_keys: int = field(
        default=10_000,
        metadata={
            "help": "Most keys each throttle table holds (accounts, addresses, pairs; about "
            "1 KB each at most); when full, the least recently used key is dropped."
        },
    )

    def __post_init__(self) -> None:
        # Fail at start-up on a typo rather than throttle nothing or everything.
        self.login_limits()
        self.query_limits()

    def login_limits(self) -> ThrottleLimits:
        """The login throttle's limits (subject: the username)."""
        return ThrottleLimits(
            failures=self.login_failures,
            address_failures=self.login_address_failures,
            window_s=self.login_window_s,
            delay_after=self.login_delay_after,
            delay_max_s=self.login_delay_max_s,
            max_keys=self.max_keys,
        )

    def query_limits(self) -> ThrottleLimits:
        """The public query throttle's limits (subject: the case number)."""
        return ThrottleLimits(
            failures=self.query_failures,
            address_failures=self.query_address_failures,
            window_s=self.query_window_s,
            delay_after=self.query_delay_after,
            delay_max_s=self.query_delay_max_s,
            max_keys=self.max_keys,
        )


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    """Meetings (协调会 / 联席会议 / 包案调度会): invitation links, the lobby's seat hold."""

    link_secret: str = field(
        default="",
        metadata={
            "help": "Secret that signs the invitation links of external invitees (at least 32 "
            "characters). Empty: a random one is generated on first start and kept in "
            "<data_dir>/meeting-link.secret (mode 0600). Changing it invalidates every link."
        },
    )
    link_margin_min: int = field(
        default=120,
        metadata={
            "help": "An invitation link stays valid until the meeting's planned end (start + "
            "duration) plus this many minutes."
        },
    )
    seat_hold_s: int = field(
        default=120,
        metadata={
            "help": "A participant who drops or leaves and rejoins within this many seconds is "
            "admitted again without the host."
        },
    )
    guest_claim_s: int = field(
        default=60,
        metadata={
            "help": "A link opened in one browser is refused (in use) to another browser while "
            "the first was active within this many seconds."
        },
    )

    def __post_init__(self) -> None:
        if self.link_secret and len(self.link_secret) < 32:
            raise ValueError("meeting.link_secret is shorter than 32 characters")
        for name in ("link_margin_min", "seat_hold_s", "guest_claim_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"meeting.{name} is {getattr(self, name)}; expected 0 or more")
