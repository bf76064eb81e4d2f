"""Diagrams through transitions' diagrams extension, with the case's state highlighted."""

from __future__ import annotations

import pytest

from counter.engine.diagram import diagram, main_path, people_diagram
from counter.engine.loader import Workflow, load_workflow
from counter.errors import DefinitionError
from counter.text import Text

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


def test_the_main_path_runs_from_the_initial_state_to_the_first_final() -> None:
    assert main_path(PARCEL) == ["identify", "verify_code", "hand_over", "delivered"]


def test_the_people_diagram_names_states_and_triggers_by_title_and_is_cached() -> None:
    def words(trigger: str) -> Text:
        return Text(zh=f"做{trigger}", en=f"do {trigger}")

    svg = people_diagram(PARCEL, "en", highlight="verify_code", trigger_title=words)
    assert "Verify the pickup code" in svg and "do submit_code" in svg
    assert "<title>verify_code</title>" not in svg
    # One approval branch per state that raises it, none back from the review to each step.
    raising = {e.source for e in PARCEL.definition.edges() if "needs_approval" in e.conditions}
    assert svg.count("needs approval") == len(raising)
    assert "do approve" not in svg
    again = people_diagram(PARCEL, "en", highlight="verify_code", trigger_title=words)
    assert again is svg  # per definition version, state and language
    assert people_diagram(PARCEL, "zh", highlight="verify_code", trigger_title=words) != svg
    assert people_diagram(PARCEL, "en", highlight="hand_over", trigger_title=words) != svg
    with pytest.raises(DefinitionError):
        people_diagram(PARCEL, "en", highlight="nowhere")
