"""A checked spec as a live ``nn.Module``: the same modules, names and nesting as the compiled
file, so a state_dict saved from one loads into the other.

Imports torch; only ``netspec.build`` (and the commands that train) load this module.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netspec.ir import INPUT, Graph, Layer, Node, last_uses
from netspec.layers.args import LayerArgs
from netspec.layers.base import LayerKind, Learned, TorchCall, Unpacking, unpack


def instantiate(call: TorchCall) -> nn.Module:
    """``nn.<module>(*args, **kwargs)``; the module name comes from a layer kind, not a spec."""
    return getattr(nn, call.module)(*call.args, **dict(call.kwargs))


def make_learned(learned: Learned) -> nn.Parameter:
    """A kind's own tensor, initialised as the generated code does."""
    tensor = torch.empty(learned.shape)
    fills = {
        "zeros": lambda: nn.init.zeros_(tensor),
        "ones": lambda: nn.init.ones_(tensor),
        "constant": lambda: nn.init.constant_(tensor, learned.value),
        "normal": lambda: tensor.normal_(std=learned.value),
    }
    with torch.no_grad():
        fills[learned.fill]()
    return nn.Parameter(tensor)


def _module(node: Node) -> nn.Module | None:
    """The module of a node: a layer's, a block's (a ``SpecModule``) or a repeat's
    (an ``nn.Sequential`` of its copies, named 0, 1, …); None for an expression."""
    if isinstance(node, Layer):
        call = node.torch_call()
        return instantiate(call) if call is not None else None
    if node.block is not None:
        return SpecModule(node.body, node.inputs, node.output_name, node.block, node.taps)
    return nn.Sequential(*(_module(copy) for copy in node.body))  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Step:
    """One node of a level as ``forward`` runs it."""

    local: str
    expression: LayerKind[Any] | None  # an expression kind, evaluated on the values
    args: LayerArgs | None
    learned: bool  # the expression reads the level's parameter named ``local`` first
    sources: tuple[str, ...]
    outputs: tuple[str, ...]
    unpacking: Unpacking
    batch_second: frozenset[int]  # outputs to make batch-first
    kind: LayerKind[Any] | None
    keywords: dict[str, Any]  # of a module's forward call
    done: list[str]  # values nothing later reads


def _unpacking(node: Node) -> Unpacking:
    """Where a node's values are in what its call returns."""
    if isinstance(node, Layer):
        assert node.kind is not None and node.args is not None
        return node.kind.unpacking(node.args)
    return tuple(range(len(node.output_names))) if node.taps else 0


class SpecModule(nn.Module):
    """One level of a netspec network: its layers and blocks as named submodules, run in spec
    order. The whole network is one; so is each use of a block."""

    def __init__(
        self,
        body: Sequence[Node],
        sources: Sequence[str],
        output: str,
        label: str,
        taps: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.label = label
        self._sources = tuple(sources)  # the names this level's inputs have
        self._output = output
        self._taps = taps  # values inside read from outside, returned after the output
        self._steps: list[_Step] = []
        freed = last_uses(body)
        for index, node in enumerate(body):
            module = _module(node)
            if module is not None:
                self.add_module(node.local, module)
            kind = node.kind if isinstance(node, Layer) else None
            args = node.args if isinstance(node, Layer) else None
            learned = kind.learned(args) if kind is not None and args is not None else None
            if learned is not None:
                self.register_parameter(node.local, make_learned(learned))
            self._steps.append(
                _Step(
                    node.local,
                    kind if kind is not None and module is None else None,
                    args,
                    learned is not None,
                    node.inputs,
                    node.output_names,
                    _unpacking(node),
                    kind.batch_second(args)
                    if kind is not None and args is not None
                    else frozenset(),
                    kind,
                    dict(kind.forward_keywords) if kind is not None else {},
                    [value for value in freed.get(index, []) if value not in self._taps],
                )
            )

    def forward(self, input: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        values = {self._sources[0]: input}
        if len(self._sources) > 1:  # a block given several tensors (torch.fx traces the rest)
            values |= zip(self._sources[1:], more, strict=True)
        for step in self._steps:
            operands = [values[source] for source in step.sources]
            if step.expression is None:
                if step.kind is not None:
                    operands = step.kind.call_operands(operands)
                result = self._modules[step.local](*operands, **step.keywords)  # type: ignore[misc]
            else:
                if step.learned:
                    operands.insert(0, getattr(self, step.local))
                result = step.expression.evaluate(step.args, operands)
            for index, value in unpack(step.unpacking, result).items():
                batch_first = value.transpose(0, 1) if index in step.batch_second else value
                values[step.outputs[index]] = batch_first
            for value in step.done:  # drop what nothing later reads, as the compiled code does
                values.pop(value, None)
        if self._taps:
            return (values[self._output], *(values[tap] for tap in self._taps))  # type: ignore[return-value]
        return values[self._output]

    def extra_repr(self) -> str:
        return f"spec={self.label!r}"


def build_module(graph: Graph, module: bool = False) -> nn.Module:
    """``nn.Sequential`` for a chain (unless ``module``), else a ``SpecModule``."""
    if graph.is_chain() and not module:
        layers = [node for node in graph.body if isinstance(node, Layer)]
        modules = OrderedDict((layer.name, _module(layer)) for layer in layers)
        return nn.Sequential(modules)  # type: ignore[arg-type]  # a chain has no expressions
    return SpecModule(graph.body, (INPUT,), graph.body[-1].output_name, graph.name)


__all__ = ["SpecModule", "build_module", "instantiate", "make_learned"]
