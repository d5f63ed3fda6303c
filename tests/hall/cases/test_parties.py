"""Parties of a case (当事人): collective visits with at most 5 representatives, each a validated
person; the proxy agent's submission as a party; parties masked on the case page; old cases get
their petitioner as a party when the database is upgraded."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select

from hall.audit import AuditEntry
from hall.cases import cases
from hall.cases.parties import Person
from hall.cases.registration import Registration, register
from hall.cases.tables import Case, CaseParty, Petitioner
from hall.db import Database, alembic_config, migrate
from hall.errors import DuplicateParty, HeadCountTooLow, InvalidInput, TooManyRepresentatives
from hall.queue.tables import Channel, Ticket
from tests.hall.test_migration_upgrade import _fill_0001
from tests.support import QS, T0, principal, valid_id_number


def rep(n: int, **overrides: str) -> Person:
    person = Person(
        name=f"代表{n}", id_number=valid_id_number(f"32010219750505{n:03d}"), phone="13700137000"
    )
    return dataclasses.replace(person, **overrides)


COLLECTIVE = Registration(
    name="赵六",
    id_number=valid_id_number("32010219700101123"),
    phone="13912345678",
    village_id=1,
    head_count=30,
    summary="征地补偿标准过低，三十户村民请求复核补偿",
    line_code="grassroots",
    collective=True,
    representatives=(rep(1), rep(2)),
)


async def count(db: Database, model: type[object]) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_collective_visit_stores_representatives_and_proxy_as_parties(db: Database) -> None:
    terminal = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        done = await register(
            session, terminal, COLLECTIVE, channel=Channel.REMOTE, now=T0, settings=QS
        )
    officer = await principal(db, "officer-grassroots")
    async with db.reader() as session:
        view = await cases.case_view(session, officer, done.case.id)
    assert done.case.collective is True
    assert [(p.role, p.name) for p in view.parties] == [
        ("petitioner", "赵六"),
        ("representative", "代表1"),
        ("representative", "代表2"),
        ("proxy_agent", "张庄村代办员（张庄村信息中心）"),
    ]
    representative = view.parties[1]
    assert representative.id_number == rep(1).id_number[:3] + "*" * 11 + rep(1).id_number[-4:]
    assert representative.phone == "137****7000"
    # Petitioner records stay separate from cases: one per person.
    assert await count(db, Petitioner) == 3


async def test_an_officer_reveals_a_representative_with_an_audit_entry(db: Database) -> None:
    terminal = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        done = await register(
            session, terminal, COLLECTIVE, channel=Channel.REMOTE, now=T0, settings=QS
        )
    officer = await principal(db, "officer-grassroots")
    async with db.reader() as session:
        view = await cases.case_view(session, officer, done.case.id)
    person_id = view.parties[2].petitioner_id
    assert person_id is not None
    async with db.transaction() as session:
        full = await cases.unmasked_petitioner(session, officer, person_id, now=T0)
    assert full.id_number == rep(2).id_number
    async with db.reader() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry is not None
    assert (entry.action, entry.target_id) == ("read_personal", str(person_id))


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (
            {"representatives": tuple(rep(n) for n in range(1, 7))},
            TooManyRepresentatives,
            "representatives",
        ),
        ({"head_count": 2}, HeadCountTooLow, "head_count"),
        (
            {"representatives": (rep(1), rep(1, name="别人"))},
            DuplicateParty,
            "representatives.1.id_number",
        ),
        (
            {"representatives": (rep(1, id_number=COLLECTIVE.id_number),)},
            DuplicateParty,
            "representatives.0.id_number",
        ),
        ({"collective": False}, InvalidInput, "representatives"),
    ],
)
async def test_collective_rules_refuse_and_store_nothing(
    db: Database, change: dict[str, object], error: type[InvalidInput], field: str
) -> None:
    desk = await principal(db, "desk")
    bad = dataclasses.replace(COLLECTIVE, **change)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        async with db.transaction() as session:
            await register(session, desk, bad, channel=Channel.WALK_IN, now=T0, settings=QS)
    assert type(caught.value) is error
    assert field in caught.value.fields
    for model in (Case, CaseParty, Petitioner, Ticket):
        assert await count(db, model) == 0


async def test_each_representative_is_validated_like_the_petitioner(db: Database) -> None:
    desk = await principal(db, "desk")
    bad = dataclasses.replace(
        COLLECTIVE,
        representatives=(rep(1, id_number="110105194912310021"), rep(2, phone="12", name=" ")),
    )
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as session:
            await register(session, desk, bad, channel=Channel.WALK_IN, now=T0, settings=QS)
    assert caught.value.code == "invalid_input"
    assert caught.value.fields == {
        "representatives.0.id_number": "身份证号校验位错误",
        "representatives.1.name": "请填写姓名（不超过32字）",
        "representatives.1.phone": "电话号码格式不正确（11位手机号或带区号的固定电话）",
    }


async def test_upgrade_links_existing_cases_to_their_petitioner(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    _fill_0001(path)
    await migrate(url)
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT case_id, role, petitioner_id FROM case_parties").fetchall()
        collective = con.execute("SELECT collective FROM cases").fetchall()
    finally:
        con.close()
    assert rows == [(1, "petitioner", 1)]
    assert collective == [(0,)]
