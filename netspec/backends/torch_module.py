"""A checked spec as a live ``nn.Module``: the same modules, names and order as the compiled file.

Imports torch; only ``netspec.build`` (and the commands that train) load this module.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from netspec.backends.plan import INPUT, Plan
from netspec.layers.base import LayerKind, TorchCall


def instantiate(call: TorchCall) -> nn.Module:
    """``nn.<module>(*args, **kwargs)``; the module name comes from a layer kind, not a spec."""
    return getattr(nn, call.module)(*call.args, **dict(call.kwargs))


class SpecModule(nn.Module):
    """A netspec graph: submodules named after the layers, run in spec order.

    Its ``state_dict`` has the same keys as the class ``netspec compile`` writes for the spec.
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.spec_name = plan.name
        self._steps: list[tuple[str, LayerKind | None, Any, tuple[str, ...], list[str]]] = []
        freed = plan.last_uses()
        for index, step in enumerate(plan.steps):
            if step.call is not None:
                self.add_module(step.name, instantiate(step.call))
            expression = None if step.call is not None else step.kind
            self._steps.append(
                (step.name, expression, step.args, step.inputs, freed.get(index, []))
            )
        self._output = plan.steps[-1].name

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        values = {INPUT: input}
        for name, expression, args, sources, done in self._steps:
            operands = [values[source] for source in sources]
            if expression is None:
                values[name] = self._modules[name](operands[0])  # type: ignore[misc]
            else:
                values[name] = expression.evaluate(args, operands)
            for value in done:  # drop what no later layer reads, as the compiled code does
                del values[value]
        return values[self._output]

    def extra_repr(self) -> str:
        return f"spec={self.spec_name!r}"


def build_module(plan: Plan, module: bool = False) -> nn.Module:
    """``nn.Sequential`` for a chain (unless ``module``), else a ``SpecModule``."""
    if plan.is_chain() and not module:
        return nn.Sequential(OrderedDict((s.name, instantiate(s.call)) for s in plan.steps))  # type: ignore[arg-type]
    return SpecModule(plan)
