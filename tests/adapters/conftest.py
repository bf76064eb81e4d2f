"""Fixtures for the adapters' tests; ``db`` (a fresh database with every table) is
``tests/conftest.py``'s."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from counter.adapters import LocalAcquirerRegistry
from counter.store.db import Database

from .factories import merchant_row, to_csv


@pytest.fixture
def acquirer(db: Database) -> LocalAcquirerRegistry:
    return LocalAcquirerRegistry(db)


@pytest.fixture
def registry(acquirer: LocalAcquirerRegistry) -> Callable[..., LocalAcquirerRegistry]:
    """Import rows into the local acquirer and hand it back: ``registry(merchant_row(), ...)``."""

    def load(*rows: Mapping[str, str]) -> LocalAcquirerRegistry:
        acquirer.import_merchants(to_csv(rows or [merchant_row()]))
        return acquirer

    return load
