"""``counter.adapters.http``: honest ``__all__``, chosen by settings, no demo key in production."""

from __future__ import annotations

import types

import pytest

import counter.adapters.http as http
from counter.adapters import build_adapters
from counter.adapters.http import (
    HttpAcquirerRegistry,
    HttpIdentityVerifier,
    HttpSmsGateway,
    close_clients,
    link_for,
)
from counter.config import Settings
from counter.errors import ConfigurationError
from counter.store.db import Database


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(http).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "counter.adapters.http").startswith(
            "counter.adapters.http"
        )
        and name not in {"annotations"}
    }
    assert set(http.__all__) == public


def test_http_in_the_settings_builds_the_http_adapters_one_client_per_peer(db: Database) -> None:
    settings = Settings(
        acquirer_adapter="http",
        identity_adapter=" http ",
        sms_adapter="http",
        acquirer_url="http://127.0.0.1:9/base/",
        _env_file=None,  # type: ignore[call-arg]
    )
    try:
        built = build_adapters(settings, db)
        assert isinstance(built.acquirer, HttpAcquirerRegistry)
        assert isinstance(built.identity, HttpIdentityVerifier)
        assert isinstance(built.sms, HttpSmsGateway)
        again = build_adapters(settings, db)
        assert again.acquirer.client is built.acquirer.client  # one breaker per peer
        assert built.acquirer.client.link.base_url == "http://127.0.0.1:9/base"
    finally:
        close_clients()
    identity = link_for(settings, "identity")
    assert (identity.read_timeout, identity.attempts) == (3.0, 2)


@pytest.mark.parametrize("peer", ["acquirer", "identity", "sms"])
def test_the_demo_key_is_refused_outside_demo_mode(peer: str) -> None:
    settings = Settings(
        secret_key="a-real-secret",
        demo_mode=False,
        **{f"{peer}_adapter": "http"},  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    with pytest.raises(ConfigurationError) as refused:
        settings.check_secret()
    assert f"COUNTER_{peer.upper()}_KEY" in refused.value.message.en
    fine = settings.model_copy(update={f"{peer}_key": "a-real-shared-key"})
    fine.check_secret()
