"""The branch's day: tellers' counter sessions, handovers, end of day, the supervisors' dashboard.

* ``sessions``: :class:`~counter.branchday.sessions.CounterDesk` (a ``Desk``
  that refuses a teller's case while their counter is closed and maps each
  case to its session), ``open_counter`` and ``close_counter``;
* ``handover``: offer an open case to another teller, who accepts it;
* ``closing``: ``close_day`` (a supervisor closes the branch's day) and the
  stored report of a closed day; ``figures`` reads the day from the journal,
  ``report`` renders it (HTML and PDF), ``charts`` draws its SVG charts;
* ``wiring``: ``wire_counter``, the desk of a branch with counter sessions.
"""

from __future__ import annotations

from counter.branchday._tables import local_day
from counter.branchday.closing import Blockers, ClosedDay, close_day, closed_day
from counter.branchday.figures import DayFigures, day_figures
from counter.branchday.handover import (
    HandoverView,
    accept_handover,
    decline_handover,
    offer_handover,
    pending_handovers,
    withdraw_handover,
)
from counter.branchday.sessions import (
    CounterDesk,
    CounterSessionView,
    at_counter,
    branch_sessions,
    close_counter,
    current_session,
    open_counter,
)

__all__ = [
    "Blockers",
    "ClosedDay",
    "CounterDesk",
    "CounterSessionView",
    "DayFigures",
    "HandoverView",
    "accept_handover",
    "at_counter",
    "branch_sessions",
    "close_counter",
    "close_day",
    "closed_day",
    "current_session",
    "day_figures",
    "decline_handover",
    "local_day",
    "offer_handover",
    "open_counter",
    "pending_handovers",
    "withdraw_handover",
]
