"""What the runtime hands to checks and actions as ``services``: adapters, settings, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from counter.config import Settings, get_settings
from counter.store.db import Database, utcnow

__all__ = ["Services"]


@dataclass
class Services:
    """The outside world as the workflow's checks and actions may see it.

    ``identity``, ``acquirer`` and ``sms`` are the adapters (``counter.adapters``
    Protocols); ``None`` where a deployment has none. Checks that *ask*
    (identity verification) call them directly; anything that *changes*
    an outside system goes through the outbox instead.
    """

    settings: Settings = field(default_factory=get_settings)
    clock: Callable[[], datetime] = utcnow
    db: Database | None = None
    identity: Any = None
    acquirer: Any = None
    sms: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()
