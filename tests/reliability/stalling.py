"""An acquirer that holds its first answer for each case until the test lets it go.

Set ``COUNTER_ACQUIRER_ADAPTER=tests.reliability.stalling:acquirer`` and
``COUNTER_TEST_STALL_DIR`` for a ``counter serve`` (and its worker): the
first ``execute_unbind`` of a case really unbinds (the local acquirer's
registry changes), then writes ``executed-<reference>`` holding the process
id and waits until the file ``release`` exists, so that the worker is caught
between claiming the message and finishing it. Later calls for the case
answer at once (from the acquirer's record, as a real acquirer would).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from counter.adapters import LocalAcquirerRegistry
from counter.adapters.acquirer import UnbindResult
from counter.config import Settings
from counter.store.db import Database

__all__ = ["StallingAcquirer", "acquirer", "executed_marker"]

HOLD_LIMIT = 120.0  # seconds at most, so that a forgotten release never hangs a test run


def executed_marker(folder: Path, reference: str) -> Path:
    return folder / f"executed-{reference}"


class StallingAcquirer(LocalAcquirerRegistry):
    def __init__(self, db: Database, folder: Path) -> None:
        super().__init__(db)
        self.folder = folder

    def execute_unbind(
        self, reference: str, merchant_no: str, terminal_sn: str, account_number: str
    ) -> UnbindResult:
        marker = executed_marker(self.folder, reference)
        first = not marker.exists()
        answer = super().execute_unbind(reference, merchant_no, terminal_sn, account_number)
        if first:
            written = marker.with_suffix(".writing")  # renamed whole: never read half-written
            written.write_text(str(os.getpid()))
            written.rename(marker)
            deadline = time.monotonic() + HOLD_LIMIT
            while not (self.folder / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return answer


def acquirer(settings: Settings, db: Database) -> StallingAcquirer:
    """The adapter factory ``COUNTER_ACQUIRER_ADAPTER`` names."""
    return StallingAcquirer(db, Path(os.environ["COUNTER_TEST_STALL_DIR"]))
