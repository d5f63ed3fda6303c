"""The 检举控告 rule (信访工作条例): a matter classified as an accusation records the accused unit
(被检举控告单位, a department or a name) and is never transferred or assigned to it. The accused
unit is restricted data: a `restricted` timeline event, never public, never shown to departments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.errors import AccusedUnit, InvalidInput
from hall.model import Case, Classification, Department, Visibility
from hall.timeline import append_event

EVENT_KIND = "accused_unit_recorded"
NAME_MIN = 2
NAME_MAX = 128


@dataclass(frozen=True, slots=True)
class Accused:
    """The accused unit: a department of the hall's list, or a unit named in words."""

    department: Department | None
    name: str

    def as_json(self) -> dict[str, Any]:
        """As stored in the restricted event and shown to the bureau's staff."""
        code = self.department.code if self.department else None
        return {"department": code, "name": self.name}


def _normalise(name: str) -> str:
    return "".join(name.split())


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
        text = name.strip()
        if not NAME_MIN <= len(text) <= NAME_MAX:
            raise InvalidInput(
                f"请填写被检举控告单位名称（{NAME_MIN}–{NAME_MAX}字）",
                fields={"accused_name": f"{NAME_MIN} to {NAME_MAX} characters"},
            )
        # A name that is a department of the list is that department (the rule compares ids).
        for department in await session.scalars(select(Department)):
            if _normalise(department.name) == _normalise(text):
                return Accused(department, department.name)
        return Accused(None, text)
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


def refuse_if_accused(
    accused: Accused | None,
    receiver: Department | None,
    *,
    step: str = "转送、交办给被检举控告单位",
) -> None:
    """`accused_unit` when the case would be with the unit it accuses (`step` names how)."""
    if accused is None or receiver is None:
        return
    same = (
        accused.department.id == receiver.id
        if accused.department is not None
        else _normalise(accused.name) == _normalise(receiver.name)
    )
    if same:
        raise AccusedUnit(f"该事项为检举控告，被检举控告单位为{receiver.name}，不得{step}")


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
