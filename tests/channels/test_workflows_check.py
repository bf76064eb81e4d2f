"""``counter workflows check`` passes with the channel workflows and forms."""

from __future__ import annotations

from typer.testing import CliRunner

from counter.cli import app

CHANNELS = ("pos_unbind_online", "pos_unbind_phone")


def test_the_channel_workflows_pass_the_check() -> None:
    runner = CliRunner()
    checked = runner.invoke(app, ["workflows", "check"])
    assert checked.exit_code == 0, checked.output
    assert "0 warning(s)" in checked.output
    listed = runner.invoke(app, ["workflows", "list"])
    assert all(name in listed.output for name in CHANNELS), listed.output


def test_each_channel_draws() -> None:
    runner = CliRunner()
    for name in CHANNELS:
        drawn = runner.invoke(app, ["workflows", "diagram", name, "--format", "mermaid"])
        assert drawn.exit_code == 0, drawn.output
        assert "referred_to_counter" in drawn.output
