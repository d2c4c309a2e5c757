"""The checked graph as the steps both PyTorch backends follow.

The code generator and ``netspec.build`` read the same steps, and each step's PyTorch form comes
from its layer kind, so a compiled file and a built model are the same network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from netspec.check import CheckedSpec
from netspec.diagnostics import SpecError
from netspec.ir import INPUT, Graph
from netspec.layers.base import LayerKind, TorchCall
from netspec.shapes import Shape


@dataclass(frozen=True)
class Step:
    name: str
    kind: LayerKind
    args: Any
    inputs: tuple[str, ...]  # layer names, or INPUT
    output: Shape
    call: TorchCall | None  # the module to build; None for an expression kind (add, concat)


@dataclass(frozen=True)
class Plan:
    name: str
    input_shape: Shape
    output_shape: Shape
    total_params: int
    steps: tuple[Step, ...]
    graph: Graph

    def is_chain(self) -> bool:
        return self.graph.is_chain()

    def digest(self) -> str:
        """A fingerprint of the network itself: layers, their PyTorch calls and wiring (not
        the spec's comments or layout, nor its train: section)."""
        parts = [repr(self.input_shape.dims)]
        for step in self.steps:
            parts.append(repr((step.name, step.kind.name, step.inputs, step.call, step.args)))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def last_uses(self) -> dict[int, list[str]]:
        """For each step index, the values no later step reads (so they can be freed)."""
        last: dict[str, int] = {}
        for index, step in enumerate(self.steps):
            for source in step.inputs:
                last[source] = index
        freed: dict[int, list[str]] = {}
        for value, index in last.items():
            freed.setdefault(index, []).append(value)
        return freed


def plan(checked: CheckedSpec) -> Plan:
    """Steps for a spec without errors; raises ``SpecError`` otherwise."""
    if not checked.ok or checked.shapes is None or checked.spec is None or checked.graph is None:
        raise SpecError(checked.errors)
    shapes = checked.shapes
    steps = []
    for result in shapes.layers:
        node = result.node
        assert node.kind is not None and result.output is not None
        inputs = tuple(shape for shape in result.inputs if shape is not None)
        call = node.kind.torch_call(node.args, inputs) if node.kind.torch_class else None
        steps.append(Step(node.name, node.kind, node.args, node.inputs, result.output, call))
    assert shapes.input_shape is not None and shapes.output_shape is not None
    assert shapes.total_params is not None
    return Plan(
        name=checked.spec.name,
        input_shape=shapes.input_shape,
        output_shape=shapes.output_shape,
        total_params=shapes.total_params,
        steps=tuple(steps),
        graph=checked.graph,
    )


__all__ = ["INPUT", "Plan", "Step", "plan"]
