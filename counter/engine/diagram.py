"""Draw a workflow: for operators with ``transitions``' diagrams extension, for people by title.

``diagram`` (``counter workflows draw``, the docs) uses ``transitions``' own
extension (SVG via graphviz, or mermaid) and shows every declared
transition (conditions in brackets), the branch to the review state that
approvable findings take, and the built-in ``approve``/``reject`` of
approval states. A case's current state is drawn
as the extension's "active" state. ``people_diagram`` draws the same
workflow for the console, with titles instead of identifiers, and
``main_path`` is the row of steps a case page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import graphviz
from transitions.extensions.diagrams import GraphMachine

from counter.engine.definition import APPROVE, NEEDS_APPROVAL, WorkflowDefinition
from counter.engine.loader import Workflow
from counter.errors import DefinitionError
from counter.text import Text

__all__ = ["DiagramFormat", "diagram", "main_path", "people_diagram"]

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


def main_path(definition: WorkflowDefinition | Workflow) -> list[str]:
    """The workflow's main path: the shortest way from the initial state to its first final.

    The first final state declared is the outcome the workflow is for (``completed``);
    approval states are left out (a case page adds the review where a case took
    it), and among equally short ways the transitions declared first win. This is
    the row of steps a case page shows.
    """
    if isinstance(definition, Workflow):
        definition = definition.definition
    target = next((n for n, s in definition.states.items() if s.final), None)
    came_from: dict[str, str | None] = {definition.initial: None}
    frontier = [definition.initial]
    while frontier and target not in came_from:
        following: list[str] = []
        for state in frontier:
            for transition in definition.transitions:
                dest = transition.dest
                if (
                    state in definition.expand_sources(transition)
                    and dest not in came_from
                    and not definition.states[dest].approval
                ):
                    came_from[dest] = state
                    following.append(dest)
        frontier = following
    if target not in came_from:
        return [definition.initial]
    path: list[str] = []
    step: str | None = target
    while step is not None:
        path.append(step)
        step = came_from[step]
    return path[::-1]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PEOPLE_CACHE: dict[tuple[str, str | None, str], str] = {}
_PEOPLE_CACHE_SIZE = 256


def people_diagram(
    workflow: Workflow,
    lang: str,
    *,
    highlight: str | None = None,
    trigger_title: Callable[[str], Text] | None = None,
) -> str:
    """The workflow as SVG for people: state and trigger titles in ``lang``, not identifiers.

    Ways between the same two states are drawn once (their titles joined);
    the branch of approvable findings is one dashed edge from each state
    that can raise them, and the approval's return is written in the review
    state instead of an edge back to every destination. The drawing is
    cached per definition version, highlighted state and language.
    """
    key = (workflow.hash, highlight, lang)
    cached = _PEOPLE_CACHE.get(key)
    if cached is not None:
        return cached
    definition = workflow.definition
    if highlight is not None and highlight not in definition.states:
        raise DefinitionError(
            Text(zh=f"流程中没有状态 '{highlight}'", en=f"no state '{highlight}' in the workflow"),
            file=definition.file,
        )

    def title(trigger: str) -> str:
        if trigger_title is not None:
            return trigger_title(trigger).pick(lang)
        return trigger

    review_note = Text(zh="批准后继续原环节", en="approved: back on its way")
    lines = [
        "digraph workflow {",
        'rankdir=LR; bgcolor="white"; nodesep=0.3; ranksep=0.45;',
        'node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#57606a", '
        'fontname="Noto Sans CJK SC,WenQuanYi Micro Hei,sans-serif", fontsize=12];',
        'edge [color="#57606a", fontname="Noto Sans CJK SC,WenQuanYi Micro Hei,sans-serif", '
        "fontsize=10];",
    ]
    # Nodes are named by their title too: the SVG's <title> of each shape is what people read.
    node: dict[str, str] = {}
    for name in definition.states:
        title_text = definition.state_title(name).pick(lang)
        node[name] = title_text if title_text not in node.values() else f"{title_text} ({name})"
    for name, state in definition.states.items():
        label = definition.state_title(name).pick(lang)
        if state.approval:
            label += "\n(" + review_note.pick(lang) + ")"
        attributes = [f"label={_quoted(label)}"]
        if name == highlight:
            attributes += ['fillcolor="#0b5cad"', 'fontcolor="#ffffff"', "penwidth=2"]
        elif state.final:
            attributes += ["peripheries=2"]
        if state.approval and name != highlight:
            attributes.append('fillcolor="#fff8c5"')
        lines.append(f"{_quoted(node[name])} [{', '.join(attributes)}];")
    labels: dict[tuple[str, str, bool], list[str]] = {}
    for edge in definition.edges():
        if edge.trigger in (APPROVE,):
            continue
        branch = NEEDS_APPROVAL in edge.conditions
        words = title(edge.trigger)
        if branch:
            words = Text(zh="需主管审批", en="needs approval").pick(lang)
        found = labels.setdefault((edge.source, edge.dest, branch), [])
        if words not in found:
            found.append(words)
    for (source, dest, branch), joined in labels.items():
        style = ', style=dashed, color="#9a6700"' if branch else ""
        lines.append(
            f"{_quoted(node[source])} -> {_quoted(node[dest])} "
            f"[label={_quoted(' / '.join(joined))}{style}];"
        )
    lines.append("}")
    drawn: bytes = graphviz.Source("\n".join(lines)).pipe(format="svg")
    svg = drawn.decode("utf-8")
    if len(_PEOPLE_CACHE) >= _PEOPLE_CACHE_SIZE:
        _PEOPLE_CACHE.pop(next(iter(_PEOPLE_CACHE)))
    _PEOPLE_CACHE[key] = svg
    return svg
