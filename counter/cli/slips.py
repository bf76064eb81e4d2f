"""CLI commands for slips: ``counter slip-sample`` renders the demo slip (README image)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from counter.config import get_settings
from counter.errors import CounterError

__all__ = ["register"]

FormatOption = Annotated[
    Literal["a5", "roll80"] | None,
    typer.Option("--format", help="a5 (default from COUNTER_SLIP_FORMAT) or roll80"),
]


def slip_sample(
    out: Annotated[Path, typer.Option("--out", help="PDF file to write", dir_okay=False)],
    fmt: FormatOption = None,
) -> None:
    """Render the demo POS unbinding slip (built-in sample data) to a PDF file."""
    # Imported here: WeasyPrint takes a while to load and most commands never need it.
    from counter.slips import SlipRenderer, slip_format
    from counter.slips.sample import SAMPLE_SLIP, sample_context

    try:
        chosen = slip_format(fmt or get_settings().slip_format)
        pdf = SlipRenderer().render(SAMPLE_SLIP, sample_context(), fmt=chosen)
    except CounterError as exc:
        typer.echo(f"错误 / error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    typer.echo(f"单据样张已生成 / sample slip written: {out} ({len(pdf)} bytes)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("slip-sample")(slip_sample)
