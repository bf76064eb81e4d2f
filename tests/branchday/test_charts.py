"""SVG charts: well-formed XML, every label escaped by the serializer, no script, no style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from counter.branchday.charts import Bar, Strip, bar_chart, hourly_chart, strip_chart
from counter.branchday.figures import percentile

SVG = "{http://www.w3.org/2000/svg}"
NASTY = "<script>alert(\"x\")</script> & 柜员 '一'"


def _parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        assert element.tag != f"{SVG}script"
        assert "style" not in element.attrib
    return root


def _texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


def test_bar_chart_escapes_labels_and_stays_valid_xml() -> None:
    chart = bar_chart([Bar(NASTY, 3), Bar("teller2", 1)], f"title {NASTY}")
    assert "<script>" not in chart.svg and "&lt;script&gt;" in chart.svg
    root = _parsed(chart.svg)
    assert NASTY in _texts(root)
    assert root.attrib["aria-label"] == f"title {NASTY}"
    widths = [float(r.attrib["width"]) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 3 * widths[1]
    assert chart.__html__() == str(chart) == chart.svg


def test_empty_charts_are_still_valid() -> None:
    for chart in (
        bar_chart([], "none"),
        strip_chart([], "none"),
        hourly_chart([0] * 24, [0.0] * 24, "none", legend=("a", "b")),
    ):
        assert _parsed(chart.svg).attrib["aria-label"]


def test_hourly_chart_draws_24_columns_and_the_usual_line() -> None:
    today = [0] * 24
    today[10] = 4
    root = _parsed(hourly_chart(today, [1.5] * 24, "h", legend=(NASTY, "usual")).svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 24
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    assert NASTY in _texts(root)


def test_strip_chart_has_a_dot_per_sample() -> None:
    root = _parsed(
        strip_chart([Strip(NASTY, [1, 2, 30], 2, 30), Strip("b", [600], 600, 600)], "s").svg
    )
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    assert NASTY in _texts(root)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) == 0
    assert percentile([5], 0.9) == 5
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile(list(range(1, 11)), 0.5) == 5
