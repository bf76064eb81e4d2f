"""For the benchmarks: each process keeps a file saying how many write transactions it ran.

With ``COUNTER_BENCH_TALLY_DIR`` set, the web processes and the outbox worker
each rewrite ``<dir>/<pid>`` a few times a second with their
``write_transactions()``; the load benchmark sums the files before and after
a phase, so it counts the writes of every process of the server, however
many uvicorn started, without asking any of them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from counter.store.db import write_transactions

__all__ = ["TALLY_SECONDS", "read_tally", "start_tally"]

TALLY_SECONDS = 0.2


def _write(directory: Path) -> None:
    path = directory / str(os.getpid())
    scratch = path.with_suffix(".new")
    scratch.write_text(f"{write_transactions()}\n", encoding="ascii")
    scratch.replace(path)  # a reader never sees half a number


def start_tally(directory: Path) -> threading.Event:
    """Keep this process's file up to date until the returned event is set (then once more)."""
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(TALLY_SECONDS):
            _write(directory)
        _write(directory)

    _write(directory)
    threading.Thread(target=keep, name="counter-tally", daemon=True).start()
    return stop


def read_tally(directory: Path) -> int:
    """The write transactions of every process that kept a file in ``directory``."""
    return sum(int(path.read_text(encoding="ascii") or 0) for path in directory.iterdir()
               if path.suffix != ".new")
