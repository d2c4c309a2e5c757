"""The intermediate representation: a DAG of layers, in an order where inputs come first.

Every backend (checker, code generator, diagram, runner) works on this graph, so a chain is just a
graph where each node reads the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netspec.diagnostics import Diagnostic, Position, did_you_mean
from netspec.layers.base import LayerKind
from netspec.spec.model import LayerDecl, Spec

INPUT = "input"  # how `from:` names the network's input


@dataclass(frozen=True)
class Node:
    """One layer of the graph. ``kind`` or ``args`` is None when the spec had an error there."""

    name: str
    kind: LayerKind | None
    args: Any
    inputs: tuple[str, ...]  # node names, or INPUT
    decl: LayerDecl

    @property
    def kind_name(self) -> str:
        return self.kind.name if self.kind else "?"


@dataclass
class Graph:
    name: str
    input_size: tuple[int, ...] | None
    nodes: list[Node]
    file: str = "<spec>"
    _consumers: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        consumers: dict[str, list[str]] = {INPUT: []}
        for node in self.nodes:
            consumers.setdefault(node.name, [])
            for source in node.inputs:
                consumers.setdefault(source, []).append(node.name)
        self._consumers = consumers

    @property
    def output(self) -> str:
        return self.nodes[-1].name

    def consumers(self, name: str) -> list[str]:
        return self._consumers.get(name, [])

    def is_chain(self) -> bool:
        """True when every layer reads exactly the one before it (an ``nn.Sequential``)."""
        previous = INPUT
        for node in self.nodes:
            if node.inputs != (previous,):
                return False
            previous = node.name
        return True


def build_graph(spec: Spec) -> tuple[Graph, list[Diagnostic]]:
    """Resolve ``from:`` references. Errors leave a node's bad inputs out."""
    diagnostics: list[Diagnostic] = []
    defined = {decl.name: decl for decl in spec.layers}
    seen: set[str] = set()
    nodes: list[Node] = []
    previous = INPUT

    def error(message: str, decl: LayerDecl, position: Position | None) -> None:
        diagnostics.append(
            Diagnostic(
                message,
                spec.file,
                position or decl.position,
                decl.name,
                decl.kind.name if decl.kind else None,
            )
        )

    for decl in spec.layers:
        if decl.sources is None:
            inputs: tuple[str, ...] = (previous,)
        else:
            resolved = []
            for i, source in enumerate(decl.sources):
                position = decl.sources_positions[i] if i < len(decl.sources_positions) else None
                problem = _source_problem(source, decl, seen, defined)
                if problem:
                    error(problem, decl, position)
                else:
                    resolved.append(source)
            inputs = tuple(resolved)
        if decl.kind is not None:
            _check_arity(decl, inputs, error)
        nodes.append(Node(decl.name, decl.kind, decl.args, inputs, decl))
        seen.add(decl.name)
        previous = decl.name

    graph = Graph(spec.name, spec.input_size, nodes, spec.file)
    for node in graph.nodes[:-1]:
        if not graph.consumers(node.name):
            diagnostics.append(
                Diagnostic(
                    "its output is never used (only the last layer is the network's output)",
                    spec.file,
                    node.decl.position,
                    node.name,
                    node.kind_name,
                    severity="warning",
                )
            )
    return graph, diagnostics


def _source_problem(
    source: str, decl: LayerDecl, seen: set[str], defined: dict[str, LayerDecl]
) -> str | None:
    if source == INPUT or source in seen:
        return None
    if source == decl.name:
        return f"from: '{source}' is this layer itself"
    if source in defined:
        line = defined[source].position.line if defined[source].position else "?"
        return (
            f"from: '{source}' is defined later (line {line}); "
            "a layer can only read layers above it"
        )
    hint = did_you_mean(source, [INPUT, *seen])
    return f"from: '{source}' is not a layer of this spec{hint}"


def _check_arity(decl: LayerDecl, inputs: tuple[str, ...], error: Any) -> None:
    kind = decl.kind
    assert kind is not None
    if decl.sources is not None and len(inputs) != len(decl.sources):
        return  # a dangling source was reported already
    count = len(inputs)
    if kind.max_inputs == 1 and count != 1:
        error(f"takes 1 input, got {count} in from:", decl, _first(decl.sources_positions))
    elif count < kind.min_inputs:
        if decl.sources is None:
            error(
                f"joins {kind.min_inputs} or more layers: list them with from: [a, b]", decl, None
            )
        else:
            error(
                f"needs at least {kind.min_inputs} inputs, got {count}",
                decl,
                _first(decl.sources_positions),
            )


def _first(positions: tuple[Position | None, ...]) -> Position | None:
    return positions[0] if positions else None
