"""Wiring the printed slip: who delivers the ``slip.issue`` outbox effect.

A workflow's ``issue_slip`` action writes ``slip.issue`` when a case
completes; the dispatcher then renders, stores and journals the slip
(``counter.slips.issue.issue_case_slip``) after the step has committed, so
the teller who completed the case never waits on rendering. Issuing is
idempotent: a second delivery of the message returns the slip stored by the
first, so the message needs no claim: storing the slip and settling the
message commit together. A failure (a broken template) is retried with the
dispatcher's backoff and leaves the case completed without a slip until it
succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counter.cases.dispatch import Dispatcher, OutboxMessage, Settle
from counter.cases.services import Services
from counter.slips.issue import SLIP_EFFECT, StoredSlip, issue_case_slip

__all__ = ["register_slip_handler"]


def _answer(slip: StoredSlip) -> Mapping[str, Any]:
    return {
        "copy_number": slip.copy_number,
        "fmt": slip.fmt,
        "sha256": slip.sha256,
        "template_version": slip.template_version,
    }


def register_slip_handler(dispatcher: Dispatcher) -> Dispatcher:
    """Deliver ``slip.issue`` on ``dispatcher``: issue the case's original slip.

    A local handler: no claim, and the message is settled in the transaction
    that stores the slip (one write transaction for the whole print).
    """
    desk = dispatcher.desk

    def deliver_slip(
        message: OutboxMessage, services: Services, settle: Settle
    ) -> Mapping[str, Any]:
        slip = issue_case_slip(
            desk,
            reference=message.case_reference,
            within=lambda conn, stored: settle(conn, _answer(stored)),
        )
        return _answer(slip)

    dispatcher.register_local_handler(SLIP_EFFECT, deliver_slip)
    return dispatcher
