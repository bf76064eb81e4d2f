"""``counter slip-sample``: the demo slip the README shows."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from counter.cli import slips

from .factories import page_texts


def _app() -> typer.Typer:
    # Only this module's commands: the test does not depend on the other groups.
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """counter"""

    slips.register(app)
    return app


def test_slip_sample_writes_a_two_page_pdf(tmp_path: Path) -> None:
    out = tmp_path / "sample" / "slip.pdf"
    result = CliRunner().invoke(_app(), ["slip-sample", "--out", str(out)])
    assert result.exit_code == 0, result.output
    texts = page_texts(out.read_bytes())
    assert len(texts) == 2
    assert "POS机结算卡解绑确认单" in texts[0]


def test_slip_sample_roll80(tmp_path: Path) -> None:
    out = tmp_path / "roll.pdf"
    result = CliRunner().invoke(_app(), ["slip-sample", "--out", str(out), "--format", "roll80"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_slip_sample_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["slip-sample", "--out", str(tmp_path / "x.pdf"), "--format", "a4"]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "x.pdf").exists()
