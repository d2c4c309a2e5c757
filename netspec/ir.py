"""The intermediate representation: a DAG of layers, in an order where inputs come first.

Every backend (checker, code generator, diagram, runner) works on this graph, so a chain is just a
graph where each node reads the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netspec.diagnostics import Diagnostic
from netspec.layers.base import LayerKind
from netspec.spec.model import Group, LayerDecl, Spec

INPUT = "input"  # how `from:` names the network's input (and, in a block, the block's)


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
    groups: dict[str, Group] = field(default_factory=dict)  # blocks and repeats, by name
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
    """The graph of the expanded layers (their inputs are resolved already)."""
    nodes = [Node(decl.name, decl.kind, decl.args, decl.sources, decl) for decl in spec.layers]
    graph = Graph(spec.name, spec.input_size, nodes, spec.file, groups=spec.groups)
    diagnostics = [
        Diagnostic(
            "its output is never used (only the last layer is the network's output)",
            spec.file,
            node.decl.position,
            node.name,
            node.kind_name,
            severity="warning",
            note=node.decl.context(),
        )
        for node in graph.nodes[:-1]
        if not graph.consumers(node.name)
    ]
    return graph, diagnostics
