"""The outbox worker in-process: woken by the commit, and what the case shows meanwhile.

The worker process itself (``counter worker`` under ``counter serve``, killed
and started again) is tested over HTTP in ``tests/reliability/test_worker.py``.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from counter.cases import records
from counter.cases.dispatch import Dispatcher
from counter.cases.reading import WAITING
from counter.cases.wiring import deliver_unbind
from counter.cases.worker import OutboxWorker, connect_delivery
from counter.engine.types import Actor

from .helpers import Counter
from .test_exactly_once import at_signoff, executed_once

pytestmark = pytest.mark.postgres


def journal_seq(counter: Counter, reference: str) -> int:
    cases = records.cases
    with counter.desk.db.read() as conn:
        seq: int = conn.execute(
            select(cases.c.journal_seq).where(cases.c.reference == reference)
        ).scalar_one()
    return seq


def waiting(counter: Counter, reference: str) -> list[str]:
    return [w.kind for w in counter.desk.get(reference=reference, actor=Actor.system()).waiting]


def test_the_case_says_what_it_waits_for_and_each_delivery_moves_its_journal_head(
    counter_manual: Counter,
) -> None:
    counter = counter_manual
    case = at_signoff(counter)
    signed = counter.sign_off(case)
    assert signed.state == "unbind_pending"
    assert [(w.kind, w.message) for w in signed.waiting] == [("acquirer", WAITING["acquirer"])]
    assert waiting(counter, case.reference) == ["acquirer"]
    assert WAITING["acquirer"].zh == "等待收单机构答复"
    before = journal_seq(counter, case.reference)

    acquirer_only = Dispatcher(counter.desk)
    acquirer_only.register_handler("acquirer.unbind", deliver_unbind)
    assert acquirer_only.run_once() == 1  # the answer and its follow-up step, not the slip
    assert counter.desk.get(reference=case.reference, actor=Actor.system()).state == "completed"
    assert waiting(counter, case.reference) == ["slip"]
    assert WAITING["slip"].zh == "凭条打印中"
    answered = journal_seq(counter, case.reference)
    assert answered > before

    assert OutboxWorker(counter.wired.dispatcher).run_until_idle() == 1  # the slip
    assert waiting(counter, case.reference) == []
    assert journal_seq(counter, case.reference) > answered  # the slip's journal entry
    executed_once(counter, case.reference)


def test_a_commit_wakes_the_listening_worker(counter_manual: Counter) -> None:
    """With a poll of an hour, only the commit's ring can get the case completed."""
    counter = counter_manual
    settings = counter.desk.services.settings.model_copy(update={"outbox_delivery": "worker"})
    bell = connect_delivery(counter.wired, settings)
    assert bell is not None
    case = at_signoff(counter)
    worker = OutboxWorker(counter.wired.dispatcher, doorbell=bell, poll_seconds=3600)
    listening = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"ready": listening.set})
    thread.start()
    try:
        assert listening.wait(30)
        counter.sign_off(case)  # rings after its commit
        for _ in range(600):
            if counter.desk.get(reference=case.reference, actor=Actor.system()).waiting == []:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    view = counter.desk.get(reference=case.reference, actor=Actor.system())
    assert (view.state, view.waiting) == ("completed", [])
    executed_once(counter, case.reference)
