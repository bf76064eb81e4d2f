"""A long-running process's heap after start-up: collected once, then left out of collections.

``counter serve``'s web processes and ``counter worker`` load the catalogs,
the templates, SQLAlchemy's statements and (the worker) a warmed slip
renderer once. Every full collection would walk all of it again, about 15 %
of a trigger's time in the engine benchmark's profile; ``gc.freeze()`` moves
what is alive at the end of start-up out of the collector's sight. The
garbage of start-up is collected first so that none of it is kept, and a
process freezes once however many apps it builds (the tests build many).
"""

from __future__ import annotations

import gc
import threading

__all__ = ["settle_after_startup"]

_settled = threading.Event()


def settle_after_startup() -> None:
    """Collect start-up's garbage and freeze what remains (once per process)."""
    if _settled.is_set():
        return
    _settled.set()
    gc.collect()
    gc.freeze()
