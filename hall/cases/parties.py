"""Parties of a case (当事人): the petitioner, the representatives of a collective visit (集体访,
at most 5, 信访工作条例 Art. 20) and the village agent who submitted it (代办); petitioner records
stay separate from cases and are linked here with a role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Terminal, User, Village
from hall.cases.tables import CaseParty, PartyRole, Petitioner
from hall.errors import DuplicateParty, HeadCountTooLow, TooManyRepresentatives
from hall.privacy import id_number_problem, mask_id_number, mask_phone, phone_problem

MAX_REPRESENTATIVES = 5
MAX_NAME = 32
ROLE_LABELS: Mapping[PartyRole, str] = MappingProxyType(
    {
        PartyRole.PETITIONER: "信访人",
        PartyRole.REPRESENTATIVE: "代表",
        PartyRole.PROXY_AGENT: "代办员",
    }
)


@dataclass(frozen=True, slots=True)
class Person:
    """A person named in a registration: the petitioner or one representative (代表)."""

    name: str
    id_number: str
    phone: str

    @property
    def key(self) -> str:
        """The identity number as stored (trimmed, upper-case X)."""
        return self.id_number.strip().upper()


@dataclass(frozen=True, slots=True)
class PartyView:
    """A party as the case page shows it: identity number and phone masked.

    `petitioner_id` is set for people (their full record can be revealed, audited); `agent`
    names the proxy agent's account and terminal instead.
    """

    id: int
    role: str
    role_label: str
    petitioner_id: int | None
    name: str
    id_number: str
    phone: str
    village: str
    agent: str


def person_problems(person: Person, prefix: str) -> dict[str, str]:
    """Why the person's fields are wrong, keyed `<prefix>name` / `id_number` / `phone`."""
    problems: dict[str, str] = {}
    name = person.name.strip()
    if not name or len(name) > MAX_NAME:
        problems[f"{prefix}name"] = f"请填写姓名（不超过{MAX_NAME}字）"
    if (why := id_number_problem(person.id_number)) is not None:
        problems[f"{prefix}id_number"] = why
    if (why := phone_problem(person.phone)) is not None:
        problems[f"{prefix}phone"] = why
    return problems


def check_collective(
    petitioner: Person, representatives: Sequence[Person], *, collective: bool, head_count: int
) -> dict[str, str]:
    """The representatives' field problems; raises the rule a collective visit breaks.

    `too_many_representatives` above 5; `duplicate_party` when an identity number appears twice
    (the petitioner included); `head_count_below_representatives` when the head count is below
    the number of people named (petitioner + representatives). Representatives only come with
    a collective visit (`invalid_input` otherwise).
    """
    if representatives and not collective:
        return {"representatives": "只有集体访可以登记代表"}
    if len(representatives) > MAX_REPRESENTATIVES:
        raise TooManyRepresentatives(
            f"集体访最多推选{MAX_REPRESENTATIVES}名代表，本次登记了{len(representatives)}名",
            fields={"representatives": f"at most {MAX_REPRESENTATIVES}"},
        )
    problems: dict[str, str] = {}
    for n, person in enumerate(representatives):
        problems.update(person_problems(person, f"representatives.{n}."))
    seen = {petitioner.key: "id_number"}
    for n, person in enumerate(representatives):
        field = f"representatives.{n}.id_number"
        if person.key in seen and f"representatives.{n}.id_number" not in problems:
            raise DuplicateParty(
                "同一身份证号在信访人和代表中重复出现",
                fields={field: f"与 {seen[person.key]} 重复"},
            )
        seen[person.key] = field
    named = 1 + len(representatives)
    if collective and head_count < max(2, named):
        raise HeadCountTooLow(
            f"来访人数（{head_count}）少于集体访登记的人数（信访人与代表共{max(2, named)}人）",
            fields={"head_count": f"at least {max(2, named)} for this collective visit"},
        )
    return problems


async def people_by_id_number(
    session: AsyncSession, id_numbers: Iterable[str]
) -> dict[str, Petitioner]:
    """The petitioner records that already exist for these identity numbers."""
    keys = sorted({n.strip().upper() for n in id_numbers})
    rows = await session.scalars(select(Petitioner).where(Petitioner.id_number.in_(keys)))
    return {p.id_number: p for p in rows}


async def store_person(
    session: AsyncSession, person: Person, *, village_id: int | None, now: datetime
) -> Petitioner:
    """The person's petitioner record, created or brought up to date (phone, village)."""
    record = await session.scalar(select(Petitioner).where(Petitioner.id_number == person.key))
    if record is None:
        record = Petitioner(
            name=person.name.strip(),
            id_number=person.key,
            phone=person.phone.strip(),
            village_id=village_id,
            created_at=now,
        )
        session.add(record)
        await session.flush()
    else:
        # The latest registration carries the current phone and village.
        record.phone = person.phone.strip()
        if village_id is not None:
            record.village_id = village_id
    return record


async def add_party(
    session: AsyncSession,
    case_id: int,
    role: PartyRole,
    *,
    now: datetime,
    petitioner_id: int | None = None,
    user_id: int | None = None,
) -> CaseParty | None:
    """Link a person (or the proxy agent's account) to the case; None if already linked."""
    query = select(CaseParty).where(CaseParty.case_id == case_id)
    if petitioner_id is not None:
        query = query.where(CaseParty.petitioner_id == petitioner_id)
    else:
        query = query.where(CaseParty.user_id == user_id, CaseParty.role == role)
    if await session.scalar(query) is not None:
        return None
    party = CaseParty(
        case_id=case_id, role=role, petitioner_id=petitioner_id, user_id=user_id, added_at=now
    )
    session.add(party)
    await session.flush()
    return party


async def parties_of(session: AsyncSession, case_ids: Sequence[int]) -> list[CaseParty]:
    """The parties of the cases, in role order (petitioner, representatives, agent) then added."""
    order = {role: n for n, role in enumerate(PartyRole)}
    rows = await session.scalars(
        select(CaseParty).where(CaseParty.case_id.in_(case_ids)).order_by(CaseParty.id)
    )
    return sorted(rows, key=lambda p: order.get(PartyRole(p.role), 9))


async def party_views(session: AsyncSession, case_id: int) -> list[PartyView]:
    """The case's parties for the case page, with identity numbers and phones masked."""
    views: list[PartyView] = []
    for party in await parties_of(session, [case_id]):
        role = PartyRole(party.role)
        if party.petitioner_id is not None:
            person = await session.get_one(Petitioner, party.petitioner_id)
            village = await session.get(Village, person.village_id) if person.village_id else None
            views.append(
                PartyView(
                    id=party.id,
                    role=role.value,
                    role_label=ROLE_LABELS[role],
                    petitioner_id=person.id,
                    name=person.name,
                    id_number=mask_id_number(person.id_number),
                    phone=mask_phone(person.phone),
                    village=village.name if village else "",
                    agent="",
                )
            )
            continue
        user = await session.get(User, party.user_id) if party.user_id else None
        terminal_id = user.terminal_id if user else None
        terminal = await session.get(Terminal, terminal_id) if terminal_id else None
        agent = user.display_name if user else "—"
        if terminal is not None:
            agent = f"{agent}（{terminal.name}）"
        views.append(
            PartyView(
                id=party.id,
                role=role.value,
                role_label=ROLE_LABELS[role],
                petitioner_id=None,
                name=agent,
                id_number="",
                phone="",
                village="",
                agent=agent,
            )
        )
    return views
