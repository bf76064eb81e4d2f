"""Printed slips: Jinja2 templates in ``forms/slips/`` rendered to PDF by WeasyPrint.

::

    context = build_context(...)              # raw case values in, masked SlipContext out
    renderer = default_renderer()             # one per process: fonts and CSS loaded once
    pdf = renderer.render("pos_unbind", context, fmt="a5")
    pdf = renderer.render_from_sources(stored_sources, "pos_unbind", context,
                                       reprint=ReprintMark(number=1, printed_at=now))

``slip_sources(name)`` reads the files a slip needs (template, what it
extends or imports, stylesheets) so that they can be stored with a workflow
definition bundle and a case's slip reprinted from its own version.
"""

from __future__ import annotations

from counter.slips.context import (
    DEFAULT_NOTICE,
    AccountKind,
    ApprovedFinding,
    PartyInput,
    PartyLine,
    ReprintMark,
    SlipContext,
    SlipLine,
    build_context,
    status_lookup_url,
)
from counter.slips.render import (
    COPIES,
    PDF_OPTIONS,
    SlipCopy,
    SlipRenderer,
    default_renderer,
    shared_font_config,
)
from counter.slips.templates import (
    FORMATS,
    SLIPS_DIR,
    SlipFormat,
    slip_format,
    slip_sources,
    sources_digest,
    template_file_name,
)

__all__ = [
    "COPIES",
    "DEFAULT_NOTICE",
    "FORMATS",
    "PDF_OPTIONS",
    "SLIPS_DIR",
    "AccountKind",
    "ApprovedFinding",
    "PartyInput",
    "PartyLine",
    "ReprintMark",
    "SlipContext",
    "SlipCopy",
    "SlipFormat",
    "SlipLine",
    "SlipRenderer",
    "build_context",
    "default_renderer",
    "shared_font_config",
    "slip_format",
    "slip_sources",
    "sources_digest",
    "status_lookup_url",
    "template_file_name",
]
