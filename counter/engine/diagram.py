"""Draw a workflow with ``transitions``' own diagrams extension (SVG via graphviz, or mermaid).

The drawing shows every declared transition (conditions in brackets), the
branch to the review state that approvable findings take, and the built-in
``approve``/``reject`` of approval states. A case's current state is drawn
as the extension's "active" state.
"""

from __future__ import annotations

from typing import Any, Literal

from transitions.extensions.diagrams import GraphMachine

from counter.engine.definition import WorkflowDefinition
from counter.engine.loader import Workflow
from counter.errors import DefinitionError
from counter.text import Text

__all__ = ["DiagramFormat", "diagram"]

DiagramFormat = Literal["svg", "mermaid"]


class _Drawing:
    """The model whose state the extension highlights."""

    state: str


def _transitions(definition: WorkflowDefinition) -> list[dict[str, Any]]:
    return [
        {"trigger": e.trigger, "source": e.source, "dest": e.dest, "conditions": list(e.conditions)}
        for e in definition.edges()
    ]


def diagram(
    definition: WorkflowDefinition | Workflow,
    fmt: DiagramFormat = "svg",
    highlight: str | None = None,
) -> str:
    """The workflow as SVG text or mermaid source, ``highlight`` (a state) drawn active."""
    if isinstance(definition, Workflow):
        definition = definition.definition
    if highlight is not None and highlight not in definition.states:
        raise DefinitionError(
            Text(zh=f"流程中没有状态 '{highlight}'", en=f"no state '{highlight}' in the workflow"),
            file=definition.file,
        )
    if fmt not in ("svg", "mermaid"):
        raise ValueError(f"unknown diagram format {fmt!r}: svg or mermaid")
    model = _Drawing()
    machine = GraphMachine(
        model=model,
        states=list(definition.states),
        transitions=_transitions(definition),
        initial=definition.initial,
        auto_transitions=False,
        show_conditions=True,
        title=f"{definition.title.zh} / {definition.title.en}",
        graph_engine="graphviz" if fmt == "svg" else "mermaid",
    )
    get_graph = getattr(model, "get_graph")  # noqa: B009 - bound by GraphMachine.add_model
    if highlight is None:
        machine.model_graphs[id(model)].reset_styling()
        graph = get_graph(title=machine.title)
    else:
        machine.set_state(highlight, model=model)
        graph = get_graph(title=machine.title, force_new=True)  # restyles the active state
    if fmt == "svg":
        svg: bytes = graph.draw(None, format="svg")
        return svg.decode("utf-8")
    source: str = graph.draw(None)
    return source
