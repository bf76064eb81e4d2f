"""Shared floor measurements: what the hardware does without any of our code."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

__all__ = ["DurableSqlite", "rate"]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


class DurableSqlite:
    """Raw sqlite3 transactions of one UPDATE and one INSERT each, WAL with ``synchronous=FULL``.

    As counter runs SQLite: every commit reaches the disk before it returns.
    """

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, version INTEGER, body TEXT)")
        self.conn.execute(
            "CREATE TABLE event (id INTEGER PRIMARY KEY, item INTEGER, seq INTEGER, body TEXT)"
        )
        self.conn.execute("INSERT INTO item VALUES (1, 0, '{}')")
        self.version = 0

    def run(self, count: int) -> float:
        """Seconds for ``count`` transactions."""
        body = '{"state": "x", "data": {"a": 1}}'
        execute = self.conn.execute
        started = time.perf_counter()
        for _ in range(count):
            execute("BEGIN IMMEDIATE")
            execute(
                "UPDATE item SET version = version + 1, body = ? WHERE id = 1 AND version = ?",
                (body, self.version),
            )
            self.version += 1
            execute("INSERT INTO event (item, seq, body) VALUES (1, ?, ?)", (self.version, body))
            execute("COMMIT")
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()
