"""The peers' metrics, in one registry that ``/metrics`` exposes (Prometheus text format).

Counted per peer (``acquirer``, ``identity``, ``sms``) and operation
(``unbind``, ``verify``, ``send``...):

* ``counter_peer_calls_total``: calls the adapters made (one call may take
  several attempts);
* ``counter_peer_attempts_total{result}``: each HTTP attempt by what came
  of it: ``ok``, ``not_found``, ``rejected`` (a 4xx), ``try_later`` (5xx,
  429), ``in_progress`` (409 ``request_in_progress``), ``timeout``,
  ``connect_error``, ``bad_signature``, ``breaker_open`` (not sent at all);
* ``counter_peer_retries_total``: attempts after the first;
* ``counter_peer_call_errors_total{error}``: calls that ended without an
  answer: ``unavailable`` or ``rejected``;
* ``counter_peer_latency_seconds``: a histogram of each attempt's time;
* ``counter_peer_breaker_state`` (0 closed, 1 open, 2 half open) and
  ``counter_peer_breaker_openings_total``.

The counters live in this process. With several processes (web workers and
``counter worker``), set ``PROMETHEUS_MULTIPROC_DIR`` to a directory they
share before they start, and ``/metrics`` adds them all up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

__all__ = [
    "ATTEMPTS",
    "BREAKER_OPENINGS",
    "BREAKER_STATE",
    "CALLS",
    "CALL_ERRORS",
    "LATENCY",
    "PEER_REGISTRY",
    "RETRIES",
    "multiprocess_dir",
]

# No ``*_created`` series: they double the page and say only when a process started.
disable_created_metrics()  # type: ignore[no-untyped-call]
PEER_REGISTRY = CollectorRegistry(auto_describe=True)

CALLS = Counter(
    "counter_peer_calls",
    "Calls to an outside system",
    ["peer", "operation"],
    registry=PEER_REGISTRY,
)
ATTEMPTS = Counter(
    "counter_peer_attempts",
    "HTTP attempts to an outside system, by result",
    ["peer", "operation", "result"],
    registry=PEER_REGISTRY,
)
RETRIES = Counter(
    "counter_peer_retries",
    "Attempts after the first of a call",
    ["peer", "operation"],
    registry=PEER_REGISTRY,
)
CALL_ERRORS = Counter(
    "counter_peer_call_errors",
    "Calls that ended without a usable answer",
    ["peer", "operation", "error"],
    registry=PEER_REGISTRY,
)
LATENCY = Histogram(
    "counter_peer_latency_seconds",
    "Time of one HTTP attempt to an outside system",
    ["peer", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PEER_REGISTRY,
)
BREAKER_STATE = Gauge(
    "counter_peer_breaker_state",
    "Circuit breaker per peer: 0 closed, 1 open, 2 half open",
    ["peer"],
    registry=PEER_REGISTRY,
    multiprocess_mode="max",
)
BREAKER_OPENINGS = Counter(
    "counter_peer_breaker_openings",
    "Times a peer's circuit breaker opened",
    ["peer"],
    registry=PEER_REGISTRY,
)


def multiprocess_dir() -> str | None:
    """Where processes share their counters (``PROMETHEUS_MULTIPROC_DIR``), if set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
