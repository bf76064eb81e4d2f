"""The FastAPI application factory: ``create_app()`` (uvicorn runs it with ``factory=True``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from counter.config import Settings, get_settings
from counter.web.context import WebContext, build_context
from counter.web.errors import install_error_handlers
from counter.web.routes import api_router, page_router
from counter.web.security import BodySizeLimit, SecurityHeaders

__all__ = ["MAX_BODY_BYTES", "create_app"]

STATIC_DIR = Path(__file__).with_name("static")
MAX_BODY_BYTES = 64 * 1024
"""The largest request body accepted: every form and trigger is far smaller."""


def create_app(settings: Settings | None = None, *, context: WebContext | None = None) -> FastAPI:
    """Build the app; refuses (``ConfigurationError``) the default secret outside demo mode."""
    settings = settings or (context.settings if context else get_settings())
    settings.check_secret()
    app = FastAPI(
        title="counter",
        summary="Bank counter workflows: JSON API / 银行柜面业务流程接口",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.web = context or build_context(settings)
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    return app
