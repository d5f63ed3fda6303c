"""Which cases a village station (终端) acts for: those with a queue ticket it issued, or whose
parties name its agent (代办). Registration records both, and both move with a split or a
merge, so the rule survives links that change `Case.registered_by`'s meaning.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import User, Village
from hall.cases.tables import Case, CaseParty, PartyRole
from hall.queue.tables import Ticket


def acts_for(terminal_id: int) -> ColumnElement[bool]:
    """A condition on `Case`: the station `terminal_id` issued a ticket of the case, or its
    agent is a `proxy_agent` party of it."""
    ticket = exists().where(Ticket.case_id == Case.id, Ticket.terminal_id == terminal_id)
    agent = exists().where(
        CaseParty.case_id == Case.id,
        CaseParty.role == PartyRole.PROXY_AGENT,
        CaseParty.user_id == User.id,
        User.terminal_id == terminal_id,
    )
    return or_(ticket, agent)


async def station_acts_for(session: AsyncSession, terminal_id: int | None, case_id: int) -> bool:
    """Whether the station acts for the case (False for no station)."""
    if terminal_id is None:
        return False
    found = await session.scalar(select(Case.id).where(Case.id == case_id, acts_for(terminal_id)))
    return found is not None


async def all_villages(session: AsyncSession) -> list[Village]:
    """Every village served by a station, in id order."""
    return list(await session.scalars(select(Village).order_by(Village.id)))
