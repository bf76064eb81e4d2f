"""A branch's journal to export: parcel cases through the desk, plus non-case streams.

Day D is 2026-11-25 in the branch's zone (UTC+8). Built on the test's own
fresh database:

- ``clean``: a case opened and delivered on D (every entry verbatim);
- ``approved``: a case whose finding a supervisor approved on D;
- ``cancelled``: a case cancelled on D with a reason that names the customer
  and gives her phone and ID numbers (masked, so hashes are withheld);
- ``older``: a case opened on D-1 and delivered on D (its chain starts
  before the range);
- ``branch:BJ001`` with a formula-like note, ``user:tina`` with a lockout;
- a case of another branch (SH001), which must never appear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from engine.parcel import GOOD_CODE, SUPERVISOR, TELLER, parcel_runtime

from counter.audit import export_journal
from counter.cases.desk import Desk
from counter.cases.services import Services
from counter.engine.types import Actor
from counter.store import journal
from counter.store.db import Database
from counter.store.users import create_branch, create_user

DAY = date(2026, 11, 25)
MORNING = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
CREATED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CUSTOMER = "Han Meimei"
PHONE = "13800138000"
ID_NUMBER = "110105194912310021"
FORMULA = "=cmd|'/c calc'!A1"
OTHER = Actor("olga", frozenset({"teller"}), branch="SH001")

Export = Callable[..., str]


@dataclass
class Journal:
    """What the fixture built: the database and the references of its cases."""

    db: Database
    clean: str
    approved: str
    cancelled: str
    older: str
    foreign: str


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=7, microseconds=123)
        return self.now


def _identity(name: str = "Li Lei", id_number: str = "110105") -> dict[str, object]:
    return {"id_number": id_number, "recipient_name": name, "acting_as": "self"}


@pytest.fixture
def branch_journal(db: Database) -> Journal:
    create_branch(db, code="BJ001", name_zh="北京分行", name_en="Beijing")
    create_branch(db, code="SH001", name_zh="上海分行", name_en="Shanghai")
    create_user(db, username="tina", password="pw-teller-2026", roles=["teller"], branch="BJ001")
    clock = Clock(MORNING - timedelta(days=1))
    desk = Desk(db, parcel_runtime(), Services(db=db, clock=clock))

    def run(actor: Actor, *steps: tuple[str, Actor, dict[str, object]]) -> str:
        view = desk.open_case(workflow="parcel_pickup", actor=actor)
        for trigger, who, data in steps:
            view = desk.fire(
                reference=view.reference, trigger=trigger, actor=who, data=data,
                version=view.version,
            )
        return view.reference

    older = run(TELLER)
    clock.now = MORNING
    desk.fire(reference=older, trigger="cancel", actor=TELLER, data={"reason": "left"},
              version=1)
    clean = run(
        TELLER,
        ("submit_identity", TELLER, _identity()),
        ("submit_code", TELLER, {"code": GOOD_CODE}),
        ("hand_over", TELLER, {"signed": "yes"}),
    )
    approved = run(TELLER, ("submit_identity", TELLER, _identity("Nobody")))
    view = desk.get(reference=approved, actor=SUPERVISOR)
    desk.approve(reference=approved, actor=SUPERVISOR, version=view.version)
    cancelled = run(
        TELLER,
        ("submit_identity", TELLER, _identity(CUSTOMER, ID_NUMBER)),
        (
            "cancel",
            TELLER,
            {"reason": f"{CUSTOMER} 改日再来,电话 {PHONE},证件 {ID_NUMBER}"},
        ),
    )
    foreign = run(OTHER)
    with db.transaction() as conn:
        journal.append(conn, stream="branch:BJ001", actor="system", kind="note",
                       at=clock(), note=FORMULA)
        journal.append(conn, stream="user:tina", actor="system", kind="lockout",
                       at=clock(), note="locked until 2026-11-25T10:15:00+00:00 after 5")
        journal.append(conn, stream="branch:BJ001", actor="system", kind="note",
                       at=clock(), note="")
    return Journal(db, clean, approved, cancelled, older, foreign)


@pytest.fixture
def export(branch_journal: Journal) -> Export:
    """``export(fmt, **options)``: the whole export of BJ001 for day D as one string."""

    def run(fmt: str = "jsonl", **options: object) -> str:
        arguments: dict[str, object] = {
            "branch": "BJ001", "start": DAY, "end": DAY, "fmt": fmt, "created_at": CREATED,
        }
        arguments.update(options)
        return "".join(export_journal(branch_journal.db, **arguments))  # type: ignore[arg-type]

    return run
