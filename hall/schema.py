"""The whole schema: imports every context's tables so that Alembic and the tests see all of them.

`hall.db` imports it, so any code that opens the database has every table and foreign key
target in the metadata, whichever context it started from.
"""

from __future__ import annotations

from hall import audit
from hall.accounts import tables as accounts
from hall.calendar import tables as calendar
from hall.cases import tables as cases
from hall.meetings import tables as meetings
from hall.orm import Base
from hall.queue import tables as queue
from hall.visits import tables as visits

CONTEXTS = (audit, accounts, calendar, cases, meetings, queue, visits)
metadata = Base.metadata
