"""One peer over HTTP+JSON: signed requests, verified answers, retries, a breaker, metrics.

``PeerClient`` is what the three HTTP adapters share. What it retries is
what the contract (docs/integration.md) calls "try later": no answer
(connect error, reset, timeout), 429, 5xx, 409 ``request_in_progress`` and
an answer whose signature does not verify. Retries repeat the very request,
with the same idempotency key, after an exponential delay with full jitter
(never less than the peer's ``Retry-After``, never more than
``backoff_cap``). Anything else the peer refuses (400, 401, 403, 409, 422)
raises ``PeerRejected`` at once; a 404 answers ``None``.

When the attempts are spent, or the peer's breaker is open, the call raises
``PeerUnavailable``: the adapters turn that into the Protocol's own
"unavailable" answer. The client is safe to share between threads; a
process forked after it was made opens its own connections.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from counter.adapters.http import metrics
from counter.adapters.http.breaker import Breaker, BreakerState
from counter.adapters.http.signing import BadSignature, sign_request, verify_answer
from counter.errors import PeerRejected, PeerUnavailable
from counter.text import Text

__all__ = ["PeerAnswer", "PeerClient", "PeerLink"]

log = logging.getLogger(__name__)

_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}
# How a teller reads the peer's name in a message.
_NAMES = {
    "acquirer": Text(zh="收单机构", en="The acquirer"),
    "identity": Text(zh="联网核查系统", en="The identity service"),
    "sms": Text(zh="短信网关", en="The SMS gateway"),
}


def _name(peer: str) -> Text:
    return _NAMES.get(peer, Text(zh=peer, en=peer))


@dataclass(frozen=True)
class PeerLink:
    """How to reach one peer: where, with which key, how patiently."""

    peer: str  # acquirer | identity | sms: the metrics' label and the errors' ``peer``
    base_url: str
    key_id: str
    key: str
    connect_timeout: float = 1.0
    read_timeout: float = 5.0
    attempts: int = 3
    backoff_base: float = 0.1
    backoff_cap: float = 2.0
    skew: float = 300.0
    breaker_failures: int = 5
    breaker_reset: float = 30.0


@dataclass(frozen=True)
class PeerAnswer:
    status: int
    body: Mapping[str, Any]


class _TryLater(Exception):
    def __init__(self, result: str, detail: str, retry_after: float | None = None) -> None:
        self.result = result
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(detail)


class PeerClient:
    def __init__(
        self,
        link: PeerLink,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        breaker: Breaker | None = None,
    ) -> None:
        self.link = link
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.breaker = breaker or Breaker(
            failures=link.breaker_failures,
            reset_after=link.breaker_reset,
            on_change=self._breaker_moved,
        )
        metrics.BREAKER_STATE.labels(link.peer).set(0)
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._pid = 0

    def get(self, operation: str, path: str) -> PeerAnswer | None:
        """A read; ``None`` when the peer answers 404."""
        return self._call(operation, "GET", path, b"", "")

    def post(self, operation: str, path: str, body: Mapping[str, Any], *, key: str) -> PeerAnswer:
        """A request with its idempotency ``key``; a 404 here is ``PeerRejected`` (a wrong URL)."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = self._call(operation, "POST", path, content, key)
        if answer is None:
            raise PeerRejected(
                Text(
                    zh=f"{_name(self.link.peer).zh}没有 {path} 接口(HTTP 404),请检查地址设置。",
                    en=f"{_name(self.link.peer).en} has no {path} (HTTP 404); check its base URL.",
                ),
                peer=self.link.peer,
                status=404,
                error_code="not_found",
            )
        return answer

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the attempts ---------------------------------------------------------------------

    def _call(
        self, operation: str, method: str, path: str, content: bytes, key: str
    ) -> PeerAnswer | None:
        link = self.link
        metrics.CALLS.labels(link.peer, operation).inc()
        last: _TryLater | None = None
        for attempt in range(1, max(1, link.attempts) + 1):
            if attempt > 1:
                metrics.RETRIES.labels(link.peer, operation).inc()
                assert last is not None
                self._sleep(self._delay(attempt - 1, last.retry_after))
            if not self.breaker.allow():
                metrics.ATTEMPTS.labels(link.peer, operation, "breaker_open").inc()
                last = _TryLater("breaker_open", "the circuit breaker is open")
                break
            try:
                answer = self._attempt(operation, method, path, content, key)
            except _TryLater as exc:
                metrics.ATTEMPTS.labels(link.peer, operation, exc.result).inc()
                if exc.result == "in_progress":
                    self.breaker.succeeded()  # the peer is up, busy with this very request
                else:
                    self.breaker.failed()
                log.info(
                    "%s %s attempt %s: %s (%s)",
                    link.peer,
                    operation,
                    attempt,
                    exc.result,
                    exc.detail,
                )
                last = exc
                continue
            except PeerRejected as exc:
                self.breaker.succeeded()
                metrics.ATTEMPTS.labels(link.peer, operation, "rejected").inc()
                metrics.CALL_ERRORS.labels(link.peer, operation, "rejected").inc()
                log.warning("%s %s rejected: %s", link.peer, operation, exc.message.en)
                raise
            except BaseException:
                self.breaker.failed()  # never leave a half-open trial hanging
                raise
            self.breaker.succeeded()
            metrics.ATTEMPTS.labels(
                link.peer, operation, "ok" if answer is not None else "not_found"
            ).inc()
            return answer
        assert last is not None
        metrics.CALL_ERRORS.labels(link.peer, operation, "unavailable").inc()
        name = _name(link.peer)
        raise PeerUnavailable(
            Text(
                zh=f"{name.zh}暂时无法连接,请稍后重试({last.result})。",
                en=f"{name.en} is unavailable; try again later ({last.result}: {last.detail}).",
            ),
            peer=link.peer,
            reason=last.result,
        )

    def _delay(self, failures: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling; at least the peer's ``Retry-After``."""
        ceiling: float = min(self.link.backoff_cap, self.link.backoff_base * 2.0 ** (failures - 1))
        delay = self._jitter() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.link.backoff_cap))
        return delay

    def _attempt(
        self, operation: str, method: str, path: str, content: bytes, key: str
    ) -> PeerAnswer | None:
        link = self.link
        http = self._http()
        request = http.build_request(method, path, content=content)
        if content:
            request.headers["Content-Type"] = "application/json"
        # The request target as sent (with the base URL's own path, if it has one).
        headers = sign_request(
            key_id=link.key_id,
            key=link.key,
            method=method,
            path=request.url.raw_path.decode("ascii"),
            body=content,
            timestamp=int(self._clock()),
            idempotency_key=key,
        )
        request.headers.update(headers)
        started = time.perf_counter()
        try:
            response = http.send(request)
        except httpx.TimeoutException as exc:
            raise _TryLater("timeout", type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise _TryLater("connect_error", f"{type(exc).__name__}: {exc}") from exc
        finally:
            metrics.LATENCY.labels(link.peer, operation).observe(time.perf_counter() - started)
        status = response.status_code
        if status == 429 or status >= 500:
            raise _TryLater("try_later", f"HTTP {status}", _retry_after(response))
        if status != 401:  # a peer that refuses our signature cannot sign with our key
            self._verify(response, status, headers["X-Counter-Signature"])
        body = _json(response)
        if body is None:
            raise _TryLater("bad_signature", "the answer is not a JSON object")
        if 200 <= status < 300:
            return PeerAnswer(status, body)
        if status == 404:
            return None
        code = _error_code(body)
        if status == 409 and code == "request_in_progress":
            raise _TryLater("in_progress", "request in progress", _retry_after(response))
        name = _name(link.peer)
        raise PeerRejected(
            Text(
                zh=f"{name.zh}拒绝了请求(HTTP {status} {code}),请联系运维检查接口设置。",
                en=f"{name.en} refused the request (HTTP {status} {code}); "
                "operations should check the interface settings.",
            ),
            peer=link.peer,
            status=status,
            error_code=code,
        )

    def _verify(self, response: httpx.Response, status: int, request_signature: str) -> None:
        link = self.link
        try:
            verify_answer(
                link.key,
                key_id=link.key_id,
                status=status,
                headers=response.headers,
                body=response.content,
                request_signature=request_signature,
                now=self._clock(),
                skew=link.skew,
            )
        except BadSignature as exc:
            raise _TryLater("bad_signature", exc.reason) from exc

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                # A forked child must not share the parent's sockets.
                self._client = httpx.Client(
                    base_url=self.link.base_url,
                    transport=self._transport,
                    timeout=httpx.Timeout(
                        self.link.read_timeout, connect=self.link.connect_timeout
                    ),
                    follow_redirects=False,
                )
                self._pid = os.getpid()
            return self._client

    def _breaker_moved(self, state: BreakerState) -> None:
        metrics.BREAKER_STATE.labels(self.link.peer).set(_STATE_VALUE[state])
        if state is BreakerState.OPEN:
            metrics.BREAKER_OPENINGS.labels(self.link.peer).inc()
            log.warning("%s: circuit breaker open", self.link.peer)
        elif state is BreakerState.CLOSED:
            log.info("%s: circuit breaker closed", self.link.peer)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_code(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("code", "error"))
    return "error"
