"""``counter simulate acquirer|identity|sms --port P``: a peer of the wire contract.

Runs in the foreground until interrupted (Ctrl-C or SIGTERM). Its data is
its own SQLite database (a temporary file unless ``--database`` names one),
loaded from ``--merchants`` and ``--people`` (the CSV formats of
``counter registry import`` and ``counter identity import``) or from the
demo files. Faults start from ``--fault KIND=RATE`` and ``--latency-ms`` and
change at run time through ``POST /_sim/faults`` (docs/integration.md,
"Simulator"). It listens on 127.0.0.1 only unless ``--host`` says otherwise.
"""

from __future__ import annotations

import logging
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from counter.cli._common import fail
from counter.errors import CounterError

__all__ = ["register"]


def simulate(
    kind: Annotated[str, typer.Argument(help="acquirer | identity | sms")],
    port: Annotated[int, typer.Option(help="Port / 端口", min=1, max=65535)] = 8101,
    host: Annotated[str, typer.Option(help="Address / 监听地址")] = "127.0.0.1",
    database: Annotated[
        Path | None, typer.Option(help="SQLite file of the simulator's own data / 数据文件")
    ] = None,
    merchants: Annotated[
        Path | None, typer.Option(help="Merchant registry CSV / 商户登记簿 CSV")
    ] = None,
    people: Annotated[
        Path | None, typer.Option(help="Identity list CSV / 身份核验名单 CSV")
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(help="KEY_ID=SECRET accepted (repeat while rotating) / 可接受的密钥"),
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="KIND=RATE, e.g. error=0.1 / 故障注入比例")
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Delay of every request / 每个请求的延迟")] = 0,
    hang_seconds: Annotated[
        float, typer.Option(help="How long timeout and late faults hang / 超时类故障的时长")
    ] = 2.0,
    skew_seconds: Annotated[float, typer.Option(help="Clock skew accepted / 允许的时钟偏差")] = 300,
    seed: Annotated[int | None, typer.Option(help="Random seed of the faults")] = None,
) -> None:
    """Run a simulated acquirer, identity service or SMS gateway / 启动模拟的外部系统."""
    from counter.adapters.http.faults import FaultPlan, Faults
    from counter.adapters.http.sim_server import serve
    from counter.adapters.http.simulator import KINDS, build_simulator
    from counter.config import DEMO_PEER_KEY
    from counter.store.db import Database

    if kind not in KINDS:
        raise fail(f"错误 / error: {kind!r} 不是 / is not one of {', '.join(KINDS)}")
    keys = dict(_pair(item, "--key") for item in (key or [f"demo-1={DEMO_PEER_KEY}"]))
    try:
        rates = {name: float(rate) for name, rate in (_pair(i, "--fault") for i in fault or [])}
        faults = Faults(
            FaultPlan(rates=rates, latency_ms=latency_ms, hang_seconds=hang_seconds, seed=seed)
        )
    except ValueError as exc:  # before loading any data: a typo fails at once
        raise fail(f"错误 / error: {exc}") from None
    with tempfile.TemporaryDirectory(prefix=f"counter-sim-{kind}-") as scratch:
        path = database or Path(scratch) / "simulator.db"
        db = Database(f"sqlite:///{path}")
        try:
            simulator = build_simulator(
                kind, db, keys=keys, skew=skew_seconds, merchants=merchants, people=people
            )
        except CounterError as exc:
            raise fail(f"错误 / error: {exc.message}") from None
        simulator.faults = faults
        server = serve(simulator, host=host, port=port)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # SIGINT too: a shell's background job starts with it ignored (make run-network).
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        typer.echo(f"counter simulate {kind}: http://{host}:{port} (key ids: {', '.join(keys)})")
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            db.dispose()


def _pair(item: str, option: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name or not value:
        raise fail(f"错误 / error: {option} {item!r}: 应为 / use NAME=VALUE")
    return name.strip(), value.strip()


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate)
