"""Slip template files as data: which files a slip needs, read as one versioned set.

A slip is rendered from a set of sources (file name -> text): the workflow's
template, every template it extends, includes or imports, and the print
stylesheets. ``slip_sources`` reads that set from ``forms/slips/`` so that it
can be stored with a workflow definition bundle; ``SlipRenderer`` renders from
the same kind of mapping, so a case's slip reprinted a year later uses the
template version the case ran under.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, cast

from jinja2 import BaseLoader, Environment, TemplateNotFound, meta

from counter.config import PROJECT_ROOT
from counter.errors import ConfigurationError, NotFound
from counter.text import Text

__all__ = [
    "FORMATS",
    "SLIPS_DIR",
    "SlipFormat",
    "SourcesLoader",
    "slip_format",
    "slip_sources",
    "sources_digest",
    "template_file_name",
]

SLIPS_DIR = PROJECT_ROOT / "forms" / "slips"

SlipFormat = Literal["a5", "roll80"]
#: Stylesheets for each paper format, applied in order (later ones override).
FORMATS: Mapping[SlipFormat, tuple[str, ...]] = {
    "a5": ("slip.css",),
    "roll80": ("slip.css", "roll80.css"),
}
_TEMPLATE_SUFFIX = ".html.j2"


def slip_format(value: str) -> SlipFormat:
    """``value`` (a setting or a command-line option) checked as a paper format."""
    if value not in FORMATS:
        choices = ", ".join(FORMATS)
        raise ConfigurationError(
            Text(
                zh=f"未知的单据格式 {value}(可选:{choices})",
                en=f"Unknown slip format {value} (one of: {choices})",
            ),
            format=value,
        )
    return cast(SlipFormat, value)


def template_file_name(slip: str) -> str:
    """``pos_unbind`` -> ``pos_unbind.html.j2``; a full file name is kept as is."""
    return slip if slip.endswith(_TEMPLATE_SUFFIX) else slip + _TEMPLATE_SUFFIX


def sources_digest(sources: Mapping[str, str]) -> str:
    """SHA-256 over the names and texts, independent of the mapping's order."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        for part in (name, sources[name]):
            encoded = part.encode()
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
    return digest.hexdigest()


class SourcesLoader(BaseLoader):
    """Loads templates from a name -> text mapping; the name doubles as file name in errors."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        try:
            source = self._sources[template]
        except KeyError:
            raise TemplateNotFound(template) from None
        return source, template, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self._sources)


def _not_found(name: str, directory: Path) -> NotFound:
    return NotFound(
        Text(
            zh=f"找不到单据模板 {name}(目录 {directory})",
            en=f"No slip template {name} in {directory}",
        ),
        template=name,
    )


def slip_sources(slip: str, directory: Path = SLIPS_DIR) -> dict[str, str]:
    """Read the files slip ``slip`` needs: its template, what it references, all stylesheets."""
    parser = Environment(autoescape=True)
    wanted = [template_file_name(slip)]
    sources: dict[str, str] = {}
    while wanted:
        name = wanted.pop()
        if name in sources:
            continue
        path = directory / name
        if not path.is_file():
            raise _not_found(name, directory)
        sources[name] = path.read_text(encoding="utf-8")
        ast = parser.parse(sources[name], name=name, filename=name)
        wanted.extend(ref for ref in meta.find_referenced_templates(ast) if ref is not None)
    for stylesheets in FORMATS.values():
        for name in stylesheets:
            path = directory / name
            if not path.is_file():
                raise _not_found(name, directory)
            sources[name] = path.read_text(encoding="utf-8")
    return sources
