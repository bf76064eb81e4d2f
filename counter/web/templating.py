"""Jinja2 for the console: autoescaped, ``StrictUndefined``, every word from the catalog.

Each page gets ``_`` (the translator for the reader's language), ``lang``,
``principal`` (who is signed in, or ``None``) and ``csrf_token`` for its forms.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from counter.text import Text
from counter.web.i18n import DEFAULT_LANG, Translator, catalog

__all__ = ["render", "render_error", "templates"]

TEMPLATES_DIR = Path(__file__).with_name("templates")


def _when(value: datetime | None) -> str:
    """A timestamp for a person at the counter: local wall time, minutes precision."""
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _waited(value: datetime | None, now: datetime | None = None) -> int:
    """Whole minutes since ``value``."""
    if value is None:
        return 0
    from counter.store.db import utcnow

    return max(0, int(((now or utcnow()) - value).total_seconds() // 60))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.globals["minutes_since"] = _waited
    return env


templates = Jinja2Templates(env=_environment())


def translator_for(request: Request) -> Translator:
    lang = getattr(request.state, "lang", None) or DEFAULT_LANG
    return Translator(catalog(), lang)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a console page with the common context filled in."""
    from counter.web.auth import csrf_token_for, finish_pre_session

    translate = translator_for(request)
    page: dict[str, Any] = {
        "_": translate,
        "lang": translate.lang,
        "principal": getattr(request.state, "principal", None),
        "csrf_token": csrf_token_for(request),
        "path": request.url.path,
    }
    page.update(context or {})
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    finish_pre_session(request, response)
    return response


def render_error(request: Request, status: int, message: Text) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)
