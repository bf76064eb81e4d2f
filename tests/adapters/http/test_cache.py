"""The acquirer's look-ups kept briefly: one answer for a step's checks, fresh after a change."""

from __future__ import annotations

import json

import httpx
import pytest

from counter.adapters.http import HttpAcquirerRegistry, PeerClient, PeerLink
from counter.adapters.http.cache import LookupCache
from counter.adapters.http.signing import SIGNATURE_HEADER, sign_answer

KEY = "cache-test-key"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_its_ttl_and_a_failure_never() -> None:
    clock = Clock()
    cache = LookupCache(2.0, size=2, clock=clock)
    calls: list[str] = []

    def fetch(name: str) -> str:
        calls.append(name)
        return name.upper()

    assert cache.get("/a", lambda: fetch("a")) == "A"
    assert cache.get("/a", lambda: fetch("a")) == "A"
    clock.now += 2.0
    assert cache.get("/a", lambda: fetch("a")) == "A"
    assert calls == ["a", "a"]

    def broken() -> str:
        raise ConnectionError

    with pytest.raises(ConnectionError):
        cache.get("/b", broken)
    assert cache.get("/b", lambda: fetch("b")) == "B"
    cache.get("/c", lambda: fetch("c"))  # size 2: the least recently used (/a) goes
    cache.get("/a", lambda: fetch("a"))
    assert calls == ["a", "a", "b", "c", "a"]


def test_forget_drops_a_path_and_what_is_under_it_only() -> None:
    cache = LookupCache(60)
    for path in ("/m/1", "/m/1/terminals", "/m/10"):
        cache.get(path, lambda p=path: p)  # type: ignore[misc]
    cache.forget("/m/1")
    fetched: list[str] = []
    for path in ("/m/1", "/m/1/terminals", "/m/10"):
        cache.get(path, lambda p=path: fetched.append(p) or p)  # type: ignore[func-returns-value]
    assert fetched == ["/m/1", "/m/1/terminals"]


MERCHANT = {
    "merchant_no": "102110058120001",
    "merchant_name": "北京示例餐饮有限公司",
    "uscc": "91110000600037341L",
    "legal_rep_name": "张三",
    "legal_rep_id_number": "110105198001010016",
    "registered_phone": "13800138000",
    "status": "active",
    "pending_settlement_cents": 0,
    "last_binding_change": None,
}
EXECUTION = {
    "reference": "C-1",
    "outcome": "done",
    "message": {"zh": "已解绑", "en": "unbound"},
    "acquirer_reference": "A-1",
    "executed_at": "2026-12-02T06:45:00Z",
    "replayed": False,
}


def test_one_steps_look_ups_make_one_request_and_an_unbind_makes_them_fresh() -> None:
    seen: list[str] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        body = json.dumps(MERCHANT if request.method == "GET" else EXECUTION).encode()
        headers = sign_answer(
            key_id="k1",
            key=KEY,
            status=200,
            body=body,
            timestamp=1_800_000_000,
            request_signature=request.headers[SIGNATURE_HEADER],
        )
        return httpx.Response(200, content=body, headers=headers)

    client = PeerClient(
        PeerLink("acquirer", "http://peer.test", "k1", KEY),
        transport=httpx.MockTransport(peer),
        clock=lambda: 1_800_000_000.0,
    )
    try:
        acquirer = HttpAcquirerRegistry(client, cache_seconds=60)
        for _ in range(5):
            assert acquirer.merchant("102110058120001") is not None
        acquirer.execute_unbind("C-1", "102110058120001", "SN-PAX-000001", "6222021234567890128")
        acquirer.merchant("102110058120001")
    finally:
        client.close()
    assert seen == [
        "GET /v1/merchants/102110058120001",
        "POST /v1/unbinds",
        "GET /v1/merchants/102110058120001",
    ]
