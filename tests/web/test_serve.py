"""``counter serve``: options, the app factory, and the secret check before any worker starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from counter.cli import app
from counter.config import get_settings


def test_serve_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
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
        result = CliRunner().invoke(app, ["serve", "--port", "8123", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = started
    assert args == ("counter.web.app:create_app",)
    assert kwargs["factory"] is True and kwargs["workers"] == 2 and kwargs["port"] == 8123
