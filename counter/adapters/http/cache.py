"""A short-lived cache of the acquirer's look-ups: one step's checks ask the same thing many times.

``submit_binding`` runs seven checks and each looks the merchant up again
(``counter.banking.rules.binding`` says why); over a network that is nine
round trips for one answer. ``LookupCache`` keeps an answer (a miss too)
for ``ttl`` seconds, at most ``size`` of them, and forgets a merchant's
answers as soon as this process executes a change for it. A read up to
``ttl`` old can only mislead a check, never an effect: the acquirer decides
an unbind on its own records.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["LookupCache"]

_T = TypeVar("_T")


class LookupCache:
    def __init__(
        self, ttl: float, *, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str, fetch: Callable[[], _T]) -> _T:
        """The answer kept for ``key`` if still fresh, else ``fetch()`` (kept unless it raises)."""
        if self.ttl <= 0:
            return fetch()
        now = self._clock()
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and kept[0] > now:
                self._answers.move_to_end(key)
                answer: _T = kept[1]
                return answer
        answer = fetch()
        with self._lock:
            self._answers[key] = (now + self.ttl, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answer

    def forget(self, path: str) -> None:
        """Drop the answer for ``path`` and every answer under it (``path/...``)."""
        with self._lock:
            for key in [k for k in self._answers if k == path or k.startswith(path + "/")]:
                del self._answers[key]
