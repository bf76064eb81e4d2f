"""Request and answer signatures of the wire contract (docs/integration.md, "Signing").

Both sides share a secret per key id. A request is signed over its method,
path (with the query string as sent), timestamp, idempotency key and the
SHA-256 of its body; the answer is signed over its status, its own
timestamp, the SHA-256 of its body and the request's signature, so that an
answer cannot be replayed for another request. Timestamps are whole Unix
seconds; either side refuses one further than ``skew`` seconds from its own
clock. Signatures are lowercase hex HMAC-SHA256, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "ANSWER_SCHEME",
    "IDEMPOTENCY_HEADER",
    "KEY_ID_HEADER",
    "REQUEST_SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "BadSignature",
    "answer_string",
    "request_string",
    "sign_answer",
    "sign_request",
    "verify_answer",
    "verify_request",
]

REQUEST_SCHEME = "counter-hmac-v1"
ANSWER_SCHEME = "counter-hmac-v1-answer"
KEY_ID_HEADER = "X-Counter-Key-Id"
TIMESTAMP_HEADER = "X-Counter-Timestamp"
SIGNATURE_HEADER = "X-Counter-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class BadSignature(Exception):
    """A signature that does not verify; ``reason`` is the contract's error code:
    ``missing_signature``, ``unknown_key``, ``stale_timestamp`` or ``bad_signature``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _mac(key: str, text: str) -> str:
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def request_string(
    method: str, path: str, timestamp: int, idempotency_key: str, body: bytes
) -> str:
    """The text a request's signature covers, one item a line."""
    return "\n".join(
        (REQUEST_SCHEME, method.upper(), path, str(timestamp), idempotency_key, _digest(body))
    )


def answer_string(status: int, timestamp: int, request_signature: str, body: bytes) -> str:
    """The text an answer's signature covers, one item a line."""
    return "\n".join((ANSWER_SCHEME, str(status), str(timestamp), request_signature, _digest(body)))


def sign_request(
    *,
    key_id: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    idempotency_key: str = "",
) -> dict[str, str]:
    """The headers that sign a request (the idempotency key among them when there is one)."""
    headers = {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: _mac(key, request_string(method, path, timestamp, idempotency_key, body)),
    }
    if idempotency_key:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


def sign_answer(
    *, key_id: str, key: str, status: int, body: bytes, timestamp: int, request_signature: str
) -> dict[str, str]:
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: _mac(key, answer_string(status, timestamp, request_signature, body)),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (httpx and http.server spell them differently)."""
    for given, value in headers.items():
        if given.lower() == name.lower():
            return value
    return ""


def _timestamp(headers: Mapping[str, str], now: float, skew: float) -> int:
    raw = _header(headers, TIMESTAMP_HEADER)
    if not raw.isascii() or not raw.isdigit():
        raise BadSignature("missing_signature")
    timestamp = int(raw)
    if abs(timestamp - now) > skew:
        raise BadSignature("stale_timestamp")
    return timestamp


def _check(key: str, text: str, given: str) -> None:
    if not hmac.compare_digest(_mac(key, text), given.lower()):
        raise BadSignature("bad_signature")


def verify_request(
    keys: Mapping[str, str],
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    skew: float,
) -> str:
    """The key id a valid request was signed with; ``BadSignature`` otherwise.

    ``keys`` holds every key id the peer accepts: during a rotation, the old
    one and the new one.
    """
    key_id = _header(headers, KEY_ID_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not key_id or not signature:
        raise BadSignature("missing_signature")
    key = keys.get(key_id)
    if key is None:
        raise BadSignature("unknown_key")
    timestamp = _timestamp(headers, now, skew)
    idempotency_key = _header(headers, IDEMPOTENCY_HEADER)
    _check(key, request_string(method, path, timestamp, idempotency_key, body), signature)
    return key_id


def verify_answer(
    key: str,
    *,
    key_id: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    request_signature: str,
    now: float,
    skew: float,
) -> None:
    """Raise ``BadSignature`` unless the answer is signed with ``key_id`` for this request."""
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise BadSignature("missing_signature")
    if _header(headers, KEY_ID_HEADER) != key_id:
        raise BadSignature("unknown_key")
    timestamp = _timestamp(headers, now, skew)
    _check(key, answer_string(status, timestamp, request_signature, body), signature)
