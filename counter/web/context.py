"""What every request of one app shares: settings, the database and the case desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from counter.config import Settings
from counter.store.db import Database

__all__ = ["WebContext", "build_context"]


@dataclass
class WebContext:
    """Built once per app (per process); holds nothing that must be shared between processes."""

    settings: Settings
    db: Database
    desk: Any = None


def build_context(settings: Settings) -> WebContext:
    return WebContext(settings=settings, db=Database.from_settings(settings))
