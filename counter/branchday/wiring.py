"""The desk of a branch with counter sessions, wired like ``counter.cases.wiring.wire``."""

from __future__ import annotations

from typing import Any

from counter.branchday.sessions import CounterDesk
from counter.cases.dispatch import Dispatcher
from counter.cases.wiring import Wired, delivery_options, register_handlers, wire
from counter.store.db import Database

__all__ = ["wire_counter"]


def wire_counter(db: Database, *, attach: bool = True, **options: Any) -> Wired:
    """``wire(db, ...)`` with a :class:`CounterDesk` in place of the plain ``Desk``.

    ``options`` are ``wire``'s (settings, services, registry, catalog) and the
    dispatcher's. The plain desk ``wire`` builds is only used for its runtime
    and services.
    """
    wire_names = {"settings", "services", "registry", "catalog"}
    base = wire(db, attach=False, **{k: v for k, v in options.items() if k in wire_names})
    desk = CounterDesk(db, base.desk.runtime, base.desk.services)
    chosen = {k: v for k, v in options.items() if k not in wire_names}
    dispatcher = register_handlers(  # the settings' retries and lease, as ``wire`` gives them
        Dispatcher(desk, **{**delivery_options(desk.services.settings), **chosen})
    )
    if attach:
        dispatcher.attach()
    return Wired(desk, dispatcher)
