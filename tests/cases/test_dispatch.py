"""The outbox dispatcher: exactly-once delivery, retries with backoff, follow-up triggers."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from engine.parcel import TELLER
from sqlalchemy import select

from counter.cases.desk import Desk
from counter.cases.dispatch import Dispatcher, OutboxMessage, Refused
from counter.cases.services import Services
from counter.store import journal
from counter.store.db import Database
from counter.store.tables import Outbox

from .courier import courier_runtime


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Courier:
    """A fake outside system counting every call, failing the first ``fail`` times."""

    def __init__(self, fail: int = 0, refuse: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.refuse = refuse
        self.lock = threading.Lock()

    def __call__(self, message: OutboxMessage, services: Services) -> Mapping[str, Any] | Refused:
        with self.lock:
            self.calls.append(message.key)
            if len(self.calls) <= self.fail:
                raise ConnectionError("courier unreachable")
        if self.refuse:
            return Refused("no such address")
        return {"booking_no": f"B-{message.case_reference[-6:]}", "extra": "ignored"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def courier_desk(db: Database, clock: Clock) -> Desk:
    return Desk(db, courier_runtime(), Services(db=db, clock=clock))


def _outbox(db: Database) -> list[Any]:
    table = Outbox.__table__  # type: ignore[attr-defined]
    with db.read() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


@pytest.mark.postgres
def test_success_fires_the_follow_up_with_the_answer(courier_desk: Desk) -> None:
    dispatcher = Dispatcher(courier_desk)
    courier = Courier()
    dispatcher.register_handler("courier.book", courier)
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    case = courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER,
                             version=case.version)
    assert case.state == "waiting"
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert courier.calls == [f"{case.reference}/courier.book/v2"]
    after = courier_desk.get(reference=case.reference, actor=TELLER)
    assert after.state == "booked" and after.data["booking"] == {
        "booking_no": f"B-{case.reference[-6:]}"
    }
    (message,) = _outbox(courier_desk.db)
    assert message.status == "delivered" and message.attempts == 1
    assert message.result["extra"] == "ignored"
    assert courier_desk.journal(reference=case.reference)[-1].actor == "system"
    assert journal.verify(courier_desk.db).ok


def test_attached_dispatcher_delivers_right_after_commit(courier_desk: Desk) -> None:
    dispatcher = Dispatcher(courier_desk)
    dispatcher.register_handler("courier.book", Courier())
    dispatcher.attach()
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
    assert courier_desk.get(reference=case.reference, actor=TELLER).state == "booked"


def test_retries_with_backoff_then_succeeds(courier_desk: Desk, clock: Clock) -> None:
    dispatcher = Dispatcher(courier_desk, base_delay=timedelta(seconds=10))
    courier = Courier(fail=2)
    dispatcher.register_handler("courier.book", courier)
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
    assert dispatcher.run_once() == 0
    (message,) = _outbox(courier_desk.db)
    assert message.status == "pending" and "unreachable" in message.last_error
    assert message.next_attempt_at == clock.now + timedelta(seconds=10)
    assert dispatcher.run_once() == 0 and len(courier.calls) == 1  # not due yet
    clock.now += timedelta(seconds=10)
    assert dispatcher.run_once() == 0
    assert _outbox(courier_desk.db)[0].next_attempt_at == clock.now + timedelta(seconds=20)
    clock.now += timedelta(seconds=20)
    assert dispatcher.run_once() == 1
    assert len(courier.calls) == 3 and len(set(courier.calls)) == 1  # one key throughout
    assert courier_desk.get(reference=case.reference, actor=TELLER).state == "booked"


@pytest.mark.postgres
def test_spent_retries_fire_on_failure(courier_desk: Desk, clock: Clock) -> None:
    dispatcher = Dispatcher(courier_desk, max_attempts=3, base_delay=timedelta(seconds=1))
    courier = Courier(fail=99)
    dispatcher.register_handler("courier.book", courier)
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
    for _ in range(5):
        dispatcher.run_once()
        clock.now += timedelta(minutes=1)
    assert len(courier.calls) == 3
    (message,) = _outbox(courier_desk.db)
    assert message.status == "failed" and message.attempts == 3
    after = courier_desk.get(reference=case.reference, actor=TELLER)
    assert after.state == "failed" and "unreachable" in after.data["failure"]["error"]


def test_a_refusal_fails_at_once(courier_desk: Desk) -> None:
    dispatcher = Dispatcher(courier_desk)
    courier = Courier(refuse=True)
    dispatcher.register_handler("courier.book", courier)
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
    assert dispatcher.run_once() == 1 and len(courier.calls) == 1
    assert courier_desk.get(reference=case.reference, actor=TELLER).state == "failed"


def test_a_follow_up_the_case_no_longer_takes_still_finishes_the_message(
    courier_desk: Desk,
) -> None:
    dispatcher = Dispatcher(courier_desk)
    dispatcher.register_handler("courier.book", Courier())
    case = courier_desk.open_case(workflow="courier", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
    courier_desk.fire(reference=case.reference, trigger="cancel", actor=TELLER)
    assert dispatcher.run_once() == 1
    (message,) = _outbox(courier_desk.db)
    assert message.status == "delivered" and "refused" in message.last_error


@pytest.mark.postgres
def test_competing_dispatchers_deliver_each_message_once(db: Database, clock: Clock) -> None:
    desks = [Desk(Database(db.url), courier_runtime(), Services(clock=clock)) for _ in range(3)]
    courier = Courier()
    references = []
    for _ in range(6):
        case = desks[0].open_case(workflow="courier", actor=TELLER)
        desks[0].fire(reference=case.reference, trigger="send", actor=TELLER)
        references.append(case.reference)
    dispatchers = [Dispatcher(d) for d in desks]
    for dispatcher in dispatchers:
        dispatcher.register_handler("courier.book", courier)
    barrier = threading.Barrier(len(dispatchers))

    def run(dispatcher: Dispatcher) -> None:
        barrier.wait()
        dispatcher.run_once()

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(courier.calls) == sorted(f"{r}/courier.book/v2" for r in references)
    assert all(m.status == "delivered" for m in _outbox(db))
    assert all(desks[0].get(reference=r, actor=TELLER).state == "booked" for r in references)
    for desk in desks:
        desk.db.dispose()


def test_a_message_written_while_slips_render_goes_out_before_the_slips_still_waiting(
    courier_desk: Desk, db: Database, clock: Clock
) -> None:
    """Local effects (slips, ~100 ms each) go one a round: an SMS that a teller's step wrote
    during the first render is sent next, not after every slip that was waiting."""
    table = Outbox.__table__  # type: ignore[attr-defined]

    def write(kind: str, key: str) -> None:
        with db.transaction() as conn:
            conn.execute(table.insert().values(
                case_reference="BJ001-20261125-000001", kind=kind, key=key, payload={},
                next_attempt_at=clock.now - timedelta(seconds=1), created_at=clock.now))

    order: list[str] = []

    def render(message: OutboxMessage, services: Services, settle: Any) -> Mapping[str, Any]:
        order.append(message.key)
        if message.key == "slip-1":
            write("sms.send", "sms-during-slip-1")  # another process's step, meanwhile
        return {}

    def send(message: OutboxMessage, services: Services) -> Mapping[str, Any]:
        order.append(message.key)
        return {}

    for n in (1, 2, 3):
        write("slip.issue", f"slip-{n}")
    dispatcher = Dispatcher(courier_desk)
    dispatcher.register_local_handler("slip.issue", render)
    dispatcher.register_handler("sms.send", send)
    assert dispatcher.run_once() == 4
    assert order == ["slip-1", "sms-during-slip-1", "slip-2", "slip-3"]
    assert {m.status for m in _outbox(db)} == {"delivered"}


def test_a_slow_peer_holds_one_delivery_thread_not_the_messages_behind_it(
    courier_desk: Desk,
) -> None:
    """With ``threads``, the messages of one claim go out side by side: the first call
    waits for the second, which could only happen if the second did not wait for it."""
    references = []
    for _ in range(2):
        case = courier_desk.open_case(workflow="courier", actor=TELLER)
        courier_desk.fire(reference=case.reference, trigger="send", actor=TELLER)
        references.append(case.reference)
    second_called = threading.Event()
    met: list[bool] = []

    def slow_then_fast(message: OutboxMessage, services: Services) -> Mapping[str, Any]:
        if message.case_reference == references[0]:
            met.append(second_called.wait(timeout=10))  # a slow answer, until the other one
        else:
            second_called.set()
        return {"booking_no": "B-1"}

    dispatcher = Dispatcher(courier_desk, threads=4)
    dispatcher.register_handler("courier.book", slow_then_fast)
    assert dispatcher.run_once() == 2
    assert met == [True]
    assert all(courier_desk.get(reference=r, actor=TELLER).state == "booked" for r in references)
