"""PyTorch as the oracle: build a spec's layers with real modules and run a tensor through.

Each layer's module is the one its kind's own PyTorch call makes, with every size the call
reads from its input taken from the real tensor arriving there (``tensor.shape``), never from
netspec's shape arithmetic; sizes the spec writes down (``in_channels: 3``) are passed as
written, so PyTorch itself rejects a wrong one. Expression kinds run their own ``evaluate``.
Nothing here names a kind, so a new kind is covered as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netspec.backends.torch_module import instantiate, make_learned
from netspec.ir import INPUT, Graph
from netspec.layers.args import LayerArgs
from netspec.layers.base import LayerKind, TorchCall, unpack
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
    outputs, module = run_layer_outputs(kind, args, tensors)
    return outputs[0], module


def run_layer_outputs(
    kind: LayerKind[Any], args: LayerArgs, tensors: Sequence[torch.Tensor]
) -> tuple[list[torch.Tensor], nn.Module | None]:
    """Every output of one layer (batch first, as netspec passes them on), and its module."""
    module: nn.Module | None = None
    if kind.torch_class is None:
        learned = kind.learned(args)
        if learned is None:
            result = kind.evaluate(args, tensors)
        else:
            holder = LearnedTensor(make_learned(learned))
            module = holder
            result = kind.evaluate(args, [holder.tensor, *tensors])
    else:
        module = module_for(kind, args, tensors).eval()
        with torch.no_grad():
            result = module(*kind.call_operands(tensors), **dict(kind.forward_keywords))
    found = unpack(kind.unpacking(args), result)
    second = kind.batch_second(args)
    outputs = [found[k].transpose(0, 1) if k in second else found[k] for k in sorted(found)]
    return outputs, module


class LearnedTensor(nn.Module):
    """A kind's own tensor, standing where a module would: netspec names it ``""`` (it is
    the attribute itself in a network's state_dict)."""

    def __init__(self, tensor: nn.Parameter) -> None:
        super().__init__()
        self.tensor = tensor

    def named_parameters(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        yield "", self.tensor


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
        outputs, module = run_layer_outputs(layer.kind, layer.args, inputs)
        values |= zip(layer.output_names, outputs, strict=True)
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
