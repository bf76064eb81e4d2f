"""The slip's rare-character fonts for the console, so a branch PC without them shows every name.

``/fonts/rare.css`` (linked from every page) declares the family
``Counter Rare`` as pieces with their ``unicode-range`` and puts it first in
the console's font stack: a browser fetches a piece only when the page
holds one of its characters, and those characters then look as they do on
the slip. ``/fonts/rare/<face>-<n>.woff`` is one piece
(``counter.slips.fonts``). Both are public, like ``/static``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from counter.slips.fonts import WEB_FAMILY, web_font_css, web_font_piece
from counter.web.deps import WebDep

router = APIRouter(prefix="/fonts", include_in_schema=False)

CONSOLE_STACK = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", system-ui, sans-serif'
"""The stack of ``static/app.css``, which the rare-character family goes in front of."""
_CACHE = "public, max-age=86400"


@functools.cache
def _stylesheet(cache_dir: Path) -> str:
    stack = f':root {{ font-family: "{WEB_FAMILY}", {CONSOLE_STACK}; }}'
    return web_font_css(cache_dir=cache_dir) + stack + "\n"


@router.get("/rare.css")
def rare_css(web: WebDep) -> Response:
    css = _stylesheet(web.settings.font_cache_dir)
    return Response(css, media_type="text/css", headers={"Cache-Control": _CACHE})


@router.get("/rare/{slug}-{number}.woff")
def rare_piece(web: WebDep, slug: str, number: int) -> Response:
    data = web_font_piece(slug, number, web.settings.font_cache_dir)
    if data is None:
        raise HTTPException(status_code=404)
    return Response(data, media_type="font/woff", headers={"Cache-Control": _CACHE})
