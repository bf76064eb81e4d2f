"""The end-of-day report: the day's figures as HTML (for the console) and as a PDF.

One Jinja template (``forms/reports/end_of_day.html.j2``, autoescaped,
``StrictUndefined``) makes both: the whole document for WeasyPrint, or the
``<article>`` alone for the console page, which lays it out with the same
stylesheet (``forms/reports/report.css``). The stylesheet is handed to
WeasyPrint as a stylesheet, never inlined (autoescaping would break it).
The PDF uses the slips' WeasyPrint set-up: the process's one
``FontConfiguration`` and its render lock, and fetches nothing but
``data:`` URLs. The report is bilingual, Chinese first, like the slips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from counter.branchday import _tables as t
from counter.branchday.charts import Bar, Chart, Strip, bar_chart, strip_chart
from counter.branchday.figures import DayFigures
from counter.config import PROJECT_ROOT

__all__ = [
    "REPORTS_DIR",
    "STYLESHEET",
    "ReportCharts",
    "report_charts",
    "report_fragment",
    "report_html",
    "report_pdf",
]

REPORTS_DIR = PROJECT_ROOT / "forms" / "reports"
TEMPLATE = "end_of_day.html.j2"
STYLESHEET = "report.css"


@dataclass(frozen=True)
class ReportCharts:
    outcomes: Chart
    tellers: Chart
    findings: Chart
    step_times: Chart


def _when(value: datetime) -> str:
    return value.astimezone(t.BRANCH_ZONE).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    """Seconds for a person: ``42 秒`` / ``3分12秒`` / ``1小时05分``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(REPORTS_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["duration"] = duration
    return env


def report_charts(figures: DayFigures) -> ReportCharts:
    """The report's four charts, bilingual titles."""
    outcomes = [
        Bar(f"{w.title.zh} · {w.outcome_titles[state].zh}", count)
        for w in figures.workflows
        for state, count in w.outcomes.items()
    ]
    return ReportCharts(
        outcomes=bar_chart(
            outcomes, "业务量(按业务与结果)Cases by workflow and outcome", label_width=230
        ),
        tellers=bar_chart(
            [Bar(p.teller, p.opened) for p in figures.tellers if p.opened],
            "柜员受理量 Cases opened per teller",
        ),
        findings=bar_chart(
            [Bar(f.code, f.raised) for f in figures.findings], "核查发现 Findings by code"
        ),
        step_times=strip_chart(
            [
                Strip(f"{s.workflow} · {s.title.zh}", s.samples, s.median, s.p90)
                for s in figures.step_times
            ],
            "各环节办理时长(竖线:中位数 / 橙线:P90)Handling time per step: median, p90",
            label_width=230,
        ),
    )


def report_html(figures: DayFigures, *, closed_by: str | None, fragment: bool = False) -> str:
    """The report as a whole HTML document, or (``fragment``) its ``<article>`` alone."""
    context: dict[str, Any] = {
        "f": figures,
        "charts": report_charts(figures),
        "closed_by": closed_by,
        "fragment": fragment,
    }
    return _environment().get_template(TEMPLATE).render(context)


def report_fragment(figures: DayFigures, *, closed_by: str | None) -> Markup:
    """The report's ``<article>`` for a console page (already escaped by its template)."""
    return Markup(report_html(figures, closed_by=closed_by, fragment=True))  # noqa: S704


def stylesheet_text() -> str:
    return (REPORTS_DIR / STYLESHEET).read_text(encoding="utf-8")


def report_pdf(figures: DayFigures, *, closed_by: str | None) -> bytes:
    """The report as a PDF, with the slips' fonts (see the module docstring)."""
    from weasyprint import CSS, HTML

    # The slips' WeasyPrint set-up, private there for now (docs/branch-day.md says
    # what would make it public): one lock, one FontConfiguration, data: URLs only.
    from counter.slips.render import (
        _PROCESS_LOCK,
        PDF_OPTIONS,
        _data_urls_only,
        shared_font_config,
    )

    html = report_html(figures, closed_by=closed_by)
    with _PROCESS_LOCK:
        fonts = shared_font_config()
        css = CSS(string=stylesheet_text(), font_config=fonts, url_fetcher=_data_urls_only())
        pdf: bytes = HTML(string=html, url_fetcher=_data_urls_only()).write_pdf(
            stylesheets=[css], font_config=fonts, **PDF_OPTIONS
        )
    return pdf
