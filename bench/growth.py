"""Trigger cost as the database fills: the engine benchmark over 10^3, 10^4 and 10^5 old cases.

    python -m bench.growth [--sizes 1000,10000,100000] [--cases N] [--json]

For each size, a fresh database gets that many finished cases with their
journal entries, journal heads and outbox messages, copied in bulk with SQL
from one case the desk has just completed (so that the rows look exactly
like the ones the desk writes, but no runtime is involved). Then the engine
benchmark (``bench.engine.EngineRun``: whole parcel cases through ``Desk``
on SQLite, ``synchronous=FULL``) runs on every size, the sizes and the raw
durable-transaction floor taking turns case by case.

Flat means the smallest database and the largest cost the same per trigger:
the ``ratio`` is the median of the per-turn ``largest ÷ smallest``
triggers/s, and ``slope`` is the change in cost per trigger (relative to
the floor) per tenfold growth, from a least-squares fit over the sizes.
The run also asks SQLite for the plan of every statement one case sends and
names any that scans a whole table.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench._floor import DurableSqlite, rate
from bench.engine import STEPS_PER_CASE, EngineRun
from bench.report import Result, alternate, python_command

__all__ = ["TARGET", "fill", "main", "measure", "scans"]

TARGET = 0.90  # the largest database keeps at least 90% of the smallest one's rate
DEFAULT_SIZES = (1_000, 10_000, 100_000)

# The history is copied from the desk's own first case, row for row, renamed.
_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
_REFERENCE = "printf('H%03d-20250101-%06d', i % 50, i)"


def _columns(conn: sqlite3.Connection, table: str, *, without: Sequence[str] = ()) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")
            if row[1] not in without]


def _copy(conn: sqlite3.Connection, table: str, *, by: str, template: str, count: int,
          replace: dict[str, str]) -> None:
    """Insert ``count`` copies of ``template``'s rows of ``table``, with columns replaced."""
    columns = _columns(conn, table, without=("id",))
    if not columns:
        return
    chosen = ", ".join(replace.get(c, f"t.{c}") for c in columns)
    conn.execute(
        f"{_NUMBERS}INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {chosen} FROM n, {table} t WHERE t.{by} = :template",
        {"count": count, "template": template},
    )


def fill(path: Path, count: int) -> int:
    """Add ``count`` finished cases copied from the first case in ``path``; returns rows added."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        template = conn.execute("SELECT reference FROM teller_case ORDER BY id LIMIT 1").fetchone()
        if template is None:
            raise RuntimeError(f"{path}: no case to copy (run one case through the desk first)")
        before = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        _copy(conn, "teller_case", by="reference", template=template[0], count=count,
              replace={"reference": _REFERENCE})
        _copy(conn, "case_events", by="stream", template=template[0], count=count,
              replace={"stream": _REFERENCE, "hash": "lower(hex(randomblob(32)))"})
        _copy(conn, "journal_heads", by="stream", template=template[0], count=count,
              replace={"stream": _REFERENCE})
        _copy(conn, "outbox", by="case_reference", template=template[0], count=count,
              replace={"case_reference": _REFERENCE, "status": "'delivered'",
                       "key": f"{_REFERENCE} || '/' || t.kind || '/' || t.id"})
        _copy(conn, "approvals", by="case_reference", template=template[0], count=count,
              replace={"case_reference": _REFERENCE})
        conn.execute(
            f"{_NUMBERS}INSERT OR REPLACE INTO case_sequences (branch, day, last) "
            "SELECT printf('H%03d', i % 50), '20250101', max(i) FROM n GROUP BY i % 50",
            {"count": count},
        )
        conn.execute("COMMIT")
        return conn.total_changes - before
    finally:
        conn.close()


_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def scans(run: EngineRun) -> tuple[int, list[str]]:
    """The distinct statements one whole case sends, and those whose plan scans a whole table.

    Statements are caught by sqlite3's trace callback, below SQLAlchemy, so
    that a hot path that hands SQL straight to the driver is seen too.
    """
    sent: dict[str, str] = {}  # shape (literals as ?) -> the statement as executed

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
            sent.setdefault(_LITERAL.sub("?", statement), statement)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.set_trace_callback(trace)

    engine = run.db.engine
    engine.dispose()  # every connection from here on is traced
    event.listen(engine, "connect", on_connect)
    try:
        run.run(1)
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()
    if not run.db.path:
        raise RuntimeError("the growth benchmark runs on a SQLite file")
    conn = sqlite3.connect(run.db.path)
    found = []
    try:
        for shape, statement in sent.items():
            for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall():
                detail = str(row[-1])
                if detail.startswith("SCAN ") and "CONSTANT ROW" not in detail:
                    found.append(f"{detail}: {' '.join(shape.split())[:160]}")
    finally:
        conn.close()
    return len(sent), found


def _slope(sizes: Sequence[int], costs: Sequence[float]) -> float:
    """Least-squares change of cost per tenfold size, relative to the smallest size's cost."""
    xs = [math.log10(s) for s in sizes]
    ys = [c / costs[0] for c in costs]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def measure(*, sizes: Sequence[int], cases: int, work_dir: Path) -> Result:
    runs: dict[int, EngineRun] = {}
    fill_seconds: dict[int, float] = {}
    floor = DurableSqlite(work_dir / "floor.db")
    try:
        for size in sizes:
            path = work_dir / f"engine-{size}.db"
            runs[size] = EngineRun(path)  # also completes the case the history is copied from
            started = time.perf_counter()
            fill(path, size - 1)
            fill_seconds[size] = time.perf_counter() - started
        statements, full_scans = scans(runs[max(sizes)])
        sides: dict[str, Callable[[], float]] = {
            **{str(size): functools.partial(runs[size].run, 1) for size in sizes},
            "floor": functools.partial(floor.run, STEPS_PER_CASE),
        }
        seconds = alternate(sides, turns=cases)
        rates: dict[int | str, list[float]] = {
            (name if name == "floor" else int(name)): [rate(STEPS_PER_CASE, t) for t in spent]
            for name, spent in seconds.items()
        }
    finally:
        for run in runs.values():
            run.close()
        floor.close()

    def overall(side: int | str) -> float:
        return len(rates[side]) / sum(1 / r for r in rates[side])

    to_floor = {
        size: statistics.median(a / b for a, b in zip(rates[size], rates["floor"], strict=True))
        for size in sizes
    }
    slope = _slope(sizes, [1 / to_floor[size] for size in sizes])
    smallest, largest = min(sizes), max(sizes)
    ratio = statistics.median(
        a / b for a, b in zip(rates[largest], rates[smallest], strict=True)
    )
    lines = [
        *(f"{size:,} finished cases: {overall(size):,.0f} triggers/s, {to_floor[size]:.2f} of "
          f"the floor (history copied in {fill_seconds[size]:.1f} s)" for size in sizes),
        f"floor: {overall('floor'):,.0f} transactions/s (raw sqlite3, one UPDATE + one INSERT)",
        f"slope: {slope:+.1%} cost per trigger per tenfold growth (least squares over "
        f"{len(sizes)} sizes)",
        f"query plans: {statements} distinct statements per case, "
        + (f"{len(full_scans)} scan a whole table" if full_scans else "none scans a whole table"),
        *(f"full scan: {line}" for line in full_scans),
        f"{cases} new cases per size ({STEPS_PER_CASE} triggers each), the sizes "
        "and the floor taking turns case by case",
    ]
    args = ["--sizes", ",".join(str(s) for s in sizes), "--cases", str(cases)]
    return Result(
        name="growth",
        title="trigger cost as the database grows",
        figure=overall(largest),
        floor=overall(smallest),
        ratio=ratio,
        units="triggers/s",
        figure_label=f"{largest:,} old cases",
        floor_label=f"{smallest:,} old cases",
        command=python_command("bench.growth", args),
        target=TARGET,
        lines=lines,
        extra={
            "slope": slope,
            "sizes": list(sizes),
            "per_size": {str(s): overall(s) for s in sizes},
            "to_floor": {str(s): to_floor[s] for s in sizes},
            "full_scans": full_scans,
        },
    )


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    if len(sizes) < 2 or sizes[0] < 1:
        raise argparse.ArgumentTypeError("give at least two sizes of one or more cases")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES))
    parser.add_argument("--cases", type=int, default=150, help="new cases per size")
    parser.add_argument("--dir", type=Path, default=None, help="where the database files go")
    parser.add_argument("--json", action="store_true", help="end with the result as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="counter-bench-growth-", dir=args.dir) as tmp:
        result = measure(sizes=args.sizes, cases=args.cases, work_dir=Path(tmp))
    result.print(as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
