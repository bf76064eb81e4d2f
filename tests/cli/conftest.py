"""Run the ``counter`` command line in-process against the test's database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from counter.cli import app
from counter.config import get_settings
from counter.store.db import Database

Invoke = Callable[..., Result]


def _runner(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("COUNTER_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def counter(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """``counter(...)`` on a database with every table."""
    yield from _runner(db.url, monkeypatch)


@pytest.fixture
def counter_on_empty(empty_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """``counter(...)`` on a database with no tables yet."""
    yield from _runner(empty_db.url, monkeypatch)
