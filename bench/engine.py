"""Triggers per second through Desk on SQLite (synchronous=FULL) against the raw floor.

    python -m bench.engine [--cases N] [--dir DIR]

Fires N complete cases of the test-only parcel workflow (open, identity,
code, hand-over: four durable transactions each) through ``Desk`` and the
same number of raw sqlite3 transactions (one UPDATE and one INSERT each) on
a file in the same directory. The two take turns case by case (one case
through the desk and four raw transactions, which goes first alternating),
so that a burst of disk writes from a neighbour hits both alike; ``ratio``
is the median of the per-turn ratios (engine / floor), and the per-tenth
ratios show how steady the run was.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from sqlmodel import SQLModel

from bench._floor import DurableSqlite, rate
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.store.db import Database
from counter.store.migrate import import_table_modules

ROOT = Path(__file__).resolve().parent.parent
STEPS_PER_CASE = 4


def _parcel() -> ModuleType:
    """The test workflow's registry and actors (tests/engine/parcel.py)."""
    spec = importlib.util.spec_from_file_location(
        "bench_parcel", ROOT / "tests" / "engine" / "parcel.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EngineRun:
    """A desk on a fresh SQLite file, firing whole parcel cases."""

    def __init__(self, path: Path) -> None:
        self.parcel = _parcel()
        path.unlink(missing_ok=True)
        self.db = Database(f"sqlite:///{path}")
        import_table_modules()
        SQLModel.metadata.create_all(self.db.engine)
        self.desk = Desk(self.db, self.parcel.parcel_runtime(), Services(db=self.db))
        self.run(1)  # warm the caches (compiled machine, statements), not timed

    def run(self, cases: int) -> float:
        """Seconds for ``cases`` complete cases."""
        desk, teller = self.desk, self.parcel.TELLER
        identity, code, signed = self.parcel.IDENTITY, {"code": self.parcel.GOOD_CODE}, {
            "signed": "yes"
        }
        started = time.perf_counter()
        for _ in range(cases):
            case = desk.open_case(workflow="parcel_pickup", actor=teller)
            ref = case.reference
            case = desk.fire(reference=ref, trigger="submit_identity", actor=teller,
                             data=identity, version=case.version)
            case = desk.fire(reference=ref, trigger="submit_code", actor=teller,
                             data=code, version=case.version)
            case = desk.fire(reference=ref, trigger="hand_over", actor=teller,
                             data=signed, version=case.version)
            assert case.state == "delivered"
        return time.perf_counter() - started

    def close(self) -> None:
        self.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None, help="where the two database files go")
    args = parser.parse_args(argv)
    tenth = max(1, args.cases // 10)
    engine_seconds: list[float] = []
    floor_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="counter-bench-", dir=args.dir) as tmp:
        engine = EngineRun(Path(tmp) / "engine.db")
        floor = DurableSqlite(Path(tmp) / "floor.db")
        try:
            for turn in range(args.cases):
                if turn % 2:
                    floor_seconds.append(floor.run(STEPS_PER_CASE))
                    engine_seconds.append(engine.run(1))
                else:
                    engine_seconds.append(engine.run(1))
                    floor_seconds.append(floor.run(STEPS_PER_CASE))
        finally:
            engine.close()
            floor.close()
    total = args.cases * STEPS_PER_CASE
    engine_rate = rate(total, sum(engine_seconds))
    floor_rate = rate(total, sum(floor_seconds))
    tenths = " ".join(
        f"{sum(floor_seconds[i:i + tenth]) / sum(engine_seconds[i:i + tenth]):.2f}"
        for i in range(0, args.cases, tenth)
    )
    per_turn = statistics.median(
        f / e for e, f in zip(engine_seconds, floor_seconds, strict=True)
    )
    print(f"cases: {args.cases} ({total} triggers, {STEPS_PER_CASE} per case), taking turns")
    print(f"engine: {engine_rate:,.0f} triggers/s (Desk, SQLite WAL synchronous=FULL)")
    print(f"floor:  {floor_rate:,.0f} transactions/s (raw sqlite3, one UPDATE + one INSERT)")
    print(f"by tenths: {tenths}")
    print(f"ratio over the whole run: {engine_rate / floor_rate:.2f}")
    print(f"ratio: {per_turn:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
