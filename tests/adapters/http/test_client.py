"""``PeerClient`` through httpx's MockTransport: what is retried, how long it waits, signatures.

The mock peer signs its answers with the contract's scheme (or, where a
test says so, does not), so the real client runs end to end without a network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter.adapters.http import PeerClient, PeerLink
from counter.adapters.http.metrics import PEER_REGISTRY
from counter.adapters.http.signing import (
    SIGNATURE_HEADER,
    BadSignature,
    sign_answer,
    verify_request,
)
from counter.errors import PeerRejected, PeerUnavailable

KEY = "unit-test-key"
NOW = 1_800_000_000.0


def link(**options: object) -> PeerLink:
    settings: dict[str, object] = {"attempts": 3, "backoff_base": 0.1, "backoff_cap": 2.0}
    settings.update(options)
    return PeerLink("acquirer", "http://peer.test", "k1", KEY, **settings)  # type: ignore[arg-type]


Answer = tuple[int, dict[str, object], dict[str, str]]


class MockPeer:
    """Answers each request with the next of ``script`` (status, body, extra headers)."""

    def __init__(self, *script: Answer | type[Exception], sign: bool = True) -> None:
        self.script = list(script)
        self.sign = sign
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        verify_request(
            {"k1": KEY},
            method=request.method,
            path=request.url.raw_path.decode(),
            headers=dict(request.headers),
            body=request.content,
            now=NOW,
            skew=300,
        )
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, type):
            raise step("scripted", request=request)  # type: ignore[call-arg]
        status, body, extra = step
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **extra}
        if self.sign:
            headers.update(
                sign_answer(
                    key_id="k1",
                    key=KEY,
                    status=status,
                    body=payload,
                    timestamp=int(NOW),
                    request_signature=request.headers[SIGNATURE_HEADER],
                )
            )
        return httpx.Response(status, content=payload, headers=headers)


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def make_client(slept: list[float]) -> Iterator[Callable[..., PeerClient]]:
    made: list[PeerClient] = []

    def make(peer: MockPeer, **options: object) -> PeerClient:
        client = PeerClient(
            link(**options),
            transport=httpx.MockTransport(peer),
            sleep=slept.append,
            clock=lambda: NOW,
            jitter=lambda: 1.0,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


OK: Answer = (200, {"outcome": "done"}, {})


def test_a_signed_request_gets_a_verified_answer(make_client: Callable[..., PeerClient]) -> None:
    peer = MockPeer(OK)
    answer = make_client(peer).post("unbind", "/v1/unbinds", {"a": "张"}, key="C-1:unbind")
    assert answer.body == {"outcome": "done"}
    [request] = peer.requests
    assert request.headers["Idempotency-Key"] == "C-1:unbind"
    assert request.headers["X-Counter-Key-Id"] == "k1"
    assert json.loads(request.content) == {"a": "张"}


@pytest.mark.parametrize(
    "failure",
    [
        (503, {"error": {"code": "unavailable"}}, {}),
        (500, {}, {}),
        (429, {}, {}),
        (409, {"error": {"code": "request_in_progress"}}, {}),
        httpx.ConnectError,
        httpx.ReadTimeout,
        httpx.RemoteProtocolError,
    ],
)
def test_try_later_is_retried_with_the_same_key_until_it_answers(
    make_client: Callable[..., PeerClient], failure: Answer | type[Exception], slept: list[float]
) -> None:
    peer = MockPeer(failure, failure, OK)
    answer = make_client(peer).post("unbind", "/v1/unbinds", {}, key="C-2:unbind")
    assert answer.status == 200
    assert [r.headers["Idempotency-Key"] for r in peer.requests] == ["C-2:unbind"] * 3
    assert slept == [0.1, 0.2]  # exponential, under a jitter of 1.0


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422])
def test_a_refusal_is_not_retried(make_client: Callable[..., PeerClient], status: int) -> None:
    peer = MockPeer((status, {"error": {"code": "invalid_request"}}, {}))
    with pytest.raises(PeerRejected) as refused:
        make_client(peer).post("unbind", "/v1/unbinds", {}, key="C-3:unbind")
    assert len(peer.requests) == 1
    assert refused.value.context["status"] == status


def test_spent_attempts_are_unavailable(make_client: Callable[..., PeerClient]) -> None:
    peer = MockPeer((503, {}, {}))
    with pytest.raises(PeerUnavailable) as down:
        make_client(peer).post("unbind", "/v1/unbinds", {}, key="C-4:unbind")
    assert len(peer.requests) == 3
    assert down.value.context["reason"] == "try_later"


def test_an_unsigned_or_forged_answer_is_not_believed(
    make_client: Callable[..., PeerClient],
) -> None:
    peer = MockPeer(OK, sign=False)
    with pytest.raises(PeerUnavailable) as down:
        make_client(peer).post("unbind", "/v1/unbinds", {}, key="C-5:unbind")
    assert down.value.context["reason"] == "bad_signature"
    assert len(peer.requests) == 3  # the same request again: the key makes that safe


def test_retry_after_is_honoured_up_to_the_cap(
    make_client: Callable[..., PeerClient], slept: list[float]
) -> None:
    peer = MockPeer((503, {}, {"Retry-After": "1.5"}), (503, {}, {"Retry-After": "30"}), OK)
    make_client(peer).get("merchant", "/v1/merchants/1")
    assert slept == [1.5, 2.0]


def test_a_get_answers_none_for_404_and_a_post_calls_it_a_wrong_url(
    make_client: Callable[..., PeerClient],
) -> None:
    peer = MockPeer((404, {"error": {"code": "not_found"}}, {}))
    client = make_client(peer)
    assert client.get("merchant", "/v1/merchants/x") is None
    with pytest.raises(PeerRejected):
        client.post("unbind", "/v1/unbindz", {}, key="C-6:unbind")


def test_the_breaker_stops_calls_after_failures_and_metrics_count_them(
    make_client: Callable[..., PeerClient],
) -> None:
    def sample(name: str, **labels: str) -> float:
        return PEER_REGISTRY.get_sample_value(name, {"peer": "acquirer", **labels}) or 0.0

    openings = sample("counter_peer_breaker_openings_total")
    refused = sample("counter_peer_attempts_total", operation="merchant", result="breaker_open")
    peer = MockPeer(httpx.ConnectError)
    client = make_client(peer, attempts=1, breaker_failures=2, breaker_reset=60)
    for _ in range(3):
        with pytest.raises(PeerUnavailable):
            client.get("merchant", "/v1/merchants/1")
    assert len(peer.requests) == 2  # the third was refused by the open breaker
    assert sample("counter_peer_breaker_openings_total") == openings + 1
    assert sample("counter_peer_breaker_state") == 1
    after = sample("counter_peer_attempts_total", operation="merchant", result="breaker_open")
    assert after == refused + 1


@given(
    failures=st.integers(min_value=1, max_value=20),
    draw=st.floats(min_value=0, max_value=1),
    retry_after=st.none() | st.floats(min_value=0, max_value=100),
)
def test_a_delay_never_passes_the_cap_nor_undercuts_retry_after(
    failures: int, draw: float, retry_after: float | None
) -> None:
    client = PeerClient(link(), jitter=lambda: draw)
    delay = client._delay(failures, retry_after)
    assert 0 <= delay <= 2.0
    assert delay <= 0.1 * 2 ** (failures - 1) or retry_after is not None
    if retry_after is not None:
        assert delay >= min(retry_after, 2.0)


def test_the_signature_covers_method_path_key_and_body() -> None:
    from counter.adapters.http.signing import sign_request

    headers = sign_request(
        key_id="k1",
        key=KEY,
        method="POST",
        path="/v1/unbinds",
        body=b"{}",
        timestamp=int(NOW),
        idempotency_key="C-7:unbind",
    )

    def check(**changed: object) -> None:
        request: dict[str, object] = {
            "method": "POST",
            "path": "/v1/unbinds",
            "headers": headers,
            "body": b"{}",
        }
        request.update(changed)
        verify_request({"k1": KEY}, now=NOW, skew=300, **request)  # type: ignore[arg-type]

    check()
    for changed in (
        {"method": "PUT"},
        {"path": "/v1/binds"},
        {"body": b'{"x":1}'},
        {"headers": {**headers, "Idempotency-Key": "C-8:unbind"}},
    ):
        with pytest.raises(BadSignature) as bad:
            check(**changed)
        assert bad.value.reason == "bad_signature"
    with pytest.raises(BadSignature) as stale:
        verify_request(
            {"k1": KEY},
            method="POST",
            path="/v1/unbinds",
            headers=headers,
            body=b"{}",
            now=NOW + 301,
            skew=300,
        )
    assert stale.value.reason == "stale_timestamp"
    with pytest.raises(BadSignature) as unknown:
        verify_request(
            {"k2": KEY},
            method="POST",
            path="/v1/unbinds",
            headers=headers,
            body=b"{}",
            now=NOW,
            skew=300,
        )
    assert unknown.value.reason == "unknown_key"


def test_the_signed_path_is_the_request_target_with_the_base_urls_own_path(
    slept: list[float],
) -> None:
    peer = MockPeer(OK)
    client = PeerClient(
        PeerLink("acquirer", "http://peer.test/counter", "k1", KEY),
        transport=httpx.MockTransport(peer),
        sleep=slept.append,
        clock=lambda: NOW,
    )
    try:
        client.post("unbind", "/v1/unbinds", {}, key="C-9:unbind")
    finally:
        client.close()
    assert peer.requests[0].url.raw_path == b"/counter/v1/unbinds"


@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-_%.", min_size=1, max_size=60),
    body=st.binary(max_size=200),
    key=st.text(alphabet="ABCDEF0123456789-:/", max_size=40),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_a_signed_request_verifies_and_any_changed_byte_of_its_body_does_not(
    method: str, path: str, body: bytes, key: str, flip: int
) -> None:
    from counter.adapters.http.signing import sign_request

    headers = sign_request(
        key_id="k1",
        key=KEY,
        method=method,
        path="/" + path,
        body=body,
        timestamp=int(NOW),
        idempotency_key=key,
    )
    assert (
        verify_request(
            {"k1": KEY},
            method=method,
            path="/" + path,
            headers=headers,
            body=body,
            now=NOW,
            skew=300,
        )
        == "k1"
    )
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(BadSignature):
            verify_request(
                {"k1": KEY},
                method=method,
                path="/" + path,
                headers=headers,
                body=changed,
                now=NOW,
                skew=300,
            )


def test_an_unexpected_error_in_a_trial_call_does_not_leave_the_breaker_half_open(
    make_client: Callable[..., PeerClient],
) -> None:
    class Strange(Exception):
        pass

    client = make_client(MockPeer(OK), attempts=1, breaker_failures=1, breaker_reset=0)
    failures: list[type[Exception]] = [httpx.ConnectError, Strange]

    def failing(request: httpx.Request) -> httpx.Response:
        raise failures.pop(0)("scripted")

    client._transport = httpx.MockTransport(failing)
    with pytest.raises(PeerUnavailable):
        client.get("merchant", "/v1/merchants/1")  # opens the breaker
    with pytest.raises(Strange):
        client.get("merchant", "/v1/merchants/1")  # the half-open trial, ended oddly
    assert client.breaker.allow()  # a new trial may go: the odd one did not hang
