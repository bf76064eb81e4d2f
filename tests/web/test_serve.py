"""``counter serve``: options, the app factory, and the secret check before any worker starts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from counter.cli import app
from counter.cli.serve import WorkerSupervisor
from counter.config import get_settings


@pytest.fixture(autouse=True)
def _restore_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """``counter serve`` sets COUNTER_OUTBOX_DELIVERY for its web processes: undo it after."""
    monkeypatch.setenv("COUNTER_OUTBOX_DELIVERY", "inline")


def test_serve_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--no-worker", "--inline"):
        assert option in result.output


def test_serve_refuses_the_default_secret_outside_demo_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTER_DEMO_MODE", "false")
    monkeypatch.delenv("COUNTER_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    started: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append((args, kwargs)))
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert started == []


def test_serve_runs_the_factory_with_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTER_DEMO_MODE", "true")
    get_settings.cache_clear()
    started: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append((args, kwargs)))
    try:
        result = CliRunner().invoke(
            app, ["serve", "--port", "8123", "--workers", "2", "--no-worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = started
    assert args == ("counter.web.app:create_app",)
    assert kwargs["factory"] is True and kwargs["workers"] == 2 and kwargs["port"] == 8123


def _serve(monkeypatch: pytest.MonkeyPatch, *options: str) -> tuple[dict[str, object], list[str]]:
    """Run ``counter serve OPTIONS`` with uvicorn and the supervisor stubbed: what each got."""
    monkeypatch.setenv("COUNTER_DEMO_MODE", "true")
    get_settings.cache_clear()
    started: list[dict[str, object]] = []
    delivery: list[str] = []
    supervised: list[str] = []

    def run(*args: object, **kwargs: object) -> None:
        started.append(kwargs)
        delivery.append(get_settings().outbox_delivery)

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setattr(WorkerSupervisor, "start", lambda self: supervised.append("start"))
    monkeypatch.setattr(WorkerSupervisor, "stop", lambda self: supervised.append("stop"))
    try:
        result = CliRunner().invoke(app, ["serve", *options])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    ((kwargs,),) = [started]
    return {**kwargs, "delivery": delivery[0]}, supervised


def test_serve_runs_a_process_per_core_and_supervises_one_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kwargs, supervised = _serve(monkeypatch)
    assert kwargs["workers"] == (os.cpu_count() or 1)
    assert kwargs["delivery"] == "worker"
    assert supervised == ["start", "stop"]


def test_serve_without_a_worker_leaves_delivery_to_one_running_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kwargs, supervised = _serve(monkeypatch, "--no-worker")
    assert kwargs["delivery"] == "worker" and supervised == []


def test_serve_inline_delivers_in_the_web_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs, supervised = _serve(monkeypatch, "--inline")
    assert kwargs["delivery"] == "inline" and supervised == []


def test_the_supervisor_starts_a_dead_worker_again_and_leaves_a_stopped_one(
    tmp_path: Path,
) -> None:
    """A worker that dies is started again; one that exits 0 (asked to stop) is not."""
    runs = tmp_path / "runs"
    script = (
        "import pathlib, sys\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "n = len(runs.read_text()) if runs.exists() else 0\n"
        "runs.write_text('x' * (n + 1))\n"
        "sys.exit(0 if n >= 2 else 9)\n"  # dies twice, then stops cleanly
    )
    supervisor = WorkerSupervisor([sys.executable, "-c", script])
    supervisor.start()
    try:
        assert supervisor.join(timeout=60)
    finally:
        supervisor.stop()
    assert supervisor.starts == 3
    assert runs.read_text() == "xxx"
