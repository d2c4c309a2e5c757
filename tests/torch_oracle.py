"""PyTorch as the oracle: build a spec's layers with real modules and run a tensor through.

Each layer's module is the one its kind's own PyTorch call makes, with every size the call
reads from its input taken from the real tensor arriving there (``tensor.shape``), never from
netspec's shape arithmetic; sizes the spec writes down (``in_channels: 3``) are passed as
written, so PyTorch itself rejects a wrong one. Expression kinds run their own ``evaluate``.
Nothing here names a kind, so a new kind is covered as it is; the one exception is ``add``,
which netspec keeps to equal shapes where PyTorch would broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netspec.backends.torch_module import instantiate
from netspec.ir import INPUT, Graph
from netspec.layers.args import LayerArgs
from netspec.layers.base import LayerKind, TorchCall
from netspec.shapes import Shape


def real_shapes(tensors: Sequence[torch.Tensor]) -> list[Shape]:
    return [Shape(tuple(tensor.shape[1:])) for tensor in tensors]


def module_for(kind: LayerKind[Any], args: LayerArgs, tensors: Sequence[torch.Tensor]) -> nn.Module:
    """The kind's module for these input tensors, with the sizes the spec wrote as written."""
    made = kind.torch_call(args, real_shapes(tensors))
    written = {key: getattr(args, key) for key in args.model_fields_set}
    positional = dict(zip(kind.torch_positional, made.args, strict=True))
    positional |= {key: written[key] for key in positional if written.get(key) is not None}
    keywords = dict(made.kwargs)
    keywords |= {key: written[key] for key in keywords if written.get(key) is not None}
    return instantiate(TorchCall(made.module, tuple(positional.values()), tuple(keywords.items())))


def run_layer(kind: LayerKind[Any], args: LayerArgs, tensors: Sequence[torch.Tensor]) -> Any:
    """(output, module or None) of one layer on real tensors; raises what PyTorch raises."""
    if kind.torch_class is None:
        if kind.name == "add" and any(t.shape != tensors[0].shape for t in tensors):
            # netspec's add takes equal shapes only, where PyTorch would broadcast
            raise RuntimeError(f"shapes differ: {[tuple(t.shape) for t in tensors]}")
        return kind.evaluate(args, tensors), None
    module = module_for(kind, args, tensors).eval()
    with torch.no_grad():
        return module(*tensors), module


@dataclass
class TorchRun:
    """What PyTorch did with the layers: per layer, output shape and named parameter shapes."""

    outputs: dict[str, tuple[int, ...]]
    params: dict[str, list[tuple[str, tuple[int, ...]]]]
    modules: dict[str, nn.Module]


def run_graph(graph: Graph, batch: int = 2) -> TorchRun:
    """Build every layer with PyTorch and push a batch of zeros (eval mode) through.

    Raises whatever PyTorch raises for an invalid layer.
    """
    assert graph.input_size is not None
    values: dict[str, torch.Tensor] = {INPUT: torch.zeros(batch, *graph.input_size)}
    modules: dict[str, nn.Module] = {}
    for layer in graph.layers():
        assert layer.kind is not None and layer.args is not None
        inputs = [values[source] for source in layer.inputs]
        values[layer.name], module = run_layer(layer.kind, layer.args, inputs)
        if module is not None:
            modules[layer.name] = module
    return TorchRun(
        outputs={name: tuple(v.shape[1:]) for name, v in values.items() if name != INPUT},
        params={
            name: [(p, tuple(t.shape)) for p, t in m.named_parameters()]
            for name, m in modules.items()
        },
        modules=modules,
    )
