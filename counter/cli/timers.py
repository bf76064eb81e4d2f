"""``counter sweep``: expire idle cases, and deliver the outbox messages that are due.

Every round, the sweeper (``counter.cases.sweeper``) expires the open cases
idle longer than ``COUNTER_CASE_IDLE_HOURS``, then the outbox dispatcher
delivers every message due by then. The outbox worker (``counter worker``,
which ``counter serve`` runs) does both all the time; this command is for
deployments without it (``--inline`` web processes deliver a step's own
messages, but nothing in them comes back for a retry due minutes on or a
message whose deliverer died mid-delivery), or as a cron job beside it.

Several ``counter sweep`` processes may run against one database (each case
expires once; each message is claimed by one), though one is enough.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from counter.cases.sweeper import Sweeper, run_rounds, sweep_round
from counter.cases.wiring import wire
from counter.cli._common import database, friendly_errors, settings

__all__ = ["register", "run_rounds", "stop_on_signals", "sweep_round"]

log = logging.getLogger(__name__)

@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT end the loop after the round in progress."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    kept = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


@friendly_errors
def sweep(
    once: Annotated[
        bool, typer.Option("--once", help="run one round and exit / 只运行一轮")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="seconds between rounds / 每轮间隔秒数")
    ] = 60.0,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="cases read per query / 每批读取的案件数")
    ] = 200,
    outbox: Annotated[
        bool,
        typer.Option(
            "--outbox/--no-outbox", help="also deliver due outbox messages / 同时投递外发消息"
        ),
    ] = True,
) -> None:
    """Expire idle cases and deliver due outbox messages / 关闭超时案件并投递外发消息."""
    config = settings()
    db = database()
    try:
        wired = wire(db, settings=config, attach=False)
        sweeper = Sweeper(wired.desk, batch_size=batch)
        dispatcher = wired.dispatcher if outbox else None
        if once:
            sweep_round(sweeper, dispatcher, typer.echo)
            return
        typer.echo(
            f"每 {interval:g} 秒一轮,闲置 {config.case_idle_hours} 小时的案件将过期 / "
            f"a round every {interval:g} s; cases idle {config.case_idle_hours} h expire"
        )
        stop = threading.Event()
        with stop_on_signals(stop):
            run_rounds(sweeper, dispatcher, interval=interval, stop=stop, echo=typer.echo)
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to ``app``."""
    app.command("sweep")(sweep)
