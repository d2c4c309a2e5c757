"""A checked spec as a live ``nn.Module``: the same modules, names and nesting as the compiled
file, so a state_dict saved from one loads into the other.

Imports torch; only ``netspec.build`` (and the commands that train) load this module.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from netspec.ir import INPUT, Graph, Layer, Node, last_uses
from netspec.layers.base import TorchCall


def instantiate(call: TorchCall) -> nn.Module:
    """``nn.<module>(*args, **kwargs)``; the module name comes from a layer kind, not a spec."""
    return getattr(nn, call.module)(*call.args, **dict(call.kwargs))


def _module(node: Node) -> nn.Module | None:
    """The module of a node: a layer's, a block's (a ``SpecModule``) or a repeat's
    (an ``nn.Sequential`` of its copies, named 0, 1, …); None for an expression."""
    if isinstance(node, Layer):
        call = node.torch_call()
        return instantiate(call) if call is not None else None
    if node.block is not None:
        return SpecModule(node.body, node.input, node.output_name, node.block)
    return nn.Sequential(*(_module(copy) for copy in node.body))  # type: ignore[arg-type]


class SpecModule(nn.Module):
    """One level of a netspec network: its layers and blocks as named submodules, run in spec
    order. The whole network is one; so is each use of a block."""

    def __init__(self, body: Sequence[Node], source: str, output: str, label: str) -> None:
        super().__init__()
        self.label = label
        self._source = source  # the name this level's input has
        self._output = output
        self._steps: list[tuple[str, Any, Any, tuple[str, ...], str, list[str]]] = []
        freed = last_uses(body)
        for index, node in enumerate(body):
            module = _module(node)
            if module is not None:
                self.add_module(node.local, module)
            expression = node.kind if isinstance(node, Layer) and module is None else None
            args = node.args if isinstance(node, Layer) else None
            self._steps.append(
                (node.local, expression, args, node.inputs, node.output_name, freed.get(index, []))
            )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        values = {self._source: input}
        for local, expression, args, sources, output, done in self._steps:
            operands = [values[source] for source in sources]
            if expression is None:
                values[output] = self._modules[local](operands[0])  # type: ignore[misc]
            else:
                values[output] = expression.evaluate(args, operands)
            for value in done:  # drop what nothing later reads, as the compiled code does
                values.pop(value, None)
        return values[self._output]

    def extra_repr(self) -> str:
        return f"spec={self.label!r}"


def build_module(graph: Graph, module: bool = False) -> nn.Module:
    """``nn.Sequential`` for a chain (unless ``module``), else a ``SpecModule``."""
    if graph.is_chain() and not module:
        layers = [node for node in graph.body if isinstance(node, Layer)]
        modules = OrderedDict((layer.name, _module(layer)) for layer in layers)
        return nn.Sequential(modules)  # type: ignore[arg-type]  # a chain has no expressions
    return SpecModule(graph.body, INPUT, graph.body[-1].output_name, graph.name)


__all__ = ["SpecModule", "build_module", "instantiate"]
