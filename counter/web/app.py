"""The FastAPI application factory: ``create_app()`` (uvicorn runs it with ``factory=True``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from counter.cases.sweeper import Sweeper, run_rounds
from counter.config import Settings, get_settings
from counter.heap import settle_after_startup
from counter.store.tally import start_tally
from counter.web.context import WebContext, build_context
from counter.web.errors import CatchAll, install_error_handlers
from counter.web.routes import api_router, page_router
from counter.web.security import BodySizeLimit, SecurityHeaders

__all__ = ["MAX_BODY_BYTES", "CounterApp", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
"""The largest request body accepted: every form and trigger is far smaller."""


class CounterApp(FastAPI):
    """FastAPI with the security headers around every layer.

    ``add_middleware`` puts a middleware inside Starlette's outermost
    ``ServerErrorMiddleware`` and in the order added, so an answer written by
    an outer layer (the 413 of ``BodySizeLimit``, the 500 of an unexpected
    error) would leave without them. Wrapping the whole stack here means no
    layer can answer around them.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(settings: Settings | None = None, *, context: WebContext | None = None) -> FastAPI:
    """Build the app; refuses (``ConfigurationError``) the default secret outside demo mode."""
    settings = settings or (context.settings if context else get_settings())
    settings.check_secret()
    app = CounterApp(
        title="counter",
        summary="Bank counter workflows: JSON API / 银行柜面业务流程接口",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_housekeeping,
    )
    app.state.web = context or build_context(settings)
    install_error_handlers(app)
    app.add_middleware(CatchAll)  # innermost: a 500 passes the security headers too
    app.include_router(api_router)
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    return app


@asynccontextmanager
async def _housekeeping(app: FastAPI) -> AsyncIterator[None]:
    """The thread pool's size, and with inline delivery a housekeeping thread.

    Sync routes run in anyio's thread pool, 40 threads by default; on two
    cores that many threads fight for the GIL (one thread instead of 40
    nearly doubled the one-commit endpoint), so ``COUNTER_WEB_THREADS`` bounds
    it. A few stay useful: a sign-off's password check (Argon2, about 28 ms)
    or a PostgreSQL round trip releases the GIL.

    With ``COUNTER_OUTBOX_DELIVERY=worker`` the outbox worker expires idle
    cases and delivers retries, once for every web process. With inline
    delivery each web process does it on a timer: a step's own messages are
    delivered right after it commits, and this is what comes back for a
    retry due minutes later or a delivery whose process died. Safe in every
    process: each case expires once, each message is claimed by one.
    """
    web: WebContext = app.state.web
    if web.settings.web_threads > 0:
        to_thread.current_default_thread_limiter().total_tokens = web.settings.web_threads
    interval = web.settings.housekeeping_seconds
    stop = threading.Event()
    worker: threading.Thread | None = None
    if interval > 0 and web.settings.outbox_delivery == "inline":
        worker = threading.Thread(
            target=run_rounds,
            args=(Sweeper(web.desk), web.dispatcher),
            kwargs={"interval": interval, "stop": stop, "echo": log.debug, "wait_first": True},
            name="counter-housekeeping",
            daemon=True,
        )
        worker.start()
    tally = start_tally(web.settings.bench_tally_dir) if web.settings.bench_tally_dir else None
    settle_after_startup()
    try:
        yield
    finally:
        stop.set()
        if tally is not None:
            tally.set()
        if worker is not None:
            worker.join(timeout=30)
