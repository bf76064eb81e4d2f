"""``SlipRenderer``: a slip context and a template set in, PDF bytes out.

Made to live as long as the process: it uses the process's one WeasyPrint
``FontConfiguration`` (one per render leaks memory and repeats font
discovery), parses the stylesheets once as ``weasyprint.CSS`` objects, and
keeps one Jinja environment per template version (cached by the SHA-256 of
the sources). CSS is always passed to WeasyPrint as a stylesheet, never
inlined into the autoescaped HTML, where quotes would be escaped and the
fonts lost. Templates are data an operator edits, so WeasyPrint may fetch
nothing but ``data:`` URLs: no file, no network.

Rendering is deterministic: WeasyPrint writes no file identifier and no
dates unless asked, and the only date the template puts in the metadata is
the slip's own ``issued_at``, so the same context renders to the same bytes.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import segno
from jinja2 import (
    Environment,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)

from counter.errors import DefinitionError, NotFound
from counter.slips.context import ReprintMark, SlipContext
from counter.slips.templates import (
    FORMATS,
    SLIPS_DIR,
    SlipFormat,
    SourcesLoader,
    slip_format,
    slip_sources,
    sources_digest,
    template_file_name,
)
from counter.text import Text

__all__ = [
    "COPIES",
    "PDF_OPTIONS",
    "QR_MODULE_PIXELS",
    "SlipCopy",
    "SlipRenderer",
    "default_renderer",
    "renderer_for",
    "shared_font_config",
]

log = logging.getLogger(__name__)

#: WeasyPrint ``write_pdf`` options. Measured with bench/slip.py (flagship slip against
#: the one-line floor, same run): these defaults give about 30 KB a slip;
#: ``uncompressed_pdf`` saves some milliseconds on both pages alike (the ratio
#: does not improve) for files nine times larger; ``hinting`` only grows the
#: font subset; ``full_fonts`` embeds the whole 5 MB face: 2.4 MB and seconds a slip.
PDF_OPTIONS: Mapping[str, Any] = {
    "full_fonts": False,
    "hinting": False,
    "optimize_images": False,  # the one raster image, the QR code, is already minimal
    "uncompressed_pdf": False,
}


@dataclass(frozen=True)
class SlipCopy:
    """One of the copies printed for each slip, each on its own page."""

    kind: str
    label: Text


COPIES = (
    SlipCopy("customer", Text(zh="客户联", en="Customer copy")),
    SlipCopy("bank", Text(zh="银行留存联", en="Bank copy")),
)

_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


class _EmptyValue(UndefinedError):
    """A template printed None: a value the slip needs is missing, which is an error too."""


def _not_none(value: Any) -> Any:
    if value is None:
        raise _EmptyValue("a printed value is empty (None)")
    return value


def _cell(value: Any) -> str:
    return str(_not_none(value)).replace("\t", " ")


@lru_cache(maxsize=256)
def _qr(payload: str) -> segno.QRCode:
    return segno.make(payload, error="m", micro=False)


#: Pixels per QR module: at 24 mm, about 280 pixels per inch, so that a screen or a
#: 80 dpi preview scales the image down (sharp) rather than up (blurred).
QR_MODULE_PIXELS = 8


@lru_cache(maxsize=256)
def _qr_png(payload: str) -> str:
    """The QR code as a ``data:`` URL of a black and white PNG, whole pixels per module.

    Printed with ``image-rendering: pixelated`` (``/Interpolate false``), every
    module is a sharp square at any printer resolution, as the vector path was;
    the path cost WeasyPrint 5 to 7 ms a slip to parse and draw, the image
    under 1 ms (docs/benchmarks.md).
    """
    return str(_qr(payload).png_data_uri(scale=QR_MODULE_PIXELS, border=0))


class _QrSvg:
    """The QR code as inline SVG markup, made only if a template prints it.

    Slip templates stored with an older workflow definition print ``qr_svg``;
    the current ones use ``qr_png``, so a reprint of an old case still works
    and a new slip does not pay for the path.
    """

    def __init__(self, payload: str) -> None:
        self._payload = payload

    def __html__(self) -> str:
        # Segno writes only path data and fixed attributes (the payload is encoded
        # as modules, never written as text): safe to insert as markup.
        qr = _qr(self._payload)
        return str(qr.svg_inline(scale=1, border=0, omitsize=True, svgclass="qr"))


# Pango and fontconfig objects are shared by every render in the process: one at a time.
_PROCESS_LOCK = threading.RLock()


def shared_font_config() -> Any:
    """The process's one WeasyPrint ``FontConfiguration``, made on first use.

    Making one runs font discovery (most of a fresh process's first render),
    and one per render leaks memory, so every renderer shares this one.
    """
    with _PROCESS_LOCK:
        return _font_config()


@lru_cache(maxsize=1)
def _data_urls_only() -> Any:
    """A WeasyPrint URL fetcher that refuses everything but ``data:`` URLs."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


@lru_cache(maxsize=1)
def _font_config() -> Any:
    # Imported here, not at module level, so that importing counter.slips
    # (the CLI does) does not pay for WeasyPrint.
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def default_renderer() -> SlipRenderer:
    """A renderer for ``forms/slips/`` shared by the whole process."""
    with _PROCESS_LOCK:
        return _default_renderer()


@lru_cache(maxsize=1)
def _default_renderer() -> SlipRenderer:
    return SlipRenderer()


def renderer_for(directory: Path) -> SlipRenderer:
    """The process's renderer for slip templates in ``directory`` (``forms/slips/``: the
    default one), kept for the life of the process like the default."""
    with _PROCESS_LOCK:
        if directory.resolve() == SLIPS_DIR.resolve():
            return _default_renderer()
        return _renderer_for(directory.resolve())


@lru_cache(maxsize=8)
def _renderer_for(directory: Path) -> SlipRenderer:
    return SlipRenderer(directory)


@dataclass
class _TemplateSet:
    """One version of a slip's sources, compiled: its Jinja environment and parsed CSS."""

    sources: Mapping[str, str]
    environment: Environment
    stylesheets: dict[str, Any] = field(default_factory=dict)


class SlipRenderer:
    """Renders slips to PDF; thread-safe. Keep it for the life of the process.

    It caches the compiled templates and parsed stylesheets of the last
    ``cache_size`` template versions; the font configuration is the process's
    (``shared_font_config``) whichever renderer uses it.
    """

    def __init__(self, directory: Path = SLIPS_DIR, *, cache_size: int = 16) -> None:
        self.directory = directory
        self._font_config = shared_font_config()
        self._cache_size = cache_size
        self._sets: OrderedDict[str, _TemplateSet] = OrderedDict()
        self._directory_cache: dict[str, tuple[tuple[tuple[str, int], ...], Mapping[str, str]]] = {}
        self._lock = _PROCESS_LOCK

    @property
    def font_config(self) -> Any:
        """The process's WeasyPrint ``FontConfiguration`` (e.g. for a comparison page)."""
        return self._font_config

    def render(
        self,
        template_name: str,
        context: SlipContext,
        *,
        fmt: SlipFormat = "a5",
        reprint: ReprintMark | None = None,
    ) -> bytes:
        """Render slip ``template_name`` (``pos_unbind`` or ``pos_unbind.html.j2``) from files."""
        sources = self.sources(template_name)
        return self.render_from_sources(sources, template_name, context, fmt=fmt, reprint=reprint)

    def render_from_sources(
        self,
        sources: Mapping[str, str],
        template_name: str,
        context: SlipContext,
        *,
        fmt: SlipFormat = "a5",
        reprint: ReprintMark | None = None,
    ) -> bytes:
        """Render from template texts, e.g. those stored with a case's definition bundle."""
        from weasyprint import HTML

        with self._lock:
            template_set = self._template_set(sources)
            html = self._html(template_set, template_name, context, fmt=fmt, reprint=reprint)
            stylesheets = self._stylesheets(template_set, fmt)
            pdf: bytes = HTML(string=html, url_fetcher=_data_urls_only()).write_pdf(
                stylesheets=stylesheets, font_config=self._font_config, **PDF_OPTIONS
            )
        return pdf

    def render_html(
        self,
        template_name: str,
        context: SlipContext,
        *,
        fmt: SlipFormat = "a5",
        reprint: ReprintMark | None = None,
        sources: Mapping[str, str] | None = None,
    ) -> str:
        """The HTML a slip is printed from (without its stylesheets), for checks and debugging."""
        with self._lock:
            template_set = self._template_set(sources or self.sources(template_name))
            return self._html(template_set, template_name, context, fmt=fmt, reprint=reprint)

    def sources(self, template_name: str) -> Mapping[str, str]:
        """The current files of slip ``template_name``, re-read only when one of them changed.

        Read-only: it is the renderer's cache. ``slip_sources`` gives a fresh copy.
        """
        with self._lock:
            cached = self._directory_cache.get(template_name)
            if cached is not None:
                stamps, sources = cached
                if all(_mtime(self.directory / name) == seen for name, seen in stamps):
                    return sources
            read = slip_sources(template_name, self.directory)
            stamps = tuple((name, _mtime(self.directory / name)) for name in sorted(read))
            sources = MappingProxyType(read)
            self._directory_cache[template_name] = (stamps, sources)
            return sources

    def _template_set(self, sources: Mapping[str, str]) -> _TemplateSet:
        key = sources_digest(sources)
        found = self._sets.get(key)
        if found is not None:
            self._sets.move_to_end(key)
            return found
        environment = Environment(
            loader=SourcesLoader(sources),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_not_none,
        )
        environment.filters["when"] = _when
        environment.filters["cell"] = _cell
        log.debug("compiled slip templates %s (%d files)", key[:12], len(sources))
        template_set = _TemplateSet(sources=dict(sources), environment=environment)
        self._sets[key] = template_set
        while len(self._sets) > self._cache_size:
            self._sets.popitem(last=False)
        return template_set

    def _stylesheets(self, template_set: _TemplateSet, fmt: SlipFormat) -> list[Any]:
        from weasyprint import CSS

        names = FORMATS[slip_format(fmt)]
        stylesheets = []
        for name in names:
            if name not in template_set.stylesheets:
                if name not in template_set.sources:
                    raise NotFound(
                        Text(zh=f"单据模板缺少样式表 {name}", en=f"Slip stylesheet {name} missing"),
                        template=name,
                    )
                template_set.stylesheets[name] = CSS(
                    string=template_set.sources[name],
                    font_config=self._font_config,
                    url_fetcher=_data_urls_only(),
                )
            stylesheets.append(template_set.stylesheets[name])
        return stylesheets

    def _html(
        self,
        template_set: _TemplateSet,
        template_name: str,
        context: SlipContext,
        *,
        fmt: SlipFormat,
        reprint: ReprintMark | None,
    ) -> str:
        name = template_file_name(template_name)
        variables: dict[str, Any] = {
            field_name: getattr(context, field_name) for field_name in SlipContext.model_fields
        }
        variables.update(
            copies=COPIES,
            fmt=fmt,
            reprint=reprint,
            qr_png=_qr_png(context.status_url),
            qr_svg=_QrSvg(context.status_url),
        )
        try:
            template = template_set.environment.get_template(name)
            return template.render(variables)
        except TemplateNotFound as error:
            raise NotFound(
                Text(zh=f"找不到单据模板 {error.name}", en=f"No slip template {error.name}"),
                template=error.name,
            ) from error
        except TemplateSyntaxError as error:
            raise DefinitionError(
                Text(
                    zh=f"单据模板语法错误:{error.message}",
                    en=f"Slip template syntax error: {error.message}",
                ),
                file=error.filename or error.name or name,
                line=error.lineno,
            ) from error
        except UndefinedError as error:
            raise _undefined_error(error, name, template_set.sources) from error


def _undefined_error(
    error: UndefinedError, template_name: str, sources: Mapping[str, str]
) -> DefinitionError:
    """Name the missing variable and where the template uses it (innermost template first)."""
    # Jinja rewrites the traceback so that template frames carry the template's name and line.
    chain = [
        f"{frame.filename}:{frame.lineno}"
        for frame in reversed(traceback.extract_tb(error.__traceback__))
        if frame.filename in sources
    ]
    file, _, line = (chain[0] if chain else template_name).partition(":")
    where = " < ".join(chain) or template_name
    if isinstance(error, _EmptyValue):
        variable = None
        message = Text(
            zh=f"单据模板打印的值为空(None):{where}",
            en=f"Slip template prints an empty value (None) at {where}",
        )
    else:
        match = _UNDEFINED_NAME.search(error.message or "")
        variable = next((group for group in match.groups() if group), None) if match else None
        shown = variable or error.message or "?"
        message = Text(
            zh=f"单据模板使用了未定义的变量 {shown}({where})",
            en=f"Slip template uses an undefined variable: {shown} (at {where})",
        )
    return DefinitionError(
        message, file=file, line=int(line) if line else None, variable=variable, where=chain
    )


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1
