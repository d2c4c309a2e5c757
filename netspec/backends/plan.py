"""The checked network as the steps both PyTorch backends follow.

The code generator and ``netspec.build`` read the same plan, and each step's PyTorch form comes
from its layer kind, so a compiled file and a built model are the same network. The plan is a
tree: the spec's entries at the top, and inside each block use (or ``repeat:``) its own
entries, as the generated classes (and the built modules) nest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from netspec.check import CheckedSpec
from netspec.diagnostics import SpecError
from netspec.ir import INPUT, Graph
from netspec.layers.base import LayerKind, TorchCall
from netspec.shapes import Shape
from netspec.spec.model import Group, LayerDecl


@dataclass(frozen=True)
class Step:
    name: str  # qualified: layer2.0.conv1
    kind: LayerKind
    args: Any
    inputs: tuple[str, ...]  # qualified layer names, or INPUT
    output: Shape
    call: TorchCall | None  # the module to build; None for an expression kind (add, concat)
    input_shapes: tuple[Shape, ...] = ()
    decl: LayerDecl | None = None


@dataclass
class Item:
    """An entry of one level of the network: a layer, or a group (a block use or a repeat)
    holding the items of the level below."""

    local: str  # its name at this level: conv1, layer1, 0
    step: Step | None = None
    group: Group | None = None
    children: list[Item] = field(default_factory=list)
    input: str = INPUT  # a group's input (qualified)
    output: str = ""  # qualified name of what it produces

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.step.inputs if self.step is not None else (self.input,)

    def steps(self) -> list[Step]:
        """Its layers, depth first."""
        if self.step is not None:
            return [self.step]
        return [step for child in self.children for step in child.steps()]


@dataclass(frozen=True)
class Plan:
    name: str
    input_shape: Shape
    output_shape: Shape
    total_params: int
    steps: tuple[Step, ...]
    graph: Graph
    items: tuple[Item, ...] = ()
    blocks: dict[str, Any] = field(default_factory=dict)  # name → spec.blocks.BlockDef

    @property
    def has_groups(self) -> bool:
        return any(item.group is not None for item in self.items)

    def is_chain(self) -> bool:
        return self.graph.is_chain() and not self.has_groups

    def digest(self) -> str:
        """A fingerprint of the network itself: layers, their PyTorch calls and wiring (not
        the spec's comments or layout, nor its train: section)."""
        parts = [repr(self.input_shape.dims)]
        for step in self.steps:
            parts.append(repr((step.name, step.kind.name, step.inputs, step.call, step.args)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def last_uses(items: list[Item] | tuple[Item, ...]) -> dict[int, list[str]]:
    """For each item of a level, the values no later item of that level reads."""
    last: dict[str, int] = {}
    for index, item in enumerate(items):
        for source in item.inputs:
            last[source] = index
    freed: dict[int, list[str]] = {}
    for value, index in last.items():
        freed.setdefault(index, []).append(value)
    return freed


def _tree(steps: list[Step], groups: dict[str, Group]) -> list[Item]:
    """Nest the steps by the groups they belong to."""
    top: list[Item] = []
    opened: dict[str, Item] = {}
    for step in steps:
        assert step.decl is not None
        level = top
        for name in step.decl.groups:
            if name not in opened:
                group = groups[name]
                item = Item(
                    group.local_name, group=group, input=step.inputs[0] if step.inputs else INPUT
                )
                opened[name] = item
                level.append(item)
            level = opened[name].children
        level.append(Item(step.decl.local_name, step=step, output=step.name))
    for item in opened.values():
        item.output = item.steps()[-1].name
    return top


def plan(checked: CheckedSpec) -> Plan:
    """The plan of a spec without errors; raises ``SpecError`` otherwise."""
    if not checked.ok or checked.shapes is None or checked.spec is None or checked.graph is None:
        raise SpecError(checked.errors)
    shapes = checked.shapes
    steps = []
    for result in shapes.layers:
        node = result.node
        assert node.kind is not None and result.output is not None
        inputs = tuple(shape for shape in result.inputs if shape is not None)
        call = node.kind.torch_call(node.args, inputs) if node.kind.torch_class else None
        steps.append(
            Step(
                node.name, node.kind, node.args, node.inputs, result.output, call, inputs, node.decl
            )
        )
    assert shapes.input_shape is not None and shapes.output_shape is not None
    assert shapes.total_params is not None
    return Plan(
        name=checked.spec.name,
        input_shape=shapes.input_shape,
        output_shape=shapes.output_shape,
        total_params=shapes.total_params,
        steps=tuple(steps),
        graph=checked.graph,
        items=tuple(_tree(steps, checked.spec.groups)),
        blocks=checked.spec.blocks,
    )


__all__ = ["INPUT", "Item", "Plan", "Step", "last_uses", "plan"]
