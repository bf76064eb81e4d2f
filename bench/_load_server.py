"""``counter serve`` processes for the load test and the reliability tests, on loopback only.

A :class:`Deployment` is one fresh database (a SQLite file in a temporary
directory, or a new PostgreSQL database made from a server URL) with its
tables, the demo data, the load test's users and merchants, and any number
of ``counter serve`` processes on free ports of 127.0.0.1 that share it.
A process can be killed (``SIGKILL``) and started again on the same port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench._load_registry import BRANCH, LoadMerchant, add_staff, merchants, write_registry

__all__ = ["ROOT", "Deployment", "Server", "Staff", "free_port", "group_cpu_seconds",
           "postgres_server_url"]

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "load-test-secret-key-not-the-default"
READY_TIMEOUT = 90.0  # seconds; a loaded shared machine takes its time


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of the live processes of process group ``group``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def postgres_server_url() -> str:
    """The PostgreSQL server for new databases: ``COUNTER_TEST_POSTGRES_URL``, or the local one."""
    url = os.environ.get("COUNTER_TEST_POSTGRES_URL", "").strip()
    if not url:
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres-test.sh")],
            capture_output=True, text=True, check=False,
        )
        url = done.stdout.strip()
    if not url:
        raise RuntimeError("no PostgreSQL: set COUNTER_TEST_POSTGRES_URL or install PostgreSQL")
    return url


@dataclass
class Server:
    """One ``counter serve`` process on ``port``; its output goes to ``log_path``."""

    port: int
    env: dict[str, str]
    log_path: Path
    options: tuple[str, ...] = ()  # more ``counter serve`` options: --workers 2, --no-worker
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "counter.cli", "serve",
                   "--host", "127.0.0.1", "--port", str(self.port), *self.options]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"counter serve exited {self.process.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(f"{self.url}/api/workflows", timeout=1.0).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"counter serve on port {self.port} not ready in {READY_TIMEOUT} s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process of this server, from ``/proc``:
        ``counter serve``, its uvicorn web processes and its outbox worker (one process
        group, since the server starts in a session of its own)."""
        if self.process is None:
            return 0.0
        return group_cpu_seconds(self.process.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Staff:
    """Who works at the counter in a prepared deployment, and the merchants waiting."""

    tellers: list[str]
    supervisors: list[str]
    merchants: deque[LoadMerchant]


@dataclass
class Deployment:
    """A fresh database and the ``counter serve`` processes sharing it (see the module doc)."""

    work_dir: Path
    kind: str = "sqlite"  # or "postgres"
    postgres_server: str | None = None
    floor: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings for every process
    database_url: str = ""
    servers: list[Server] = field(default_factory=list)
    _postgres_name: str | None = None

    def __post_init__(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "sqlite":
            self.database_url = f"sqlite:///{self.work_dir / 'counter.db'}"
        elif self.kind == "postgres":
            server = self.postgres_server or postgres_server_url()
            self._postgres_name = f"counter_load_{uuid.uuid4().hex[:12]}"
            self._admin(server, f'CREATE DATABASE "{self._postgres_name}"')
            self.postgres_server = server
            self.database_url = make_url(server).set(
                database=self._postgres_name).render_as_string(hide_password=False)
        else:
            raise ValueError(f"unknown database kind {self.kind!r}: sqlite or postgres")

    @staticmethod
    def _admin(server: str, statement: str) -> None:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(statement))
        finally:
            admin.dispose()

    @property
    def env(self) -> dict[str, str]:
        """The environment every process of this deployment runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTER_")}
        env.update({
            "COUNTER_DATABASE_URL": self.database_url,
            "COUNTER_DEMO_MODE": "true",
            "COUNTER_SECRET_KEY": SECRET_KEY,
            "COUNTER_VAR_DIR": str(self.work_dir),
            "PYTHONPATH": str(ROOT),
            # Every simulated teller signs in from this machine's one address.
            "COUNTER_LOGIN_PER_ADDRESS_PER_MINUTE": "0",
        })
        if self.floor:
            env["COUNTER_BENCH_FLOOR"] = "1"
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run ``counter ARGS`` against this database; its output, or an error with it."""
        done = subprocess.run(
            [sys.executable, "-m", "counter.cli", *args], cwd=self.work_dir, env=self.env,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"counter {' '.join(args)} exited {done.returncode}:\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def prepare(self, *, tellers: int, supervisors: int, cases: int, agent_every: int = 5,
                demo_data: bool = True) -> Staff:
        """Tables, ``cases`` merchants, the staff and the floor's table; demo data if asked.

        Without the demo data only the demo branch is made (``counter demo-data``
        takes seconds, mostly hashing the demo users' passwords).
        """
        from counter.store.db import Database
        from counter.store.users import create_branch
        from counter.web.routes.floor import ensure_floor_table

        self.cli("db", "upgrade")
        if demo_data:
            self.cli("demo-data")
        else:
            setup = Database(self.database_url)
            try:
                create_branch(setup, code=BRANCH, name_zh="北京分行营业部", name_en="Beijing")
            finally:
                setup.dispose()
        made = merchants(cases, agent_every=agent_every)
        self.cli("registry", "import", str(write_registry(self.work_dir / "merchants.csv", made)))
        db = Database(self.database_url)
        try:
            ensure_floor_table(db)
            teller_names, supervisor_names = add_staff(
                db, tellers=tellers, supervisors=supervisors)
        finally:
            db.dispose()
        return Staff(teller_names, supervisor_names, deque(made))

    def start_servers(self, count: int, *options: str) -> list[Server]:
        """``count`` more ``counter serve`` processes, each with ``options``."""
        for _ in range(count):
            number = len(self.servers) + 1
            server = Server(free_port(), self.env, self.work_dir / f"server-{number}.log",
                            options)
            self.servers.append(server)  # first: close() stops it even if it never got ready
            server.start()
        return self.servers

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self._postgres_name and self.postgres_server:
            self._admin(self.postgres_server,
                        f'DROP DATABASE IF EXISTS "{self._postgres_name}" WITH (FORCE)')
            self._postgres_name = None
