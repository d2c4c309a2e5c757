"""Seeing a network at a chosen depth: groups deeper than it shown as one node.

At depth 0 every top-level block use (and every ``repeat:``) is one node; at depth 1 the
groups inside those are; with no depth every layer is shown. ``check`` prints a row per shown
node, ``draw`` a diagram node.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from netspec.ir import INPUT, Graph, Group, Node


def shown_nodes(graph: Graph, depth: int | None) -> list[Node]:
    """The layers and closed groups in network order; ``depth`` None shows every layer."""
    return list(_shown(graph.body, 0, depth))


def _shown(body: Sequence[Node], level: int, depth: int | None) -> Iterator[Node]:
    for node in body:
        if isinstance(node, Group) and (depth is None or level < depth):
            yield from _shown(node.body, level + 1, depth)
        else:
            yield node


def owners(shown: Sequence[Node]) -> dict[str, str]:
    """Each layer's values (``split``, ``split.1``) → the name of the shown node it is part of
    (the input maps to itself)."""
    owner = {INPUT: INPUT}
    for node in shown:
        for layer in node.layers():
            owner |= dict.fromkeys(layer.output_names, node.name)
    return owner


def external_inputs(node: Node, owner: dict[str, str]) -> list[str]:
    """The layers outside a shown node that its layers read, in order, each once."""
    inside = {value for layer in node.layers() for value in layer.output_names}
    seen: list[str] = []
    for layer in node.layers():
        for source in layer.inputs:
            if source not in inside and source not in seen:
                seen.append(source)
    return seen
