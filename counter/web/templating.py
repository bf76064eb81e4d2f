"""Jinja2 for the console: autoescaped, ``StrictUndefined``, every word from the catalog.

Each page gets ``_`` (the translator for the reader's language), ``lang``,
``principal`` (who is signed in, or ``None``) and ``csrf_token`` for its forms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from counter.config import Settings
from counter.text import Text
from counter.web.i18n import DEFAULT_LANG, Translator, catalog

__all__ = ["BranchClock", "render", "render_error", "templates"]

TEMPLATES_DIR = Path(__file__).with_name("templates")


class BranchClock:
    """Times as staff read them: the branch's zone (``COUNTER_BRANCH_ZONE``), labelled."""

    def __init__(self, zone: str) -> None:
        self.name = zone
        self.zone = ZoneInfo(zone)

    def label(self, lang: str, at: datetime | None = None) -> str:
        """``北京时间 (UTC+8)``: the zone in words (``time.zone.<name>``) and its offset."""
        offset = (at or datetime.now(UTC)).astimezone(self.zone).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
        words = catalog().find(f"time.zone.{self.name}")
        return f"{words.pick(lang) if words else self.name} ({utc})"

    def local(self, value: datetime) -> datetime:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(self.zone)

    def show(self, value: datetime | None, lang: str, *, labelled: bool = True) -> str:
        """A timestamp for a person at the counter: branch time, minutes, the zone named."""
        if value is None:
            return ""
        text = self.local(value).strftime("%Y-%m-%d %H:%M")
        return f"{text} {self.label(lang, value)}" if labelled else text


@lru_cache(maxsize=8)
def clock_for(zone: str) -> BranchClock:
    return BranchClock(zone)


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    clock: BranchClock = context["clock"]
    return clock.show(value, str(context.get("lang", DEFAULT_LANG)))


def _waited(value: datetime | None, now: datetime | None = None) -> int:
    """Whole minutes since ``value``."""
    if value is None:
        return 0
    from counter.store.db import utcnow

    return max(0, int(((now or utcnow()) - value).total_seconds() // 60))


def _shown_finding(finding: Any) -> Any:
    from counter.web.wording import finding_shown

    return finding_shown(finding)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are compiled once per process, not stat'ed per render
    )
    env.filters["when"] = _when
    env.globals["minutes_since"] = _waited
    env.globals["shown_finding"] = _shown_finding
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
    web = getattr(request.app.state, "web", None)
    zone = web.settings.branch_zone if web is not None else Settings().branch_zone
    page: dict[str, Any] = {
        "clock": clock_for(zone),
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
