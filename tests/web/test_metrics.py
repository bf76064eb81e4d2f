"""``GET /metrics``: Prometheus text with the peers' counters and the outbox backlog."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from counter.cases import records
from counter.store.db import utcnow
from counter.web.app import create_app
from counter.web.context import WebContext


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def waiting_message(web: WebContext, kind: str, *, age: timedelta, status: str = "pending") -> None:
    with web.db.transaction() as conn:
        conn.execute(
            insert(records.outbox).values(
                case_reference="BJ001-20261202-0001",
                kind=kind,
                key=f"{kind}:{age.total_seconds()}:{status}",
                payload={},
                status=status,
                attempts=3,
                next_attempt_at=utcnow(),
                created_at=utcnow() - age,
            )
        )


def test_metrics_show_the_outbox_backlog_and_its_oldest_message(
    client: TestClient, web: WebContext
) -> None:
    waiting_message(web, "acquirer.unbind", age=timedelta(minutes=5))
    waiting_message(web, "acquirer.unbind", age=timedelta(minutes=1))
    waiting_message(web, "acquirer.unbind", age=timedelta(minutes=9), status="failed")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    kind = (("kind", "acquirer.unbind"),)
    assert found[("counter_outbox_waiting", kind)] == 2
    assert 300 <= found[("counter_outbox_oldest_age_seconds", kind)] < 400
    assert found[("counter_outbox_failed", kind)] == 1
    assert found[("counter_outbox_most_attempts", kind)] == 3


def test_metrics_want_the_token_when_one_is_set(web: WebContext) -> None:
    web.settings = web.settings.model_copy(update={"metrics_token": "scrape-me"})
    with TestClient(create_app(context=web)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200
