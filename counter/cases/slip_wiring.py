"""Wiring the printed slip: who delivers the ``slip.issue`` outbox effect.

A workflow's ``issue_slip`` action writes ``slip.issue`` when a case
completes; the dispatcher then renders, stores and journals the slip
(``counter.slips.issue.issue_case_slip``) after the step has committed, so
the teller who completed the case never waits on rendering. Issuing is
idempotent: a second delivery of the message returns the slip stored by the
first. A failure (a broken template) is retried with the dispatcher's
backoff and leaves the case completed without a slip until it succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counter.cases.dispatch import Dispatcher, OutboxMessage
from counter.cases.services import Services
from counter.slips.issue import SLIP_EFFECT, issue_case_slip

__all__ = ["register_slip_handler"]


def register_slip_handler(dispatcher: Dispatcher) -> Dispatcher:
    """Deliver ``slip.issue`` on ``dispatcher``: issue the case's original slip."""
    desk = dispatcher.desk

    def deliver_slip(message: OutboxMessage, services: Services) -> Mapping[str, Any]:
        slip = issue_case_slip(desk, reference=message.case_reference)
        return {
            "copy_number": slip.copy_number,
            "fmt": slip.fmt,
            "sha256": slip.sha256,
            "template_version": slip.template_version,
        }

    dispatcher.register_handler(SLIP_EFFECT, deliver_slip)
    return dispatcher
