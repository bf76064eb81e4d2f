"""Diagrams through transitions' diagrams extension, with the case's state highlighted."""

from __future__ import annotations

import pytest

from counter.engine.diagram import diagram
from counter.engine.loader import Workflow, load_workflow
from counter.errors import DefinitionError

from .parcel import FORMS, WORKFLOWS

PARCEL: Workflow = load_workflow(WORKFLOWS / "parcel_pickup.yaml", FORMS)


def test_mermaid_shows_every_route_and_the_highlighted_state() -> None:
    text = diagram(PARCEL, "mermaid", highlight="verify_code")
    assert "stateDiagram-v2" in text
    assert "Class verify_code s_active" in text
    assert "Class identify s_default" in text
    assert "[*] --> identify" in text
    assert "identify --> supervisor_review: submit_identity [is_proxy & needs_approval]" in text
    assert "supervisor_review --> hand_over: approve" in text
    assert "supervisor_review --> refused: reject" in text
    assert "verify_code --> verify_code: resend_code [not too_many_codes]" in text


def test_without_highlight_no_state_is_active() -> None:
    assert "s_active\n" not in diagram(PARCEL.definition, "mermaid").replace(
        "classDef s_active", ""
    )


def test_svg_is_drawn_by_graphviz() -> None:
    svg = diagram(PARCEL, "svg", highlight="hand_over")
    assert svg.startswith("<?xml") and "<svg" in svg
    node = svg[svg.index("<title>hand_over</title>") :]
    assert "darksalmon" in node[: node.index("</g>")]


def test_an_unknown_state_or_format_is_refused() -> None:
    with pytest.raises(DefinitionError, match="no state 'limbo'"):
        diagram(PARCEL, "mermaid", highlight="limbo")
    with pytest.raises(ValueError, match="png"):
        diagram(PARCEL, "png")  # type: ignore[arg-type]
