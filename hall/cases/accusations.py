"""The 检举控告 rule (信访工作条例): a matter classified as an accusation records the accused unit
(被检举控告单位, a department or a name) and is never transferred or assigned to it. The accused
unit is restricted data: a `restricted` timeline event, never public, never shown to departments.

A name is normalised and matched against the department register, aliases included
(`hall.accounts.unit_names`): a name that is a registered unit is stored as that department, and no
department whose name or alias may be the accused unit receives the case. Only a supervisor may
override the rule, with a reason, recorded on the case (staff-only) and in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts import unit_names
from hall.accounts.tables import Department, Role
from hall.accounts.users import Principal
from hall.cases.tables import Case, Classification, Visibility
from hall.cases.timeline import append_event
from hall.errors import AccusedUnit, Forbidden, InvalidInput

EVENT_KIND = "accused_unit_recorded"
OVERRIDE_KIND = "accused_unit_overridden"
OVERRIDE_ROLES = frozenset({Role.SUPERVISOR})
NAME_MIN = 2
NAME_MAX = 128
REASON_MIN = 2
REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Accused:
    """The accused unit: a department of the hall's list, or a unit named in words."""

    department: Department | None
    name: str

    def as_json(self) -> dict[str, Any]:
        """As stored in the restricted event and shown to the bureau's staff."""
        code = self.department.code if self.department else None
        return {"department": code, "name": self.name}

    @property
    def names(self) -> list[str]:
        """Every name the accused unit goes by: a department's name and aliases."""
        if self.department is None:
            return [self.name]
        return [self.department.name, *self.department.aliases]


def _names(department: Department) -> list[str]:
    return [department.name, *department.aliases]


async def registered(session: AsyncSession, text: str) -> Department | None:
    """The department that `text` names (`unit_names.score` ≥ `FUZZY_MIN`, the closest one), or
    None — also when two departments are equally close."""
    scored = sorted(
        (
            (unit_names.score(text, _names(d)), d.id, d)
            for d in await session.scalars(select(Department))
        ),
        key=lambda row: -row[0],
    )
    if not scored or scored[0][0] < unit_names.FUZZY_MIN:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][2]


async def current(session: AsyncSession, case: Case) -> Accused | None:
    """The case's recorded accused unit, or None."""
    if case.accused_department_id is not None:
        department = await session.get_one(Department, case.accused_department_id)
        return Accused(department, department.name)
    if case.accused_name:
        return Accused(None, case.accused_name)
    return None


async def _given(
    session: AsyncSession, department_code: str | None, name: str | None
) -> Accused | None:
    if department_code is not None and name is not None:
        raise InvalidInput(
            "被检举控告单位请选择一个单位或填写名称，不能同时提交",
            fields={"accused_name": "either accused_department or accused_name"},
        )
    if department_code is not None:
        department = await session.scalar(
            select(Department).where(Department.code == department_code)
        )
        if department is None:
            raise InvalidInput(
                f"未知的单位：{department_code}",
                fields={"accused_department": "unknown department"},
            )
        return Accused(department, department.name)
    if name is not None:
        text = unit_names.normalise(name)
        if not NAME_MIN <= len(text) <= NAME_MAX:
            raise InvalidInput(
                f"请填写被检举控告单位名称（{NAME_MIN}–{NAME_MAX}字）",
                fields={"accused_name": f"{NAME_MIN} to {NAME_MAX} characters"},
            )
        # A name that is a unit of the register is that department.
        department = await registered(session, text)
        return Accused(department, department.name) if department else Accused(None, text)
    return None


async def after_step(
    session: AsyncSession,
    case: Case,
    kind: str | None,
    *,
    department_code: str | None,
    name: str | None,
    classifying: bool,
) -> tuple[Accused | None, bool]:
    """The accused unit once the step classifies the case as `kind`, and whether it changes.

    Required when a step (`classifying`) makes the case 检举控告, refused for another class
    (`invalid_input`); leaving 检举控告 clears it.
    """
    given = await _given(session, department_code, name)
    before = await current(session, case)
    if kind != Classification.ACCUSATION:
        if given is not None:
            raise InvalidInput(
                "只有检举控告类事项登记被检举控告单位",
                fields={"accused_department": "only for classification accusation"},
            )
        return None, before is not None
    if given is None:
        if before is None and classifying:
            raise InvalidInput(
                "检举控告类事项须登记被检举控告单位（选择单位或填写名称）",
                fields={"accused_department": "required for accusation (or accused_name)"},
            )
        return before, False
    return given, given.as_json() != (before.as_json() if before else None)


def may_be(accused: Accused, receiver: Department) -> bool:
    """Whether `receiver` may be the accused unit: the same department, or a name or alias of
    it overlaps a name of the accused unit (`unit_names.overlaps`)."""
    if accused.department is not None and accused.department.id == receiver.id:
        return True
    return unit_names.overlaps(accused.names, _names(receiver))


class Guard:
    """The 检举控告 rule over one step: `check` each department the step hands the case to.

    Without an override a hand-over to the accused unit is `accused_unit`. With one (the
    reason a supervisor gives; `forbidden` for any other role) it goes ahead, and `record`
    writes it on the case's timeline (staff-only) and in the audit log once the step is done.
    """

    def __init__(self, who: Principal, override: str | None) -> None:
        self._who = who
        self._reason: str | None = None
        self._overridden: list[tuple[Department, str]] = []
        if override is None:
            return
        if who.role not in OVERRIDE_ROLES:
            raise Forbidden("只有督查人员可以例外批准将检举控告交给被检举控告单位")
        reason = override.strip()
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            raise InvalidInput(
                f"请填写例外批准的理由（{REASON_MIN}–{REASON_MAX}字）",
                fields={"accused_override": f"{REASON_MIN} to {REASON_MAX} characters"},
            )
        self._reason = reason

    def check(
        self,
        accused: Accused | None,
        receiver: Department | None,
        *,
        step: str = "转送、交办给被检举控告单位",
    ) -> None:
        """`accused_unit` when the case would be with the unit it accuses (`step` names how),
        unless overridden."""
        if accused is None or receiver is None or not may_be(accused, receiver):
            return
        if self._reason is None:
            if unit_names.key(accused.name) == unit_names.key(receiver.name):
                raise AccusedUnit(f"该事项为检举控告，被检举控告单位为{receiver.name}，不得{step}")
            raise AccusedUnit(
                f"该事项为检举控告，被检举控告单位“{accused.name}”与{receiver.name}"
                f"名称相同或相近，不得{step}"
            )
        self._overridden.append((receiver, step))

    async def record(self, session: AsyncSession, case_id: int, *, at: datetime) -> None:
        """Write each override the step used (once per department) on the case and audit it."""
        done: set[int] = set()
        for receiver, step in self._overridden:
            if receiver.id in done:
                continue
            done.add(receiver.id)
            department = {"code": receiver.code, "name": receiver.name}
            await append_event(
                session,
                case_id=case_id,
                kind=OVERRIDE_KIND,
                at=at,
                actor_id=self._who.user_id,
                visibility=Visibility.STAFF,
                data={"department": department, "step": step, "reason": self._reason},
            )
            await audit.record(
                session,
                at=at,
                user_id=self._who.user_id,
                action=OVERRIDE_KIND,
                target_type="case",
                target_id=case_id,
                detail={"department": department, "step": step, "reason": self._reason},
            )


async def record(
    session: AsyncSession,
    case: Case,
    accused: Accused | None,
    *,
    actor_id: int | None,
    reason: str,
    at: datetime,
) -> None:
    """Store the accused unit on the case with a restricted timeline event."""
    case.accused_department_id = accused.department.id if accused and accused.department else None
    case.accused_name = accused.name if accused and accused.department is None else None
    data: dict[str, Any] = {"reason": reason}
    data["accused"] = accused.as_json() if accused else None
    await append_event(
        session,
        case_id=case.id,
        kind=EVENT_KIND,
        at=at,
        actor_id=actor_id,
        visibility=Visibility.RESTRICTED,
        data=data,
    )
