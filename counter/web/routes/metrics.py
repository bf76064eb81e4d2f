"""``GET /metrics``: Prometheus text format, for the bank's monitoring to scrape.

The peers' counters and latencies (``counter.adapters.http.metrics``) and,
read at scrape time, the outbox: ``counter_outbox_waiting{kind}``,
``counter_outbox_oldest_age_seconds{kind}`` (how long the oldest waiting
message has waited), ``counter_outbox_most_attempts{kind}`` and
``counter_outbox_failed{kind}``. Nothing personal is in it. With
``COUNTER_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer``
with that token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from counter.adapters.http.metrics import PEER_REGISTRY, multiprocess_dir
from counter.cases.backlog import outbox_backlog
from counter.store.db import Database, utcnow
from counter.web.deps import WebDep

__all__ = ["router"]

router = APIRouter(tags=["operations"])


class _OutboxCollector(Collector):
    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        waiting = GaugeMetricFamily(
            "counter_outbox_waiting", "Outbox messages not yet delivered", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "counter_outbox_oldest_age_seconds",
            "Age of the oldest outbox message not yet delivered",
            labels=["kind"],
        )
        attempts = GaugeMetricFamily(
            "counter_outbox_most_attempts",
            "Most delivery attempts of a waiting outbox message",
            labels=["kind"],
        )
        failed = GaugeMetricFamily(
            "counter_outbox_failed", "Outbox messages given up on", labels=["kind"]
        )
        for backlog in outbox_backlog(self._db):
            waiting.add_metric([backlog.kind], backlog.waiting)
            age = (now - backlog.oldest).total_seconds() if backlog.oldest else 0.0
            oldest.add_metric([backlog.kind], max(0.0, age))
            attempts.add_metric([backlog.kind], backlog.most_attempts)
            failed.add_metric([backlog.kind], backlog.failed)
        yield from (waiting, oldest, attempts, failed)


@router.get("/metrics", include_in_schema=False)
def metrics(web: WebDep, authorization: Annotated[str, Header()] = "") -> Response:
    token = web.settings.metrics_token
    if token and not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        # A plain answer: the console's handlers would send a 401 to the login page.
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    peers: CollectorRegistry = PEER_REGISTRY
    shared = multiprocess_dir()
    if shared is not None:
        peers = CollectorRegistry()
        MultiProcessCollector(peers, path=shared)  # type: ignore[no-untyped-call]
    outbox = CollectorRegistry(auto_describe=False)
    outbox.register(_OutboxCollector(web.db))
    return Response(
        generate_latest(peers) + generate_latest(outbox), media_type=CONTENT_TYPE_LATEST
    )
