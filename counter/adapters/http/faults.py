"""What the simulator does wrong on purpose: the fault kinds and how they are chosen.

==============  =====================================================  ========
kind            what the client sees                                   executes
==============  =====================================================  ========
``error``       503 with ``Retry-After: 0``                            no
``error_after`` 500, although the request was carried out              yes
``timeout``     no answer until ``hang_seconds``, then a closed socket no
``late``        the answer, ``hang_seconds`` late (the client gave up)  yes
``reset``       the connection reset (TCP RST) with no answer          yes
``duplicate``   a normal answer; the request was delivered twice       yes (once)
``bad_signature`` a normal answer with a wrong signature               yes
==============  =====================================================  ========

``latency_ms`` delays every request; ``down`` resets every connection at
once, before reading it (an outage). A fault comes from ``queue`` (the next
requests, in order) or else at random by ``rates``, and only for paths
under one of ``paths``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "FaultPlan", "Faults"]

FAULT_KINDS = (
    "error",
    "error_after",
    "timeout",
    "late",
    "reset",
    "duplicate",
    "bad_signature",
)


@dataclass
class FaultPlan:
    """The simulator's fault settings (the control endpoint's JSON, field for field)."""

    rates: dict[str, float] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=lambda: ["/v1/"])
    latency_ms: float = 0.0
    hang_seconds: float = 2.0
    down: bool = False
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """The plan in force, changed by the control endpoint while requests run."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._random = random.Random()  # noqa: S311  (fault injection, not cryptography)
        self.injected: dict[str, int] = {}
        self.update((plan or FaultPlan()).as_json())

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            return FaultPlan(**self._plan.as_json())

    def update(self, changes: Mapping[str, Any]) -> FaultPlan:
        """Change the fields given (others stay); ``ValueError`` names a bad one."""
        with self._lock:
            merged = {**self._plan.as_json(), **changes}
            unknown = set(merged) - set(FaultPlan().as_json())
            if unknown:
                raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
            plan = FaultPlan(**merged)
            for kind in [*plan.rates, *plan.queue]:
                if kind not in FAULT_KINDS:
                    known = ", ".join(FAULT_KINDS)
                    raise ValueError(f"unknown fault kind {kind!r}; one of {known}")
            if any(not 0 <= float(rate) <= 1 for rate in plan.rates.values()):
                raise ValueError("rates are probabilities from 0 to 1")
            if "seed" in changes and plan.seed is not None:
                self._random.seed(plan.seed)
            self._plan = plan
            return plan

    def pick(self, path: str) -> str | None:
        """The fault for a request to ``path``, if any (and count it)."""
        with self._lock:
            plan = self._plan
            if not any(path.startswith(prefix) for prefix in plan.paths):
                return None
            kind: str | None = None
            if plan.queue:
                kind = plan.queue.pop(0)
            else:
                draw = self._random.random()
                for name, rate in plan.rates.items():
                    if draw < rate:
                        kind = name
                        break
                    draw -= rate
            if kind is not None:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind
