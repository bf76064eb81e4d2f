"""The ``counter`` command line for operators.

Each command group lives in its own module with a ``register(app)``
function, so that the groups stay small and independent.
"""

from __future__ import annotations

import typer

from counter.cli import (
    admin,
    branchday,
    cases,
    demo,
    journal,
    registry,
    serve,
    simulate,
    slips,
    timers,
    workflows,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="counter",
    help="counter: bank counter workflows / 银行柜面业务流程",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for module in (
    admin, workflows, registry, slips, demo, serve, timers, journal, branchday, cases,
    simulate,
):
    module.register(app)


def main() -> None:
    app()
