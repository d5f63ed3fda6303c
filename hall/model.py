"""Typed SQLAlchemy 2 models of the hall: lines, rooms, people, cases, tickets, visits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base; every timestamp is stored timezone-aware in UTC."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Role(StrEnum):
    """Account roles (角色)."""

    TERMINAL = "terminal"  # 村信息中心 信访代办员
    OFFICER = "officer"  # 接谈室 接访人员
    DESK = "desk"  # 登记分流区
    LEADER = "leader"  # 领导
    DEPARTMENT = "department"  # 责任单位
    SUPERVISOR = "supervisor"  # 督查
    ADMIN = "admin"  # 管理员
    DISPLAY = "display"  # 叫号屏: the hall's display board (a TV), sees masked data only


class CaseState(StrEnum):
    """Lifecycle state of a case (信访事项状态); the transitions are in `hall.case_states`."""

    REGISTERED = "registered"  # 已登记
    TRIAGED = "triaged"  # 已分流
    TRANSFERRED = "transferred"  # 已转送 (to the competent authority)
    ASSIGNED = "assigned"  # 已交办 (to a unit under the bureau)
    REDIRECTED = "redirected"  # 已导入法定程序 (litigation, arbitration, reconsideration, ...)
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    ACCEPTED = "accepted"  # 已受理
    IN_PROGRESS = "in_progress"  # 办理中 (extended at most once)
    RESPONDED = "responded"  # 已答复 (处理意见书)
    REVIEW_REQUESTED = "review_requested"  # 申请复查
    REVIEWED = "reviewed"  # 已复查
    REREVIEW_REQUESTED = "rereview_requested"  # 申请复核
    REREVIEWED = "rereviewed"  # 已复核
    FINAL = "final"  # 终结：不再受理
    CLOSED = "closed"  # 已办结
    MERGED = "merged"  # 已合并
    WITHDRAWN = "withdrawn"  # 已撤回


class CaseOutcome(StrEnum):
    """The outcome of a case (处理结果), kept apart from its lifecycle state."""

    SUPPORT = "support"  # 支持
    EXPLAIN = "explain"  # 解释说明
    REJECT = "reject"  # 不支持
    LEGAL_CHANNEL = "legal_channel"  # 导入法定程序
    NOT_ACCEPTED = "not_accepted"  # 不予受理


class Classification(StrEnum):
    """The class of a matter (依法分类处理, 信访工作条例 Art. 31)."""

    SUGGESTION = "suggestion"  # 建议意见
    ACCUSATION = "accusation"  # 检举控告
    CLAIM = "claim"  # 申诉求决, with a sub-type 1–6 (`Case.claim_type`)


class LegalChannel(StrEnum):
    """The legal channel (法定途径) a refused or redirected matter is pointed to (诉访分离)."""

    LITIGATION = "litigation"  # 诉讼
    ARBITRATION = "arbitration"  # 仲裁
    RECONSIDERATION = "reconsideration"  # 行政复议
    LABOUR_ARBITRATION = "labour_arbitration"  # 劳动人事争议仲裁
    PARTY_APPEAL = "party_appeal"  # 党员申诉
    DISCIPLINE = "discipline"  # 纪检监察
    OTHER = "other"  # 其他, named in `Case.legal_channel_note`


class TicketState(StrEnum):
    """State of one place in a line's queue (排队号)."""

    WAITING = "waiting"
    OFFERED = "offered"  # offered to one officer, who must accept within the offer timeout
    SERVING = "serving"
    DONE = "done"
    ABANDONED = "abandoned"  # left (or lost its connection beyond the grace window)
    EXPIRED = "expired"  # still waiting when the hall closed the day
    TRANSFERRED = "transferred"  # moved to another line: a new ticket carries on
    NO_SHOW = "no_show"  # missed its call too many times (过号)
    INTERRUPTED = "interrupted"  # its visit was cut by a server restart


class PriorityClass(StrEnum):
    """Priority class of a ticket: a head start in the queue's ordering, never a bypass."""

    NORMAL = "normal"
    PRIORITY = "priority"  # elderly, disabled, pregnant, veteran (老弱病残孕、军人)
    URGENT = "urgent"  # with a recorded reason and approver


class PriorityReason(StrEnum):
    """Why a ticket is in the priority class."""

    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    VETERAN = "veteran"


class OfficerState(StrEnum):
    """Availability of an officer (接访人员状态)."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"  # after a visit; ends by itself after the wrap-up time
    AWAY = "away"  # with a reason


class Channel(StrEnum):
    """How a ticket entered the queue."""

    REMOTE = "remote"  # 远程视频
    WALK_IN = "walk_in"  # 现场
    APPOINTMENT = "appointment"  # 预约
    TRANSFER = "transfer"  # 转办


class VisitState(StrEnum):
    """State of a visit (接访)."""

    LIVE = "live"
    ENDED = "ended"
    MISSED = "missed"  # the visitor did not come to the call (过号)
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """How a visit ended (接谈结果)."""

    ANSWERED = "answered"  # 当场答复
    ACCEPTED = "accepted"  # 登记受理
    TRANSFERRED = "transferred"  # 转送责任单位
    REDIRECTED = "redirected"  # 导入法定程序
    EXPLAINED = "explained"  # 解释说明


class RecordingState(StrEnum):
    """State of a recording row: processing until post-processing finished."""

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DISCARDED = "discarded"  # verified and hashed, then deleted by the retention setting


class PartyRole(StrEnum):
    """The role of a party (当事人) of a case."""

    PETITIONER = "petitioner"  # 信访人 (the contact of a collective visit)
    REPRESENTATIVE = "representative"  # 代表 of a collective visit (集体访, at most 5)
    PROXY_AGENT = "proxy_agent"  # 代办员: the village agent who submitted it (a terminal account)


class Visibility(StrEnum):
    """Who may see a case timeline event."""

    PUBLIC = "public"
    PETITIONER = "petitioner"
    STAFF = "staff"
    RESTRICTED = "restricted"


class Line(Base):
    """A line (条线) of the hall: one of the seven reception lines."""

    __tablename__ = "lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    letter: Mapped[str] = mapped_column(String(1), unique=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    auto_offer: Mapped[bool] = mapped_column(Boolean, default=False)


class Room(Base):
    """A reception room (接谈室) or function room of the hall."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="reception")
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))


class Village(Base):
    """A village or township served by an information centre terminal."""

    __tablename__ = "villages"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    township: Mapped[str] = mapped_column(String(64), default="")


class Terminal(Base):
    """A village information centre's station (终端)."""

    __tablename__ = "terminals"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))


class OfficerLine(Base):
    """Which lines an officer serves."""

    __tablename__ = "officer_lines"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), primary_key=True)


class User(Base):
    """A staff or terminal account."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    lines: Mapped[list[Line]] = relationship(secondary="officer_lines", lazy="selectin")


class LoginSession(Base):
    """A server-side login session; the cookie holds a token whose SHA-256 is the key."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Petitioner(Base):
    """A petitioner (信访人). Identity number and phone are personal data: mask, audit reads."""

    __tablename__ = "petitioners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    created_at: Mapped[datetime]


class Case(Base):
    """A case file (信访事项): the matter, its state and its timeline."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    query_code: Mapped[str] = mapped_column(String(16))
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"), index=True)
    state: Mapped[str] = mapped_column(String(32), default=CaseState.REGISTERED)
    summary: Mapped[str] = mapped_column(Text)
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16))
    proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(32))  # CaseOutcome
    classification: Mapped[str | None] = mapped_column(String(32))  # Classification
    claim_type: Mapped[int | None] = mapped_column(Integer)  # 1–6 for a claim (申诉求决)
    # The responsible department (责任单位) handling it, and the leader who owns it (包案).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Where a not-accepted or redirected matter belongs (法定途径, `LegalChannel`).
    legal_channel: Mapped[str | None] = mapped_column(String(32))
    legal_channel_note: Mapped[str | None] = mapped_column(String(200))
    # 检举控告: the accused unit (被检举控告单位), a department or a name. Restricted data: never
    # on the public query, never shown to a department, never the receiver of the case.
    accused_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    accused_name: Mapped[str | None] = mapped_column(String(128))
    # 集体访: a head count with up to 5 representatives (parties with role `representative`).
    collective: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set while the case is merged into another (state `merged`); cleared by undoing it.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The case a visit or party was split out of (拆分), kept after an undo for the record.
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class CaseParty(Base):
    """A party (当事人) of a case: a petitioner record in a role, or the proxy agent's account.

    Petitioner records stay separate from cases; this links them. Exactly one of
    `petitioner_id` (petitioner, representative) and `user_id` (proxy_agent) is set.
    """

    __tablename__ = "case_parties"
    __table_args__ = (UniqueConstraint("case_id", "petitioner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # PartyRole
    petitioner_id: Mapped[int | None] = mapped_column(ForeignKey("petitioners.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime]


class CaseEvent(Base):
    """One append-only entry of a case timeline, chained to the previous one by hash."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    visibility: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Ticket(Base):
    """One place in a line's queue (排队号).

    Ordering: a waiting ticket's `rank_at` is `effective_start` minus its class's head start, so
    the best ticket has the smallest `rank_at` (score = waited seconds + head start).
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("line_id", "day", "seq"),
        Index("ix_tickets_line_state_rank", "line_id", "state", "rank_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    priority_class: Mapped[str] = mapped_column(String(16), default=PriorityClass.NORMAL)
    priority_reason: Mapped[str] = mapped_column(String(200), default="")
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    effective_start: Mapped[datetime]
    rank_at: Mapped[datetime]
    created_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    preferred_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    preferred_until: Mapped[datetime | None]
    offered_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    offer_expires_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))


class TicketExclusion(Base):
    """Recusal (回避): an officer who must not serve this ticket."""

    __tablename__ = "ticket_exclusions"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class OfficerStatus(Base):
    """An officer's current availability; `idle_since` orders auto-offers (longest idle first)."""

    __tablename__ = "officer_status"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=OfficerState.OFFLINE)
    reason: Mapped[str] = mapped_column(String(100), default="")
    since: Mapped[datetime]
    idle_since: Mapped[datetime | None]
    wrap_up_until: Mapped[datetime | None]


class TicketEvent(Base):
    """Append-only queue log (queue_log style): one row per ticket transition.

    `line_id` is the ticket's line at the time of the event, so per-line figures need no join.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_line_at", "line_id", "at"),
        # "the line's latest answers" (the priority quota) is one short index range
        Index("ix_ticket_events_line_kind_id", "line_id", "kind", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Visit(Base):
    """One reception (接访): from call to end, with its media room, notes and outcome.

    One visit per call: a ticket called again after a missed call (过号) has several.
    """

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")


class Recording(Base):
    """A recording (录音录像) of a visit: per-participant files and the composite, hashed."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # participant | composite
    participant: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    streams: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # 录制因服务中断而截止: the file was cut short by a server crash and salvaged at restart.
    salvaged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuditEntry(Base):
    """Audit log of reads of personal records and recordings, and of security events."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CalendarOverride(Base):
    """One day of the official calendar (法定节假日 / 调休上班日) entered by an administrator.

    It wins over the `chinese_calendar` package, so a bureau can enter next year's State Council
    notice (or a local statutory holiday) before the package knows it.
    """

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class CalendarYear(Base):
    """A year the package does not know, marked complete (本年已完整录入) by an administrator.

    Only then do its days without an override follow the week: a year with a few entries but
    no mark stays unknown, so a half-entered year never freezes a wrong due date.
    """

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime]


class NoticeDelivery(Base):
    """One delivery (送达) of a written notice of a case: which notice, when, how and by whom.

    `kind`: acceptance (受理告知书) | not_accepted (不予受理告知书) | extension (延期告知书) |
    decision (处理意见书); `method`: 当面 | 邮寄 | 短信 | 终端.
    """

    __tablename__ = "notice_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    delivered_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(16))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class Department(Base):
    """A responsible department (责任单位) that receives transferred and assigned cases."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64), default="")
    # Other names of the unit (简称 / 别名), as people write them: the 检举控告 rule matches an
    # accused unit against the name and these (`hall.unit_names`).
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # A deactivated department (停用) keeps its cases and history but receives no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Supervision(Base):
    """A supervision (督办) of a case by the bureau, with the department's feedback deadline."""

    __tablename__ = "supervisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    opened_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    feedback_due: Mapped[date] = mapped_column(Date)
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None]
    feedback_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Evaluation(Base):
    """The petitioner's satisfaction evaluation (满意度评价) of one response, or its expiry.

    One row per response: `response_seq` is the timeline seq of the `responded` step.
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("case_id", "response_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    response_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # evaluated | expired
    grade: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16), default="")  # query | terminal
    at: Mapped[datetime]


class CaseDocument(Base):
    """An evidence document (证据材料) of a case: a photo or PDF stored outside the web root.

    `name` is the uploader's file name, sanitised, for display only; the file lives under
    `storage_name` (random) in the documents directory; `media_type` is sniffed from the content.
    """

    __tablename__ = "case_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    visibility: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
