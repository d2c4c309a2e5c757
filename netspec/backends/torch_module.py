"""A checked spec as a live ``nn.Module``: the same modules, names and nesting as the compiled
file, so a state_dict saved from one loads into the other.

Imports torch; only ``netspec.build`` (and the commands that train) load this module.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from netspec.backends.plan import INPUT, Item, Plan, last_uses
from netspec.layers.base import TorchCall


def instantiate(call: TorchCall) -> nn.Module:
    """``nn.<module>(*args, **kwargs)``; the module name comes from a layer kind, not a spec."""
    return getattr(nn, call.module)(*call.args, **dict(call.kwargs))


def _module(item: Item) -> nn.Module | None:
    """The module of an item: a layer's, a block's (a ``SpecModule``) or a repeat's
    (an ``nn.Sequential`` of its copies, named 0, 1, …); None for an expression."""
    if item.step is not None:
        return instantiate(item.step.call) if item.step.call is not None else None
    assert item.group is not None
    if item.group.block is not None:
        return SpecModule(item.children, item.input, item.output, item.group.block)
    return nn.Sequential(*(_module(child) for child in item.children))  # type: ignore[misc]


class SpecModule(nn.Module):
    """One level of a netspec network: its layers and blocks as named submodules, run in spec
    order. The whole network is one; so is each use of a block."""

    def __init__(self, items: list[Item], source: str, output: str, label: str) -> None:
        super().__init__()
        self.label = label
        self._source = source  # the name this level's input has
        self._output = output
        self._items: list[tuple[str, Any, Any, tuple[str, ...], str, list[str]]] = []
        freed = last_uses(items)
        for index, item in enumerate(items):
            module = _module(item)
            if module is not None:
                self.add_module(item.local, module)
            expression = item.step.kind if item.step is not None and module is None else None
            args = item.step.args if item.step is not None else None
            self._items.append(
                (item.local, expression, args, item.inputs, item.output, freed.get(index, []))
            )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        values = {self._source: input}
        for local, expression, args, sources, output, done in self._items:
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


def build_module(plan: Plan, module: bool = False) -> nn.Module:
    """``nn.Sequential`` for a chain (unless ``module``), else a ``SpecModule``."""
    if plan.is_chain() and not module:
        return nn.Sequential(OrderedDict((s.name, instantiate(s.call)) for s in plan.steps))  # type: ignore[arg-type]
    return SpecModule(list(plan.items), INPUT, plan.steps[-1].name, plan.name)
