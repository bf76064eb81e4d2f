"""ASGI middleware that every answer passes through: security headers and a request size limit.

Both are plain ASGI (no ``BaseHTTPMiddleware``) so that they add nothing to
streamed responses and cost one dict update per request. ``SecurityHeaders``
wraps the whole middleware stack (``counter.web.app.CounterApp``), outside
``BodySizeLimit`` and Starlette's own error layer, so that every answer the
app writes carries the headers, the 413 and an unexpected 500 included.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counter.web.errors import error_payload
from counter.web.i18n import catalog

__all__ = ["CONTENT_SECURITY_POLICY", "FRAMEABLE", "BodySizeLimit", "SecurityHeaders"]

FRAMEABLE = "x-counter-frameable"
"""A route sets this header (removed before sending) on an answer our own pages may frame."""

# No inline script or style anywhere: htmx and our own script come from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# A slip preview is shown in a frame of our own console page.
FRAMEABLE_CSP = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeaders:
    """Adds CSP, framing, referrer, sniffing headers; pages and API answers are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                marker = FRAMEABLE.encode()
                frameable = marker in present
                headers = [(n, v) for n, v in headers if n.lower() != marker]
                present.discard(marker)
                policy = FRAMEABLE_CSP if frameable else CONTENT_SECURITY_POLICY
                extra = [
                    (b"content-security-policy", policy.encode()),
                    (b"x-frame-options", b"SAMEORIGIN" if frameable else b"DENY"),
                    *_HEADERS,
                ]
                if not is_static:
                    extra.append((b"cache-control", b"no-store"))
                headers.extend((n, v) for n, v in extra if n not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413, by header or while reading."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_payload("too_large", catalog().text("error.http_413")), ensure_ascii=False
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        too_large = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def rewriting_send(message: Message) -> None:
            # Whatever the app answered after a refused read becomes the 413.
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await self._refuse(send)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, rewriting_send)
        except _TooLarge:
            if not replaced:
                await self._refuse(send)


class _TooLarge(Exception):
    """Raised inside the app's receive when a body without Content-Length grows too large."""
