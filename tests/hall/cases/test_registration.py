"""Registering a petitioner and a matter: validation, case number, ticket, no duplicates."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hall.cases.registration import Registration, register
from hall.cases.tables import Case, Petitioner
from hall.cases.timeline import verify_chain
from hall.db import Database
from hall.errors import Conflict, InvalidInput
from hall.queue.tables import Channel, Ticket
from tests.support import QS, T0, principal, valid_id_number

GOOD = Registration(
    name="李四",
    id_number=valid_id_number("41010219800101123"),
    phone="13912345678",
    village_id=1,
    head_count=2,
    summary="拖欠工程款，请求协调解决",
    line_code="urban",
)


async def count(db: Database, model: type[object]) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_registration_opens_case_and_numbered_ticket(db: Database) -> None:
    who = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        done = await register(session, who, GOOD, channel=Channel.REMOTE, now=T0, settings=QS)
    assert done.ticket.number == "C001"
    assert done.ticket.state == "waiting"
    assert done.case.number.startswith("JF20261102")
    assert len(done.case.query_code) == 6
    assert done.case.proxy is True
    async with db.reader() as session:
        assert await verify_chain(session, done.case.id) == []


async def test_invalid_fields_are_all_reported_and_nothing_stored(db: Database) -> None:
    who = await principal(db, "village-zhangzhuang")
    bad = dataclasses.replace(
        GOOD, id_number="110105194912310021", phone="123", summary="  ", line_code="moon"
    )
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as session:
            await register(session, who, bad, channel=Channel.REMOTE, now=T0, settings=QS)
    assert set(caught.value.fields) == {"id_number", "phone", "summary", "line"}
    assert await count(db, Case) == 0
    assert await count(db, Petitioner) == 0
    assert await count(db, Ticket) == 0


async def test_second_waiting_ticket_for_same_petitioner_is_a_conflict(db: Database) -> None:
    who = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        await register(session, who, GOOD, channel=Channel.REMOTE, now=T0, settings=QS)
    with pytest.raises(Conflict, match="C001"):
        async with db.transaction() as session:
            await register(
                session,
                who,
                GOOD,
                channel=Channel.REMOTE,
                now=T0 + timedelta(minutes=1),
                settings=QS,
            )
    assert await count(db, Ticket) == 1


async def test_ticket_numbers_count_per_line_and_day(db: Database) -> None:
    who = await principal(db, "desk")
    numbers = []
    for i in range(3):
        reg = dataclasses.replace(GOOD, id_number=valid_id_number(f"4101021980010112{i}"))
        async with db.transaction() as session:
            done = await register(session, who, reg, channel=Channel.WALK_IN, now=T0, settings=QS)
        numbers.append(done.ticket.number)
    other = dataclasses.replace(
        GOOD, id_number=valid_id_number("41010219800101129"), line_code="legal"
    )
    async with db.transaction() as session:
        legal = await register(session, who, other, channel=Channel.WALK_IN, now=T0, settings=QS)
    assert numbers == ["C001", "C002", "C003"]
    assert legal.ticket.number == "D001"
    next_day = dataclasses.replace(GOOD, id_number=valid_id_number("41010219800101128"))
    async with db.transaction() as session:
        tomorrow = await register(
            session, who, next_day, channel=Channel.WALK_IN, now=T0 + timedelta(days=1), settings=QS
        )
    assert tomorrow.ticket.number == "C001"
