"""The branch's day: tellers' counter sessions, handovers, end of day, the supervisors' dashboard.

* ``sessions``: :class:`~counter.branchday.sessions.CounterDesk` (a ``Desk``
  that refuses a teller's case while their counter is closed and maps each
  case to its session), ``open_counter`` and ``close_counter``;
* ``handover``: offer an open case to another teller, who accepts it;
"""

from __future__ import annotations

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
    "CounterDesk",
    "CounterSessionView",
    "HandoverView",
    "accept_handover",
    "at_counter",
    "branch_sessions",
    "close_counter",
    "current_session",
    "decline_handover",
    "offer_handover",
    "open_counter",
    "pending_handovers",
    "withdraw_handover",
]
