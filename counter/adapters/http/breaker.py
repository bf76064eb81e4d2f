"""A circuit breaker per peer: after a run of failures, stop calling for a while.

Why not pybreaker (the maintained library that would fit): its
``CircuitBreaker.call`` holds the breaker's lock for the whole guarded call,
so every thread's request to a peer would wait for the one in flight; a slow
identity service would queue every teller behind it. This one takes its lock
only to read or change its state.

Any answer from the peer counts as a success (a 4xx too: the peer is up);
no answer, a 5xx or an answer whose signature fails counts as a failure.

``closed``: calls go through; ``failures`` consecutive failures open it.
``open``: calls are refused at once until ``reset_after`` seconds have passed.
``half_open``: one trial call goes through (others are refused meanwhile);
its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["Breaker", "BreakerState"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    def __init__(
        self,
        *,
        failures: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.failures = max(1, failures)
        self.reset_after = reset_after
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failed = 0
        self._opened_at = 0.0
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled():
                return BreakerState.HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """Whether a call may go now; a True in half-open state makes that call the trial."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if not self._cooled():
                    return False
                self._move(BreakerState.HALF_OPEN)
            if self._trial:
                return False
            self._trial = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failed = 0
            self._trial = False
            if self._state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED)

    def failed(self) -> None:
        with self._lock:
            self._trial = False
            self._failed += 1
            if self._state is BreakerState.HALF_OPEN or (
                self._state is BreakerState.CLOSED and self._failed >= self.failures
            ):
                self._opened_at = self._clock()
                self._move(BreakerState.OPEN)

    def _cooled(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_after

    def _move(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
