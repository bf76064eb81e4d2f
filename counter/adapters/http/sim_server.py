"""The simulator on the wire: a threaded HTTP server that checks signatures and misbehaves.

``serve(simulator, host=, port=)`` binds a ``ThreadingHTTPServer`` whose
handler verifies each request's signature, applies the fault the plan
picks (``counter.adapters.http.faults``), hands the request to the
``Simulator`` and signs its answer. It works at the socket for what a
framework would hide: a TCP reset, an answer after the client gave up, a
request delivered twice at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from counter.adapters.http.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    BadSignature,
    sign_answer,
    verify_request,
)
from counter.adapters.http.simulator import Answer, Refusal, Simulator
from counter.text import Text

__all__ = ["serve", "wait_until_up"]

log = logging.getLogger(__name__)

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "counter-simulator"
    simulator: Simulator  # set on the subclass ``serve`` makes

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        sim = self.simulator
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if url.path.startswith("/_sim/"):
            body = self.rfile.read(length) if length else b""
            try:
                answer = sim.control(method, url.path, url.query, body)
            except Refusal as refusal:
                answer = refusal.answer()
            self._write(answer, signature=None)
            return
        plan = sim.faults.plan
        if plan.down:
            self._reset()
            return
        body = self.rfile.read(length) if length else b""
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        fault = sim.faults.pick(url.path)
        request_signature = self.headers.get(SIGNATURE_HEADER, "")
        key = self.headers.get(IDEMPOTENCY_HEADER, "")
        try:
            key_id = verify_request(
                sim.keys,
                method=method,
                path=self.path,
                headers=dict(self.headers.items()),
                body=body,
                now=time.time(),
                skew=sim.skew,
            )
        except BadSignature as bad:
            self._write(
                Refusal(
                    401,
                    bad.reason,
                    Text(zh="请求签名无效。", en=f"The signature is refused: {bad.reason}."),
                ).answer(),
                signature=None,
            )
            return
        signing = (key_id, request_signature)
        if key:
            sim.ledger.arrived(key)
        if fault == "error":
            self._write(Refusal(503, "unavailable", _DOWN, retryable=True).answer(), signing)
            return
        if fault == "timeout":
            time.sleep(plan.hang_seconds)
            self._reset()
            return
        twin: threading.Thread | None = None
        if fault == "duplicate":  # the same request delivered twice at once
            twin = threading.Thread(target=self._run, args=(method, url.path, body, key))
            twin.start()
        answer = self._run(method, url.path, body, key)
        if twin is not None:
            twin.join()
        if fault == "error_after":
            answer = Refusal(500, "internal_error", _DOWN, retryable=True).answer()
        elif fault == "reset":
            self._reset()
            return
        elif fault == "late":
            time.sleep(plan.hang_seconds)
        self._write(answer, signing, corrupt=fault == "bad_signature")

    def _run(self, method: str, path: str, body: bytes, key: str) -> Answer:
        sim = self.simulator
        try:
            return sim.route(method, path, body, key)
        except Refusal as refusal:
            return refusal.answer()
        except Exception:
            log.exception("simulator %s failed on %s %s", sim.kind, method, path)
            return Refusal(500, "internal_error", _DOWN, retryable=True).answer()

    def _write(
        self, answer: Answer, signature: tuple[str, str] | None, *, corrupt: bool = False
    ) -> None:
        payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", **answer.headers}
        if signature is not None:
            key_id, request_signature = signature
            headers.update(
                sign_answer(
                    key_id=key_id,
                    key=self.simulator.keys[key_id],
                    status=answer.status,
                    body=payload,
                    timestamp=int(time.time()),
                    request_signature=request_signature,
                )
            )
            if corrupt:
                headers[SIGNATURE_HEADER] = "0" * 64
        try:
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (a late answer): nobody reads it

    def _reset(self) -> None:
        """Close with a TCP RST: the client sees a connection reset, not an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()


_DOWN = Text(zh="模拟系统暂时无法处理,请稍后重试。", en="The simulator is unavailable; try later.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address)


def serve(simulator: Simulator, *, host: str, port: int) -> _Server:
    """A server for ``simulator`` bound to ``host:port`` (call ``serve_forever`` on it)."""
    handler = type("Handler", (_Handler,), {"simulator": simulator})
    return _Server((host, port), handler)


def wait_until_up(ports: list[int], *, seconds: float = 30.0) -> bool:
    """Whether every simulator on these loopback ports answers its health check in time."""
    import httpx

    deadline = time.monotonic() + seconds
    waiting = list(ports)
    while waiting and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{waiting[0]}/_sim/health", timeout=1).is_success:
                waiting.pop(0)
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return not waiting


if __name__ == "__main__":  # python -m counter.adapters.http.sim_server --wait PORT...
    import sys

    if sys.argv[1:2] != ["--wait"] or not all(p.isdigit() for p in sys.argv[2:]):
        sys.exit("usage: python -m counter.adapters.http.sim_server --wait PORT [PORT...]")
    sys.exit(0 if wait_until_up([int(p) for p in sys.argv[2:]]) else 1)
