"""Seeing a network at a chosen depth: blocks deeper than it shown as one unit.

At depth 0 every top-level block use (and every ``repeat:``) is one unit; at depth 1 the
blocks inside those are; with no depth every layer is its own unit. ``check`` prints a row per
unit, ``draw`` a node per unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netspec.ir import INPUT, Graph
from netspec.passes.shapes import LayerResult, ShapeReport
from netspec.shapes import Shape
from netspec.spec.model import Group


@dataclass
class Unit:
    """A layer, or a group of layers shown as one."""

    name: str
    members: list[LayerResult] = field(default_factory=list)
    group: Group | None = None

    @property
    def kind(self) -> str:
        """The layer's kind, the block's name, or ``basic_block ×2`` for a repeat."""
        if self.group is None:
            return self.members[0].node.kind_name
        if self.group.block is not None:
            return self.group.block
        return f"{self.group.label} ×{self.group.count}"

    @property
    def output(self) -> Shape | None:
        return self.members[-1].output

    @property
    def params(self) -> int | None:
        counts = [m.params for m in self.members]
        return None if None in counts else sum(counts)  # type: ignore[arg-type]

    @property
    def macs(self) -> int | None:
        counts = [m.macs for m in self.members]
        return None if None in counts else sum(counts)  # type: ignore[arg-type]

    @property
    def failed(self) -> bool:
        return any(m.failed for m in self.members)


def units(graph: Graph, shapes: ShapeReport, depth: int | None) -> list[Unit]:
    """The units in network order; ``depth`` None shows every layer."""
    found: dict[str, Unit] = {}
    order: list[Unit] = []
    for result in shapes.layers:
        groups = result.node.decl.groups
        if depth is None or len(groups) <= depth:
            unit = Unit(result.node.name, [result])
            order.append(unit)
            continue
        name = groups[depth]
        if name not in found:
            found[name] = Unit(name, group=graph.groups.get(name))
            order.append(found[name])
        found[name].members.append(result)
    return order


def unit_of(units_: list[Unit]) -> dict[str, str]:
    """Layer name → the name of the unit showing it (the input maps to itself)."""
    owner = {INPUT: INPUT}
    for unit in units_:
        for member in unit.members:
            owner[member.node.name] = unit.name
    return owner


def external_inputs(unit: Unit, owner: dict[str, str]) -> list[str]:
    """The layers outside a unit that its members read, in order, each once."""
    inside = {member.node.name for member in unit.members}
    seen: list[str] = []
    for member in unit.members:
        for source in member.node.inputs:
            if source not in inside and source not in seen:
                seen.append(source)
    return seen
