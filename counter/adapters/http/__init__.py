"""The outside systems over HTTP+JSON, as docs/integration.md's contract describes them.

``COUNTER_ACQUIRER_ADAPTER=http`` (and ``IDENTITY``, ``SMS``) selects these
adapters; ``COUNTER_<PEER>_URL``, ``_KEY_ID`` and ``_KEY`` say where the
peer is and which shared key signs the exchange. One ``PeerClient`` per
peer and process (so one breaker per peer), whichever thread calls it.

``counter simulate acquirer|identity|sms`` (``counter.adapters.http.simulator``)
is a peer implementing the same contract, with faults on demand.
"""

from __future__ import annotations

import threading
from typing import Any

from counter.adapters.http.adapters import (
    HttpAcquirerRegistry,
    HttpIdentityVerifier,
    HttpSmsGateway,
    idempotency_key,
)
from counter.adapters.http.breaker import Breaker, BreakerState
from counter.adapters.http.client import PeerAnswer, PeerClient, PeerLink
from counter.config import Settings

__all__ = [
    "Breaker",
    "BreakerState",
    "HttpAcquirerRegistry",
    "HttpIdentityVerifier",
    "HttpSmsGateway",
    "PeerAnswer",
    "PeerClient",
    "PeerLink",
    "acquirer_adapter",
    "close_clients",
    "idempotency_key",
    "identity_adapter",
    "link_for",
    "peer_client",
    "sms_adapter",
]

_clients: dict[PeerLink, PeerClient] = {}
_clients_lock = threading.Lock()


def link_for(settings: Settings, peer: str) -> PeerLink:
    """The settings of one peer (``acquirer``, ``identity`` or ``sms``)."""
    identity = peer == "identity"
    return PeerLink(
        peer=peer,
        base_url=str(getattr(settings, f"{peer}_url")).rstrip("/"),
        key_id=str(getattr(settings, f"{peer}_key_id")),
        key=str(getattr(settings, f"{peer}_key")),
        connect_timeout=settings.peer_connect_timeout_seconds,
        read_timeout=(
            settings.identity_read_timeout_seconds
            if identity
            else settings.peer_read_timeout_seconds
        ),
        attempts=settings.identity_attempts if identity else settings.peer_attempts,
        skew=settings.peer_clock_skew_seconds,
        breaker_failures=settings.peer_breaker_failures,
        breaker_reset=settings.peer_breaker_reset_seconds,
    )


def peer_client(link: PeerLink) -> PeerClient:
    """This process's client for ``link`` (made once, shared by every thread)."""
    with _clients_lock:
        client = _clients.get(link)
        if client is None:
            client = _clients[link] = PeerClient(link)
        return client


def close_clients() -> None:
    """Close and forget this process's clients (at shutdown; between tests: fresh breakers)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def acquirer_adapter(settings: Settings, db: Any = None) -> HttpAcquirerRegistry:
    return HttpAcquirerRegistry(
        peer_client(link_for(settings, "acquirer")),
        cache_seconds=settings.acquirer_lookup_cache_seconds,
    )


def identity_adapter(settings: Settings, db: Any = None) -> HttpIdentityVerifier:
    return HttpIdentityVerifier(peer_client(link_for(settings, "identity")))


def sms_adapter(settings: Settings, db: Any = None) -> HttpSmsGateway:
    return HttpSmsGateway(peer_client(link_for(settings, "sms")))
