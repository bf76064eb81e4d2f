"""``python -m bench.chaos``: tellers walk whole cases while the peers fail; exactly once after.

    python -m bench.chaos [--tellers 50] [--duration 60] [--outage 20] [--kills 2] [--json]

Starts the three simulators (``counter simulate``, 127.0.0.1 only) and the
outbox worker (``counter worker``, woken by each commit as under ``counter
serve``) over a fresh SQLite database with the HTTP adapters. Teller threads
walk ``pos_unbind`` cases through the desk (the service layer the console
uses) for ``--duration`` seconds, each on a merchant of its own, while:

* every simulator injects 10% ``error`` (503) and 2% ``timeout``;
* the acquirer is down (every connection reset) for ``--outage`` seconds
  from a third of the run;
* the worker is SIGKILLed ``--kills`` times and started again at once.

Then the tellers finish the case in hand, the worker gets up to
``--drain`` seconds for what is left in the outbox, and the run checks:
no idempotency key executed twice at the acquirer, every completed case's
unbind executed exactly once, every other case in a state that says why
(with its message waiting in the outbox when it waits for the acquirer),
and the journal verifies. Any failure of these makes the exit status 1.

**ratio** = cases completed ÷ cases opened (the rest wait, visibly).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench._load_tellers import percentile
from bench.report import Result, python_command
from counter.adapters import MERCHANT_COLUMNS
from counter.adapters.http import close_clients, idempotency_key
from counter.adapters.http.metrics import PEER_REGISTRY
from counter.banking.accounts import luhn_check_digit
from counter.cases import records
from counter.cases.wiring import wire
from counter.cases.worker import connect_delivery
from counter.config import Settings
from counter.engine.types import Actor
from counter.errors import CounterError, PeerUnavailable
from counter.store import journal, users
from counter.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "chaos-bench-password"
BRANCH = "BJ001"
PEERS = ("acquirer", "identity", "sms")


def free_ports() -> dict[str, int]:
    """A free loopback port per peer (held open together, so that they differ)."""
    probes = [socket.socket() for _ in PEERS]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return {
            peer: int(probe.getsockname()[1]) for peer, probe in zip(PEERS, probes, strict=True)
        }
    finally:
        for probe in probes:
            probe.close()




@dataclass(frozen=True)
class Merchant:
    merchant_no: str
    terminal_sn: str
    account_number: str
    phone: str


def _card(serial: int) -> str:
    body = f"622202{serial:012d}"
    return body + luhn_check_digit(body)


def merchants(count: int) -> list[Merchant]:
    return [
        Merchant(f"102110058{n:06d}", f"SN-CHS-{n:06d}", _card(n), f"139{n:08d}")
        for n in range(1, count + 1)
    ]


def registry_csv(rows: Sequence[Merchant]) -> str:
    lines = [",".join(MERCHANT_COLUMNS)]
    for n, m in enumerate(rows, start=1):
        lines.append(
            f"{m.merchant_no},混沌测试商户{n},91110000600037341L,张三,110105198001010016,{m.phone},"
            f"{m.terminal_sn},{n:08d},personal_card,{m.account_number},张三,active,0,2025-01-15"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    steps: list[tuple[float, float, str]] = field(default_factory=list)  # (start, ms, trigger)
    opened: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def step(self, started: float, trigger: str) -> None:
        with self.lock:
            self.steps.append((started, (time.monotonic() - started) * 1000, trigger))


class Peers:
    """The three simulators and the delivery worker, as processes of this run."""

    def __init__(
        self, workdir: Path, env: dict[str, str], registry: Path, ports: dict[str, int]
    ) -> None:
        self.ports = ports
        self.workdir = workdir
        self.env = env
        self.sims: dict[str, subprocess.Popen[bytes]] = {}
        self.worker: subprocess.Popen[bytes] | None = None
        for kind, port in ports.items():
            command = [sys.executable, "-m", "counter.cli", "simulate", kind, "--port", str(port),
                       "--database", str(workdir / f"sim-{kind}.db"), "--hang-seconds", "2",
                       "--seed", "11"]
            if kind == "acquirer":
                command += ["--merchants", str(registry)]
            self.sims[kind] = self._spawn(command, f"sim-{kind}.log")
        for kind in ports:
            self._wait(kind)

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log).open("ab") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def _wait(self, kind: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url(kind) + "/_sim/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"the {kind} simulator did not start")

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.ports[kind]}"

    def faults(self, kind: str, **plan: Any) -> None:
        httpx.post(self.url(kind) + "/_sim/faults", json=plan, timeout=5).raise_for_status()

    def ledger(self, kind: str) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url(kind) + "/_sim/ledger", timeout=10).json()
        return answer

    def start_worker(self, *, wait: bool = False) -> None:
        """``counter worker``, the outbox worker; ``wait``: until it listens for the bell."""
        log = self.workdir / "worker.log"
        ready = "outbox worker ready"
        starts = log.read_text(encoding="utf-8").count(ready) if log.exists() else 0
        command = [sys.executable, "-m", "counter.cli", "worker"]
        self.worker = self._spawn(command, "worker.log")
        deadline = time.monotonic() + 90
        while wait and time.monotonic() < deadline:
            if log.read_text(encoding="utf-8").count(ready) > starts:
                return
            time.sleep(0.2)

    def kill_worker(self) -> None:
        if self.worker is not None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(timeout=10)

    def stop(self) -> None:
        for process in [*self.sims.values(), *([self.worker] if self.worker else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.sims.values(), *([self.worker] if self.worker else [])]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def walk(desk: Any, teller: Actor, supervisor: Actor, merchant: Merchant, peers: Peers,
         tally: Tally, patience: float) -> None:
    """One case as far as it goes; what stops it stays visible in its state."""

    def fire(case: Any, trigger: str, data: dict[str, Any], actor: Actor = teller) -> Any:
        started = time.monotonic()
        while True:
            try:
                view = desk.fire(reference=case.reference, trigger=trigger, actor=actor,
                                 data=data, version=case.version)
                break
            except PeerUnavailable:
                # "The acquirer is unavailable; try again later": the teller does, same case.
                with tally.lock:
                    tally.errors[f"{trigger} refused: a peer unavailable, tried again"] += 1
                if time.monotonic() > patience:
                    raise
                time.sleep(1)
        tally.step(started, trigger)
        return view

    started = time.monotonic()
    case = desk.open_case(workflow="pos_unbind", actor=teller)
    tally.step(started, "open")
    with tally.lock:
        tally.opened.append(case.reference)
    case = fire(case, "submit_identity", {
        "id_type": "resident_id", "id_number": "110105198001010016", "name": "张三",
        "id_expiry": "long_term", "acting_as": "self"})
    if case.state == "supervisor_review":  # identity unavailable: the supervisor's manual check
        case = fire(case, "approve", {"comment": "证件已人工核验 / checked by hand"}, supervisor)
    case = fire(case, "submit_binding", {
        "merchant_no": merchant.merchant_no, "uscc": "91110000600037341L",
        "terminal_sn": merchant.terminal_sn, "account_number": merchant.account_number})
    code = wait_for_code(peers, merchant.phone, case.reference)
    if code is None:
        tally.errors["code SMS not received in time"] += 1
        return
    case = fire(case, "confirm_code", {"code": code})
    fire(case, "sign_off", {"password": PASSWORD})


def wait_for_code(peers: Peers, phone: str, reference: str, patience: float = 90) -> str | None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(peers.url("sms") + "/_sim/messages", params={"phone": phone},
                               timeout=2)
            for message in answer.json().get("messages", []):
                if str(message["key"]).startswith(reference + "/"):
                    found = re.search(r"验证码(\d{6})", message["text"])
                    if found:
                        return found.group(1)
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    return None


def teller_loop(desk: Any, teller: Actor, supervisor: Actor, pool: Iterator[Merchant],
                peers: Peers, tally: Tally, until: float, lock: threading.Lock) -> None:
    while time.monotonic() < until:
        with lock:
            merchant = next(pool)
        try:
            walk(desk, teller, supervisor, merchant, peers, tally, until + 30)
        except CounterError as error:  # refused steps (a peer unavailable for a look-up...)
            with tally.lock:
                tally.errors[f"{type(error).__name__}: {error.message.en[:80]}"] += 1


def states(db: Database) -> Counter[str]:
    cases = records.cases
    with db.read() as conn:
        return Counter(dict(conn.execute(
            select(cases.c.state, func.count()).group_by(cases.c.state)).all()))


def run(args: argparse.Namespace) -> tuple[Result, bool]:
    workdir = Path(tempfile.mkdtemp(prefix="counter-chaos-"))
    database_url = f"sqlite:///{workdir / 'counter.db'}"
    pool_rows = merchants(max(200, args.tellers * int(args.duration) * 2))
    registry = workdir / "registry.csv"
    registry.write_text(registry_csv(pool_rows), encoding="utf-8")
    ports = free_ports()
    settings_env = {
        "COUNTER_DATABASE_URL": database_url, "COUNTER_DEMO_MODE": "true",
        "COUNTER_SECRET_KEY": "chaos-bench-secret",
        "COUNTER_ACQUIRER_ADAPTER": "http", "COUNTER_IDENTITY_ADAPTER": "http",
        "COUNTER_SMS_ADAPTER": "http",
        **{f"COUNTER_{peer.upper()}_URL": f"http://127.0.0.1:{p}" for peer, p in ports.items()},
        "COUNTER_PEER_READ_TIMEOUT_SECONDS": "1", "COUNTER_IDENTITY_READ_TIMEOUT_SECONDS": "1",
        "COUNTER_PEER_BREAKER_RESET_SECONDS": "5", "COUNTER_OUTBOX_LEASE_SECONDS": "10",
        "COUNTER_HOUSEKEEPING_SECONDS": "0", "COUNTER_OUTBOX_DELIVERY": "worker",
        "COUNTER_WORKER_POLL_SECONDS": "1",
    }
    env = {**os.environ, **settings_env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    settings = Settings(**{k.removeprefix("COUNTER_").lower(): v  # type: ignore[arg-type]
                           for k, v in settings_env.items()}, _env_file=None)
    db = Database(database_url)
    db.create_all()
    hashed = functools.lru_cache(maxsize=1)(users.hash_password)
    users.hash_password = hashed  # every bench teller shares one password: hash it once
    users.create_branch(db, code=BRANCH, name_zh="北京分行营业部", name_en="Beijing Branch")
    tellers = [f"teller{n}" for n in range(1, args.tellers + 1)]
    for name in tellers:
        users.create_user(db, username=name, password=PASSWORD, roles=["teller"], branch=BRANCH)
    users.create_user(db, username="supervisor1", password=PASSWORD, roles=["supervisor"],
                      branch=BRANCH)
    peers = Peers(workdir, env, registry, ports)
    ok = True
    try:
        for kind in PEERS:
            peers.faults(kind, rates={"error": 0.10, "timeout": 0.02}, seed=5)
        peers.start_worker(wait=True)
        wired = wire(db, settings=settings, attach=False)
        connect_delivery(wired, settings)  # each commit rings the worker, as a web process does
        desk = wired.desk
        supervisor = Actor(username="supervisor1", roles=frozenset({"supervisor"}), branch=BRANCH)
        tally = Tally()
        start = time.monotonic()
        until = start + args.duration
        outage = (start + args.duration / 3, start + args.duration / 3 + args.outage)
        pool = iter(pool_rows)
        lock = threading.Lock()
        threads = [
            threading.Thread(target=teller_loop, daemon=True, args=(
                desk, Actor(username=name, roles=frozenset({"teller"}), branch=BRANCH),
                supervisor, pool, peers, tally, until, lock))
            for name in tellers
        ]
        for thread in threads:
            thread.start()
        # Killed after the outage begins and before the end: with messages in flight.
        kills = [start + args.duration * (0.4 + 0.5 * n / max(1, args.kills))
                 for n in range(args.kills)]
        down = False
        while any(t.is_alive() for t in threads):
            now = time.monotonic()
            if not down and outage[0] <= now < outage[1]:
                peers.faults("acquirer", down=True)
                down = True
            elif down and now >= outage[1]:
                peers.faults("acquirer", down=False)
                down = False
            if kills and now >= kills[0]:
                kills.pop(0)
                peers.kill_worker()
                peers.start_worker()
            time.sleep(0.1)
        if down:
            peers.faults("acquirer", down=False)
        for kind in PEERS:
            peers.faults(kind, rates={})
        finished_at = time.monotonic()
        drain_until = finished_at + args.drain
        while time.monotonic() < drain_until and states(db).get("unbind_pending", 0):
            time.sleep(0.5)
        peers.kill_worker()
        elapsed = finished_at - start

        # -- the checks ------------------------------------------------------------------
        final = states(db)
        ledger = peers.ledger("acquirer")["keys"]
        twice = {key: entry for key, entry in ledger.items() if entry["executions"] > 1}
        cases = records.cases
        with db.read() as conn:
            rows = conn.execute(select(cases.c.reference, cases.c.state)).all()
            waiting = set(conn.execute(select(records.outbox.c.case_reference).where(
                records.outbox.c.status == "pending",
                records.outbox.c.kind == "acquirer.unbind")).scalars())
            attempts = conn.execute(select(func.sum(records.outbox.c.attempts),
                                           func.count()).where(
                records.outbox.c.kind == "acquirer.unbind")).one()
            delivered = conn.execute(select(
                records.outbox.c.kind, records.outbox.c.created_at,
                records.outbox.c.delivered_at).where(
                records.outbox.c.status == "delivered")).all()
        waits: dict[str, list[float]] = {}
        for kind, created, done in delivered:
            waits.setdefault(kind, []).append((done - created).total_seconds())
        completed = [ref for ref, state in rows if state == "completed"]
        lost = [ref for ref in completed
                if ledger.get(idempotency_key(ref, "unbind"), {}).get("executions") != 1]
        silent = [ref for ref, state in rows if state == "unbind_pending" and ref not in waiting]
        verified = journal.verify(db).ok
        ok = not twice and not lost and not silent and verified
        during = [ms for at, ms, _ in tally.steps if outage[0] <= at < outage[1]]
        outside = [ms for at, ms, _ in tally.steps if not outage[0] <= at < outage[1]]
        arrivals = sum(e.get("arrivals", 0) for e in ledger.values())
        openings = sum(
            PEER_REGISTRY.get_sample_value("counter_peer_breaker_openings_total", {"peer": p})
            or 0 for p in PEERS)
        lines = [
            f"chaos: {args.tellers} tellers for {args.duration:g} s; peers inject 10% 503 and "
            f"2% timeouts; the acquirer down {args.outage:g} s; the worker SIGKILLed "
            f"{args.kills} times",
            f"cases: {len(completed)} completed of {len(tally.opened)} opened "
            f"({len(completed) / elapsed:.2f}/s); states after the drain: "
            + ", ".join(f"{state} {n}" for state, n in sorted(final.items())),
            f"acquirer: {len(ledger)} unbind keys, {arrivals} signed requests "
            f"({arrivals - len(ledger)} retries), executed twice: {len(twice)}, "
            f"completed cases not executed exactly once: {len(lost)}",
            f"outbox: {attempts[0] or 0} delivery attempts for {attempts[1]} unbinds; "
            f"waiting without a message: {len(silent)}",
            f"breaker openings (teller process: identity and look-ups): {openings:g}",
            *(f"{kind} from the step to delivered: p50 {percentile(w, 0.5):.1f} s, "
              f"p99 {percentile(w, 0.99):.1f} s ({len(w)} messages)"
              for kind, w in sorted(waits.items()) if kind != "slip.issue"),
            f"step p99: {percentile(outside, 0.99):.0f} ms outside the outage "
            f"({len(outside)} steps), {percentile(during, 0.99):.0f} ms during it "
            f"({len(during)} steps); p50 {percentile(outside, 0.5):.0f} / "
            f"{percentile(during, 0.5):.0f} ms",
            f"journal verifies: {verified}",
        ]
        lines += [f"refused or stopped: {what}: {n}" for what, n in tally.errors.most_common(5)]
        lines.append("exactly once: " + ("held" if ok else "BROKEN"))
        opened = max(1, len(tally.opened))
        result = Result(
            name="chaos", title="chaos: tellers through faults, an outage and killed workers",
            figure=float(len(completed)), floor=float(opened), ratio=len(completed) / opened,
            units="cases", figure_label="completed", floor_label="opened",
            command=python_command("bench.chaos", sys.argv[1:]), lines=lines,
        )
        return result, ok
    finally:
        close_clients()
        peers.stop()
        db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tellers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--outage", type=float, default=20)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--drain", type=float, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result, ok = run(args)
    result.print(as_json=args.json)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
