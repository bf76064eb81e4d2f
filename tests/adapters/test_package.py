"""The package's public face: ``__all__`` is honest, ``build_adapters`` follows the settings."""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import counter.adapters as adapters
from counter.adapters import (
    Adapters,
    LocalAcquirerRegistry,
    LocalIdentityVerifier,
    LocalSmsGateway,
    build_adapters,
)
from counter.config import Settings
from counter.errors import ConfigurationError
from counter.store.db import Database


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(adapters).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "counter.adapters").startswith("counter.adapters")
        and name not in {"annotations"}
    }
    assert set(adapters.__all__) == public
    assert sorted(adapters.__all__) == sorted(set(adapters.__all__))


def test_local_adapters_by_default(db: Database) -> None:
    built = build_adapters(Settings(), db)
    assert isinstance(built.identity, LocalIdentityVerifier)
    assert isinstance(built.acquirer, LocalAcquirerRegistry)
    assert isinstance(built.sms, LocalSmsGateway)


class _BankSms:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, phone: str, text: str, *, key: str) -> object:
        raise NotImplementedError


@pytest.fixture
def plugin() -> Iterator[types.ModuleType]:
    module = types.ModuleType("bank_plugin_for_tests")
    module.sms = lambda settings, db: _BankSms(settings)  # type: ignore[attr-defined]
    module.wrong = lambda settings, db: object()  # type: ignore[attr-defined]
    module.broken = lambda settings, db: 1 / 0  # type: ignore[attr-defined]
    module.not_callable = 42  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_a_bank_plugs_in_a_factory(db: Database, plugin: types.ModuleType) -> None:
    settings = Settings(sms_adapter="bank_plugin_for_tests:sms")
    built = build_adapters(settings, db)
    assert isinstance(built, Adapters)
    assert isinstance(built.sms, _BankSms) and built.sms.settings is settings


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("remote", "package.module:factory"),
        ("no_such_module_xyz:make", "cannot import"),
        ("bank_plugin_for_tests:missing", "no callable"),
        ("bank_plugin_for_tests:not_callable", "no callable"),
        ("bank_plugin_for_tests:wrong", "not a SmsGateway"),
        ("bank_plugin_for_tests:broken", "ZeroDivisionError"),
    ],
)
def test_bad_adapter_settings_are_configuration_errors(
    db: Database, plugin: types.ModuleType, spec: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_adapters(Settings(sms_adapter=spec), db)
    assert expected in caught.value.message.en
    assert "sms_adapter" in caught.value.message.zh


ALLOWED = (
    "counter.adapters",
    "counter.store",
    "counter.banking",
    "counter.text",
    "counter.encodings",
    "counter.errors",
    "counter.config",
)


def test_adapters_import_only_what_the_architecture_allows() -> None:
    """docs/architecture.md: adapters may import store, banking, text, encodings, errors,
        config."""
    root = Path(adapters.__file__).parent
    offending = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offending += [
                f"{path.name}: {name}"
                for name in names
                if name.startswith("counter") and not name.startswith(ALLOWED)
            ]
    assert offending == []
