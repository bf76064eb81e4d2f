"""What every request of one app shares: settings, the database and the case desk.

Built once per process. Nothing in it needs to be shared with other
processes: sessions, lockouts, rate limits and idempotency keys are in the
database. Its caches are of immutable things (definition versions, compiled
statements) or checked against the database (the desk's recent case rows,
by version), so any number of processes may serve side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from counter.cases.desk import Desk
from counter.cases.dispatch import Dispatcher
from counter.config import Settings
from counter.engine.loader import Workflow
from counter.store.db import Database

__all__ = ["WebContext", "build_context"]


@dataclass
class WebContext:
    settings: Settings
    db: Database
    desk: Desk
    dispatcher: Dispatcher

    def workflow_of(self, definition_hash: str) -> Workflow:
        """The definition version a case runs on (for its forms and masking classes)."""
        return self.desk.workflow_of(definition_hash)


def build_context(settings: Settings, *, db: Database | None = None) -> WebContext:
    """The desk over the settings' workflows; its outbox delivered as the settings say
    (``counter.cases.worker.connect_delivery``: inline after commit, or by the worker).

    The desk is a ``CounterDesk``: a teller opens a counter-channel case only
    while their counter (window) is open.
    """
    from counter.branchday.wiring import wire_counter
    from counter.cases.worker import connect_delivery

    db = db or Database.from_settings(settings)
    wired = wire_counter(db, settings=settings, attach=False)
    connect_delivery(wired, settings)
    return WebContext(settings=settings, db=db, desk=wired.desk, dispatcher=wired.dispatcher)
