"""Small SVG charts drawn on the server: bars for counts, a strip plot for handling times.

Built as an element tree (``xml.etree.ElementTree``), so every label (a
teller's name, a workflow title) is escaped by the serializer, never pasted
into markup. No script, no ``style`` attribute (the console's CSP forbids
inline styles): colours and fonts are presentation attributes. The same
SVG is embedded in the HTML page and in the PDF (WeasyPrint draws inline
SVG). A :class:`Chart` renders itself unescaped in Jinja (``__html__``)
because it is the serializer's output.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "Strip", "bar_chart", "hourly_chart", "strip_chart"]

FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"
INK = "#1f2933"
MUTED = "#7b8794"
BAR = "#2f6f9f"
ACCENT = "#c05621"
GRID = "#d9e2ec"
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Chart:
    """A finished SVG document; Jinja inserts it as it is (``__html__``)."""

    svg: str

    def __html__(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True)
class Strip:
    """One row of a strip plot: every sample (seconds), its median and p90."""

    label: str
    samples: Sequence[float]
    median: float
    p90: float


def _svg(width: int, height: int, title: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "role": "img",
            "aria-label": title,
            "font-family": FONT,
            "font-size": "11",
            "fill": INK,
        },
    )
    ET.SubElement(root, "title").text = title
    return root


def _text(parent: ET.Element, x: float, y: float, text: str, **attributes: str) -> None:
    element = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attributes})
    element.text = text


def _rect(parent: ET.Element, x: float, y: float, w: float, h: float, fill: str) -> None:
    ET.SubElement(
        parent,
        "rect",
        {
            "x": f"{x:.1f}",
            "y": f"{y:.1f}",
            "width": f"{max(w, 0):.1f}",
            "height": f"{h:.1f}",
            "fill": fill,
        },
    )


def _line(
    parent: ET.Element, x1: float, y1: float, x2: float, y2: float, stroke: str, width: str = "1"
) -> None:
    ET.SubElement(
        parent,
        "line",
        {
            "x1": f"{x1:.1f}",
            "y1": f"{y1:.1f}",
            "x2": f"{x2:.1f}",
            "y2": f"{y2:.1f}",
            "stroke": stroke,
            "stroke-width": width,
        },
    )


def _done(root: ET.Element) -> Chart:
    return Chart(ET.tostring(root, encoding="unicode"))


def _number(value: float) -> str:
    return f"{value:.1f}" if value != int(value) else str(int(value))


def bar_chart(
    bars: Sequence[Bar], title: str, *, width: int = 520, label_width: int = 170
) -> Chart:
    """Horizontal bars, one per label, the value written after each bar."""
    row = 22
    height = 30 + row * max(len(bars), 1)
    root = _svg(width, height, title)
    _text(root, 0, 14, title, **{"font-size": "12"})
    top = max((b.value for b in bars), default=0) or 1
    room = width - label_width - 50
    if not bars:
        _text(root, 0, 40, "—", fill=MUTED)
    for number, bar in enumerate(bars):
        y = 26 + number * row
        _text(root, label_width - 6, y + 12, bar.label, **{"text-anchor": "end"})
        _rect(root, label_width, y + 2, room * bar.value / top, row - 8, BAR)
        _text(root, label_width + room * bar.value / top + 4, y + 12, _number(bar.value))
    return _done(root)


def hourly_chart(
    today: Sequence[int],
    usual: Sequence[float],
    title: str,
    *,
    legend: tuple[str, str],
    width: int = 560,
    height: int = 200,
) -> Chart:
    """Cases per hour (24 columns): today's as bars, the usual day's as a line with dots."""
    root = _svg(width, height, title)
    _text(root, 0, 14, title, **{"font-size": "12"})
    left, bottom, top_y = 30, height - 22, 40
    step = (width - left - 10) / 24
    top = max([*today, *usual, 1])
    scale = (bottom - top_y) / top
    for mark in range(0, math.ceil(top) + 1, max(1, math.ceil(top / 4))):
        y = bottom - mark * scale
        _line(root, left, y, width - 10, y, GRID)
        _text(root, left - 4, y + 4, str(mark), **{"text-anchor": "end", "fill": MUTED})
    for hour, count in enumerate(today):
        _rect(root, left + hour * step + 2, bottom - count * scale, step - 4, count * scale, BAR)
    points = " ".join(
        f"{left + hour * step + step / 2:.1f},{bottom - value * scale:.1f}"
        for hour, value in enumerate(usual)
    )
    ET.SubElement(
        root,
        "polyline",
        {"points": points, "fill": "none", "stroke": ACCENT, "stroke-width": "1.5"},
    )
    for hour, value in enumerate(usual):
        ET.SubElement(
            root,
            "circle",
            {
                "cx": f"{left + hour * step + step / 2:.1f}",
                "cy": f"{bottom - value * scale:.1f}",
                "r": "2",
                "fill": ACCENT,
            },
        )
    for hour in range(0, 24, 3):
        _text(
            root,
            left + hour * step + step / 2,
            height - 6,
            f"{hour:02d}",
            **{"text-anchor": "middle", "fill": MUTED},
        )
    _rect(root, width - 230, 22, 10, 10, BAR)
    _text(root, width - 216, 31, legend[0])
    _line(root, width - 120, 27, width - 108, 27, ACCENT, "2")
    _text(root, width - 104, 31, legend[1])
    return _done(root)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.0f}s"


def strip_chart(
    strips: Sequence[Strip],
    title: str,
    *,
    width: int = 560,
    label_width: int = 190,
) -> Chart:
    """One row per step: every handling time as a dot, the median and p90 as marks.

    The axis is a square-root scale: a step that waits for a supervisor for
    an hour would otherwise squash every step a teller does in seconds.
    """
    row = 26
    height = 46 + row * max(len(strips), 1)
    root = _svg(width, height, title)
    _text(root, 0, 14, title, **{"font-size": "12"})
    room = width - label_width - 20
    longest = max((max(s.samples, default=0) for s in strips), default=0) or 1

    def x(seconds: float) -> float:
        return label_width + room * math.sqrt(max(seconds, 0) / longest)

    bottom = 28 + row * max(len(strips), 1)
    for tick in (0, longest / 16, longest / 4, longest):
        _line(root, x(tick), 22, x(tick), bottom, GRID)
        _text(
            root, x(tick), bottom + 14, _duration(tick), **{"text-anchor": "middle", "fill": MUTED}
        )
    if not strips:
        _text(root, 0, 44, "—", fill=MUTED)
    for number, strip in enumerate(strips):
        y = 28 + number * row + row / 2
        _text(root, label_width - 6, y + 4, strip.label, **{"text-anchor": "end"})
        for sample in strip.samples:
            ET.SubElement(
                root,
                "circle",
                {
                    "cx": f"{x(sample):.1f}",
                    "cy": f"{y:.1f}",
                    "r": "2.5",
                    "fill": BAR,
                    "fill-opacity": "0.5",
                },
            )
        _line(root, x(strip.median), y - 8, x(strip.median), y + 8, INK, "2")
        _line(root, x(strip.p90), y - 6, x(strip.p90), y + 6, ACCENT, "2")
    return _done(root)
