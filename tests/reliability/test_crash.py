"""SIGKILL the server at random moments under load: nothing lost, nothing half-done, nothing twice.

Tellers and a supervisor walk flagship cases through the API of a real
``counter serve`` process while the test kills it with ``SIGKILL`` at
random moments, three times, starting it again each time; a dropped
connection just ends the teller's case where it stands. After the last
restart the load stops and ``counter sweep --once`` delivers what the
crashes left in the outbox. Messages a killed process had claimed stay
leased for two minutes; the test moves their lease to now instead of
waiting (what the clock would do).

Then, for every case: it is in a state its own workflow version declares;
its journal has no gap and verifies (``counter audit verify``); its
version is the number of its journal entries, its state the last entry's
``to_state``, and it is closed exactly when that state is final (so no
state change without its entry, and no entry without its change); nothing
waits in the outbox; and the acquirer executed the unbind exactly once for
every completed case and never for any other.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from counter.cases.wiring import wire
from counter.config import Settings
from counter.store import journal
from counter.store.db import Database, utcnow

from ._server import Api, CodeReader, Deployment, LoadRun, Staff, Stats, deployed, sign_in

pytestmark = pytest.mark.slow
KILLS = 3


class Load:
    """The tellers' and supervisor's event loop in a thread of its own, until ``stop()``."""

    def __init__(self, deployment: Deployment, staff: Staff) -> None:
        self.deployment = deployment
        self.staff = staff
        self.stats = Stats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main)
        url = deployment.servers[0].url
        self.tokens = {name: sign_in(url, name)["Authorization"].removeprefix("Bearer ")
                       for name in [*staff.tellers, *staff.supervisors]}
        self.failure: BaseException | None = None

    def _main(self) -> None:
        try:
            asyncio.run(self._run(self._stop.is_set))
        except BaseException as exc:
            self.failure = exc

    async def _run(self, should_stop: Callable[[], bool]) -> None:
        api = Api([s.url for s in self.deployment.servers], self.stats, tolerate_outages=True)
        codes = CodeReader(self.deployment.database_url)
        run = LoadRun(api, codes, self.staff.merchants, race_share=0.1)
        try:
            await run.run({n: self.tokens[n] for n in self.staff.tellers},
                          {n: self.tokens[n] for n in self.staff.supervisors}, should_stop)
        finally:
            await api.close()
            codes.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=90)
        assert not self._thread.is_alive(), "the load did not stop"
        assert self.failure is None, self.failure


def rows(db: Database, query: str) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(text(query)))


def problems_of(db: Database) -> list[str]:
    """Every broken promise of the module docstring, in words."""
    desk = wire(db, settings=Settings(database_url=db.url), attach=False).desk
    found = [str(b) for b in journal.verify(db).broken]
    events: dict[str, list[Any]] = {}
    for event in rows(db, "SELECT stream, seq, kind, to_state FROM case_events ORDER BY stream, "
                           "seq"):
        events.setdefault(event.stream, []).append(event)
    cases = rows(db, "SELECT reference, definition_hash, state, version, closed_at "
                     "FROM teller_case")
    completed = set()
    for case in cases:
        states = desk.workflow_of(case.definition_hash).definition.states
        entries = events.get(case.reference, [])
        where = f"{case.reference} ({case.state}, v{case.version})"
        if case.state not in states:
            found.append(f"{where}: not a declared state")
            continue
        if [e.seq for e in entries] != list(range(1, len(entries) + 1)):
            found.append(f"{where}: journal gap {[e.seq for e in entries]}")
        steps = [e for e in entries if e.kind in journal.STEP_KINDS]  # not e.g. a slip's note
        if case.version != len(steps) or not steps or steps[-1].to_state != case.state:
            found.append(f"{where}: {len(steps)} steps, the last to "
                         f"{steps[-1].to_state if steps else None}")
        if (case.closed_at is not None) != states[case.state].final:
            found.append(f"{where}: closed_at {case.closed_at}")
        if not journal.verify(db, stream=case.reference).ok:
            found.append(f"{where}: its journal does not verify")
        if case.state == "completed":
            completed.add(case.reference)
    waiting = rows(db, "SELECT case_reference, kind, status FROM outbox WHERE status <> "
                       "'delivered'")
    found += [f"outbox {m.kind} of {m.case_reference} left {m.status}" for m in waiting]
    unbinds: dict[str, list[Any]] = {}
    for row in rows(db, "SELECT reference, outcome, attempts FROM acquirer_execution "
                        "WHERE operation = 'unbind'"):
        unbinds.setdefault(row.reference, []).append(row)
    for reference in completed:
        done = unbinds.get(reference, [])
        if [(r.outcome, r.attempts) for r in done] != [("done", 1)]:
            found.append(f"{reference} completed, unbind executions {done}")
    found += [f"{reference} not completed, yet unbind executions {unbinds[reference]}"
              for reference in set(unbinds) - completed]
    return found


def test_sigkill_at_random_moments_loses_nothing_and_does_nothing_twice(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = random.randrange(1 << 30)
    moments = random.Random(seed)
    with deployed(tmp_path, request, tellers=4, supervisors=1, cases=600, agent_every=4) as (
        deployment, staff,
    ):
        server = deployment.servers[0]
        load = Load(deployment, staff)
        load.start()
        kills_at: list[int] = []
        for _ in range(KILLS):
            time.sleep(moments.uniform(1.0, 2.5))
            kills_at.append(load.stats.completed)
            server.kill()
            time.sleep(moments.uniform(0.0, 0.5))
            server.start()
        time.sleep(1.5)
        load.stop()
        server.kill()
        db = Database(deployment.database_url)
        try:
            with db.transaction() as conn:  # the claims of killed deliverers: lease over
                conn.execute(text("UPDATE outbox SET next_attempt_at = :now "
                                  "WHERE status = 'pending'"), {"now": utcnow()})
            deployment.cli("sweep", "--once")
            verified = deployment.cli("audit", "verify")
            problems = problems_of(db)
            completed = len(rows(db, "SELECT 1 FROM teller_case WHERE state = 'completed'"))
        finally:
            db.dispose()
    seen = {k: v for k, v in vars(load.stats).items() if k not in ("latencies", "statuses")}
    context = f"seed {seed}, completed by the kills {kills_at}, {seen}"
    assert load.stats.outages > 0, f"no request met a dead server: {context}"
    assert completed >= load.stats.completed > 0, context
    assert "verifies" in verified
    assert problems == [], f"{context}\n" + "\n".join(problems)
