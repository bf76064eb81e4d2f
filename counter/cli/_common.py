"""What the command groups share: settings, the database, the registry, bilingual errors."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from counter.config import Settings, get_settings
from counter.engine import Registry, default_registry
from counter.errors import CounterError
from counter.store.db import Database

__all__ = ["database", "fail", "friendly_errors", "registry", "settings"]

P = ParamSpec("P")
R = TypeVar("R")

BANKING_RULES = "counter.banking.rules"


def settings() -> Settings:
    return get_settings()


def database() -> Database:
    return Database.from_settings(settings())


def registry() -> Registry:
    """The default registry with the banking rules registered (when they are installed)."""
    if importlib.util.find_spec(BANKING_RULES) is not None:
        importlib.import_module(BANKING_RULES)
    return default_registry


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn counter's errors into a bilingual line on stderr and exit status 1, no traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CounterError as exc:
            raise fail(f"错误 / error: {exc.message}") from None
        except (OperationalError, ProgrammingError) as exc:
            raise fail(
                "数据库未就绪,请先运行 counter db upgrade / "
                f"the database is not ready; run counter db upgrade first ({exc.orig})"
            ) from None

    return run
