"""Simulators as real processes on 127.0.0.1, for the adapters' and the workflow's tests.

``start(kind, workdir)`` runs ``python -m counter.cli simulate KIND`` on a
free port and waits until it answers; ``RunningSimulator`` drives its
control surface (faults, ledger) and stops it.
"""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from counter.adapters import MERCHANT_COLUMNS
from counter.adapters.http import PeerClient, PeerLink
from counter.banking.accounts import luhn_check_digit
from counter.config import DEMO_PEER_KEY

HOLDER = "张三"
UNKNOWN_MERCHANT = "102110058129999"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def luhn_card(serial: int) -> str:
    """A 19-digit debit card number passing the Luhn check."""
    body = f"622202{serial:012d}"
    return body + luhn_check_digit(body)


@dataclass(frozen=True)
class Terminal:
    """A clean merchant of its own (an unbind changes its last binding date) and its terminal."""

    merchant_no: str
    terminal_sn: str
    account_number: str


def terminals(count: int, *, start: int = 1) -> list[Terminal]:
    return [
        Terminal(f"10211005812{n:04d}", f"SN-SIM-{n:06d}", luhn_card(n))
        for n in range(start, start + count)
    ]


def registry_csv(bound: Iterable[Terminal]) -> bytes:
    """Clean merchants (张三 their legal representative), each terminal on its own card."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(MERCHANT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for n, terminal in enumerate(bound, start=1):
        writer.writerow(
            {
                "merchant_no": terminal.merchant_no,
                "merchant_name": "北京示例餐饮有限公司",
                "uscc": "91110000600037341L",
                "legal_rep_name": HOLDER,
                "legal_rep_id_number": "110105198001010016",
                "registered_phone": "13800138000",
                "terminal_sn": terminal.terminal_sn,
                "terminal_id": f"{n:08d}",
                "account_type": "personal_card",
                "account_number": terminal.account_number,
                "account_holder": HOLDER,
                "status": "active",
                "pending_settlement_cents": "0",
                "last_binding_change": "2025-01-15",
            }
        )
    return out.getvalue().encode("utf-8")


class RunningSimulator:
    def __init__(
        self, kind: str, port: int, process: subprocess.Popen[bytes], log: BinaryIO
    ) -> None:
        self.log = log
        self._clients: list[PeerClient] = []
        self.kind = kind
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = process

    def faults(self, **plan: Any) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/_sim/faults", json=plan, timeout=5)
        answer.raise_for_status()
        return dict(answer.json())

    def calm(self) -> None:
        """No faults, no latency, the peer up."""
        self.faults(rates={}, queue=[], latency_ms=0, down=False)

    def ledger(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/_sim/ledger", timeout=5)
        answer.raise_for_status()
        return dict(answer.json())

    def executions(self, key: str) -> int:
        entry = self.ledger()["keys"].get(key)
        return 0 if entry is None else int(entry["executions"])

    def link(self, **options: Any) -> PeerLink:
        """How a client reaches this simulator: short timeouts, no backoff to wait for."""
        settings: dict[str, Any] = {
            "key_id": "demo-1",
            "key": DEMO_PEER_KEY,
            "connect_timeout": 0.5,
            "read_timeout": 0.5,
            "attempts": 3,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "breaker_failures": 50,
            "breaker_reset": 0.5,
        }
        settings.update(options)
        return PeerLink(self.kind, self.url, **settings)

    def client(self, **options: Any) -> PeerClient:
        """A client of this simulator, closed by ``close_clients`` (each test's end)."""
        client = PeerClient(self.link(**options))
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        while self._clients:
            self._clients.pop().close()

    def stop(self) -> None:
        self.close_clients()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def start(
    kind: str,
    workdir: Path,
    *,
    merchants: bytes | None = None,
    people: bytes | None = None,
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> RunningSimulator:
    """Start a simulator and wait (up to 30 s) until it answers on its control surface."""
    port = free_port()
    command = [sys.executable, "-m", "counter.cli", "simulate", kind, "--port", str(port)]
    command += ["--database", str(workdir / f"sim-{kind}-{port}.db"), "--hang-seconds", "1"]
    if merchants is not None:
        (workdir / f"merchants-{port}.csv").write_bytes(merchants)
        command += ["--merchants", str(workdir / f"merchants-{port}.csv")]
    if people is not None:
        (workdir / f"people-{port}.csv").write_bytes(people)
        command += ["--people", str(workdir / f"people-{port}.csv")]
    command += list(options)
    log = (workdir / f"sim-{kind}-{port}.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = RunningSimulator(kind, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / f"sim-{kind}-{port}.log").read_text())
        try:
            if httpx.get(f"{running.url}/_sim/health", timeout=0.5).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    running.stop()
    raise RuntimeError(f"the {kind} simulator did not start on port {port}")
