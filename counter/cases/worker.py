"""The outbox worker: a process of its own that delivers the outbox and renders slips.

A step's transaction writes its outbox messages (the acquirer's unbind, an
SMS, the slip to issue) and answers the teller as soon as it commits. Who
delivers them is the setting ``COUNTER_OUTBOX_DELIVERY``:

* ``worker`` (what ``counter serve`` runs): the web process only *rings*
  the doorbell of the database (``counter.store.doorbell``) after the
  commit; ``counter worker`` wakes, claims what is due and delivers it with
  the dispatcher, so a render or an acquirer's slow answer never holds a
  request, nor the web process's GIL. Without a ring it still polls every
  ``COUNTER_WORKER_POLL_SECONDS``, and sooner when a retry falls due.
* ``inline``: the process whose step wrote the messages delivers them right
  after the commit (``Dispatcher.attach``): the CLI demo, and tests that want
  the case complete when the call returns.

The worker is also the branch's housekeeper: every
``COUNTER_HOUSEKEEPING_SECONDS`` it expires idle cases (``Sweeper``), so that
with several web processes this runs once, not once per process.

Crash-safety is the dispatcher's: a delivery is claimed under a lease before
the outside system is called, and finished in the transaction of its
follow-up step. A worker killed in between leaves the message claimed; when
the lease ends any worker delivers it again under the same idempotency key,
which the outside system (the acquirer, by case reference) answers from its
record: the effect happens once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from counter.cases.dispatch import Dispatcher
from counter.cases.sweeper import Sweeper
from counter.cases.wiring import Wired
from counter.config import Settings
from counter.store.doorbell import Doorbell, doorbell_for

__all__ = ["OutboxWorker", "connect_delivery", "warm_slip_renderer"]

log = logging.getLogger(__name__)

_MIN_WAIT = 0.05  # seconds: never spin, whatever the clock says
_TICK = 1.0  # seconds: how soon a stop request or the parent's death is noticed


def connect_delivery(wired: Wired, settings: Settings) -> Doorbell | None:
    """Have ``wired``'s steps delivered as ``settings.outbox_delivery`` says.

    ``inline``: the dispatcher delivers right after each commit (returns None).
    ``worker``: each commit that wrote outbox messages rings the worker (the bell).
    """
    if settings.outbox_delivery == "inline":
        wired.dispatcher.attach()
        return None
    bell = doorbell_for(wired.desk.db)
    wired.desk.add_commit_listener(lambda reference: bell.ring())
    return bell


def warm_slip_renderer(wired: Wired) -> None:
    """Render one sample slip per workflow that prints one, and throw it away.

    The first render in a process loads WeasyPrint, discovers the fonts and
    compiles the templates (about 0.8 s): paid at start-up, not by the first
    completed case. A template that fails here is only logged; its cases'
    slips fail (and are retried) as they would have anyway.
    """
    from counter.slips.issue import case_slip_sources
    from counter.slips.render import default_renderer
    from counter.slips.sample import sample_context

    desk = wired.desk
    settings = desk.services.settings
    catalog = desk.runtime.catalog
    started = time.perf_counter()
    for name in catalog.names():
        workflow = catalog.current(name)
        if workflow.definition.slip is None:
            continue
        try:
            slip, sources = case_slip_sources(workflow, settings.forms_dir / "slips")
            # Every slip's fields, the new account of a card change included.
            sample = sample_context(policy=settings.masking, account_bound="6222021234567890128")
            default_renderer().render_from_sources(sources, slip, sample, fmt="a5")
        except Exception:
            log.warning("warming the slip of %s failed", name, exc_info=True)
    log.info("slip renderer warm in %.0f ms", (time.perf_counter() - started) * 1000)


class OutboxWorker:
    """Deliver due outbox messages when rung, on a fallback poll, and sweep idle cases."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        doorbell: Doorbell | None = None,
        sweeper: Sweeper | None = None,
        poll_seconds: float = 5.0,
        sweep_seconds: float = 0.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.db = dispatcher.db
        self.doorbell = doorbell or doorbell_for(dispatcher.db)
        self.sweeper = sweeper
        self.poll_seconds = max(0.05, poll_seconds)
        self.sweep_seconds = sweep_seconds
        self.delivered = 0

    def run_until_idle(self) -> int:
        """Deliver until nothing is due now; how many messages were finished."""
        finished = 0
        while True:
            done = self.dispatcher.run_once()
            finished += done
            if not done:
                self.delivered += finished
                return finished

    def next_due_in(self, now: datetime) -> float | None:
        """Seconds until the earliest pending message falls due (None: nothing pending)."""
        due = self.dispatcher.next_due()
        if due is None:
            return None
        return max(_MIN_WAIT, (due - now).total_seconds())

    def _sweep(self) -> None:
        if self.sweeper is None:
            return
        try:
            report = self.sweeper.run_once()
        except Exception:
            log.exception("sweep failed; trying again next round")
            return
        if report.expired or report.refused:
            log.info("sweep: %s", report)

    def run(self, stop: threading.Event, *, parent: int | None = None,
            ready: Callable[[], None] | None = None) -> None:
        """Work until ``stop`` is set (or the process ``parent`` is gone).

        A round that fails (the database restarting, say) is logged and the
        worker goes on: it waits a poll interval and tries again.
        """
        next_sweep = time.monotonic() + self.sweep_seconds if self.sweep_seconds > 0 else None
        with self.doorbell.listen() as bell:
            if ready is not None:
                ready()
            while not stop.is_set():
                wait = self.poll_seconds
                try:
                    self.run_until_idle()
                    due = self.next_due_in(self.dispatcher.services.now())
                    if due is not None:
                        wait = min(wait, due)
                except Exception:
                    log.exception("delivery round failed; trying again in %s s",
                                  self.poll_seconds)
                if next_sweep is not None and time.monotonic() >= next_sweep:
                    self._sweep()
                    next_sweep = time.monotonic() + self.sweep_seconds
                if next_sweep is not None:
                    wait = min(wait, max(0.0, next_sweep - time.monotonic()))
                deadline = time.monotonic() + wait
                while not stop.is_set():
                    if parent is not None and os.getppid() != parent:
                        log.warning("the serving process %s is gone: the worker stops", parent)
                        stop.set()
                        break
                    left = deadline - time.monotonic()
                    if left <= 0 or bell.wait(min(left, _TICK)):
                        break
