"""Petitioners and case files (timeline, parties, notices, supervisions, evaluations,
documents): their tables."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class CaseState(StrEnum):
    """Lifecycle state of a case (信访事项状态); the transitions are in `hall.cases.states`."""

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
