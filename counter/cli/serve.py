"""``counter serve`` (the console and JSON API under uvicorn) and ``counter worker``.

``counter serve`` runs one web process per core (uvicorn's ``--workers``)
and, beside them, one outbox worker (``counter worker``, see
``counter.cases.worker``) that it starts again whenever it dies. With
``--no-worker`` it starts none: the worker then runs as its own service,
on this machine or (PostgreSQL) another. With ``--inline`` every web
process delivers its steps' outbox messages itself, after the commit and
before the answer, as before the worker existed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from counter.cli._common import friendly_errors

__all__ = ["WorkerSupervisor", "register"]

log = logging.getLogger(__name__)

RESTART_DELAY = 0.5  # seconds before the first restart of a dead worker; doubles up to:
RESTART_DELAY_MAX = 30.0
STEADY_SECONDS = 60.0  # a worker that ran this long starts again after the first delay


def worker_command(parent: int | None = None) -> list[str]:
    """The command line of ``counter worker`` with this Python."""
    command = [sys.executable, "-m", "counter.cli", "worker"]
    return [*command, "--parent", str(parent)] if parent is not None else command


class WorkerSupervisor:
    """Keeps one ``counter worker`` process running while the server serves.

    A worker that dies (a crash, ``SIGKILL``, the OOM killer) is started again
    after a delay that grows while it keeps dying; one that stops cleanly
    (exit status 0: someone asked it to, e.g. Ctrl-C reached it) is left
    stopped. The worker watches this process too and stops when it is gone.
    """

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or worker_command(os.getpid())
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="counter-worker-supervisor",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._guard:
            if self._stop.is_set():
                return None
            self.process = subprocess.Popen(self.command)  # noqa: S603  our own command
            self.starts += 1
            return self.process

    def _watch(self) -> None:
        delay = RESTART_DELAY
        while True:
            started = time.monotonic()
            process = self._spawn()
            if process is None:
                return
            code = process.wait()
            if self._stop.is_set():
                return
            if code == 0:
                log.warning("the outbox worker stopped (exit 0); it is not started again")
                return
            if time.monotonic() - started > STEADY_SECONDS:
                delay = RESTART_DELAY
            log.warning("the outbox worker died (exit %s); starting it again in %.0f s",
                        code, delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, RESTART_DELAY_MAX)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the supervisor gave up watching (a clean stop); True if it has."""
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (SIGTERM: it finishes the delivery in hand) and stop watching."""
        with self._guard:
            self._stop.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)


@contextmanager
def _supervised(start: bool) -> Iterator[WorkerSupervisor | None]:
    supervisor = WorkerSupervisor() if start else None
    if supervisor is not None:
        supervisor.start()
    try:
        yield supervisor
    finally:
        if supervisor is not None:
            supervisor.stop()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on / 监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port / 端口", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Web processes (default: one per core); they share only the database / 进程数",
            min=1,
        ),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            envvar="COUNTER_SERVE_WORKER",
            help="Start and supervise the outbox worker (--no-worker: it runs elsewhere) / "
            "同时运行外发投递进程",
        ),
    ] = True,
    inline: Annotated[
        bool,
        typer.Option(
            "--inline",
            help="Deliver the outbox in the web processes, before answering (no worker) / "
            "在请求内投递外发消息",
        ),
    ] = False,
) -> None:
    """Serve the console and the API / 启动柜面系统与接口服务."""
    import uvicorn

    from counter.config import get_settings

    # The web processes read their settings from the environment (uvicorn starts them).
    os.environ["COUNTER_OUTBOX_DELIVERY"] = "inline" if inline else "worker"
    get_settings.cache_clear()
    settings = get_settings()
    settings.check_secret()  # refuse before forking workers, with the message on the console
    processes = workers or os.cpu_count() or 1
    with _supervised(worker and not inline):
        uvicorn.run(
            "counter.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            proxy_headers=False,
            server_header=False,
            log_level="info",
        )


@friendly_errors
def worker(
    parent: Annotated[
        int | None,
        typer.Option(hidden=True, help="Stop when the process with this id is gone"),
    ] = None,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Deliver what is due, then exit / 投递完即退出"),
    ] = False,
) -> None:
    """Deliver the outbox and print slips, woken by each commit / 外发消息投递与凭条打印进程."""
    from counter.branchday.wiring import wire_counter
    from counter.cases.sweeper import Sweeper
    from counter.cases.worker import OutboxWorker, warm_slip_renderer
    from counter.cli._common import database, settings
    from counter.cli.timers import stop_on_signals
    from counter.heap import settle_after_startup
    from counter.store.tally import start_tally

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    for chatty in ("weasyprint", "fontTools"):  # a line per layout step of every slip
        logging.getLogger(chatty).setLevel(logging.WARNING)
    config = settings()
    db = database()
    try:
        wired = wire_counter(db, settings=config, attach=False)
        sweeping = config.housekeeping_seconds > 0
        outbox_worker = OutboxWorker(
            wired.dispatcher,
            sweeper=Sweeper(wired.desk) if sweeping else None,
            poll_seconds=config.worker_poll_seconds,
            sweep_seconds=config.housekeeping_seconds,
        )
        if until_idle:
            typer.echo(f"外发消息 / outbox: {outbox_worker.run_until_idle()} finished")
            return
        if config.worker_nice:
            os.nice(config.worker_nice)  # raises this process's niceness by that much, for life
        warm_slip_renderer(wired)
        settle_after_startup()
        stop = threading.Event()
        tally = start_tally(config.bench_tally_dir) if config.bench_tally_dir else None
        with stop_on_signals(stop):
            outbox_worker.run(stop, parent=parent,
                              ready=lambda: log.info("outbox worker ready (pid %s)", os.getpid()))
        if tally is not None:
            tally.set()
        log.info("outbox worker stopped after %s deliveries", outbox_worker.delivered)
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve)
    app.command("worker")(worker)
