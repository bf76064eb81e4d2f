"""``counter simulate``: what it refuses before it listens (serving is tested as a process,
tests/adapters/http)."""

from __future__ import annotations

from typer.testing import CliRunner

from counter.cli import app


def test_an_unknown_peer_or_fault_is_refused_in_both_languages() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["simulate", "bank", "--port", "1"])
    assert unknown.exit_code == 1
    assert "is not one of acquirer, identity, sms" in unknown.output
    bad_fault = runner.invoke(app, ["simulate", "sms", "--fault", "meteor=0.5", "--port", "1"])
    assert bad_fault.exit_code == 1 and "unknown fault kind 'meteor'" in bad_fault.output
    bad_key = runner.invoke(app, ["simulate", "sms", "--key", "no-equals-sign", "--port", "1"])
    assert bad_key.exit_code == 1 and "NAME=VALUE" in bad_key.output
