"""A test-only workflow whose middle step waits for an outside system (tests/cases/data)."""

from __future__ import annotations

from pathlib import Path

from counter.engine import ActionContext, Catalog, Effect, Registry, Runtime

DATA = Path(__file__).resolve().parent / "data"


def courier_runtime() -> Runtime:
    registry = Registry()

    @registry.action("request_pickup")
    def request_pickup(ctx: ActionContext) -> None:
        ctx.emit(
            Effect(
                "courier.book",
                {"parcel": ctx.case.reference},
                on_success="confirmed",
                on_failure="undeliverable",
            )
        )

    return Runtime(Catalog.load(DATA / "workflows", DATA / "forms", registry), registry)
