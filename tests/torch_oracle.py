"""PyTorch as the oracle: build a spec's layers with real modules and run a tensor through.

The modules are built from the spec's arguments alone. Input sizes the spec leaves out are
found by PyTorch's lazy modules (``LazyConv2d``, ``LazyLinear``…), so nothing here reuses
netspec's own shape arithmetic; sizes the spec writes down are passed to the eager modules, so
PyTorch itself rejects a wrong one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from netspec.ir import INPUT, Graph


def _written_or_lazy(eager: type, lazy: type, written: str, a: Any, **kw: Any) -> nn.Module:
    size = getattr(a, written)
    return eager(size, **kw) if size is not None else lazy(**kw)


def _conv(eager: type, lazy: type) -> Callable[[Any], nn.Module]:
    def build(a: Any) -> nn.Module:
        kw = dict(
            out_channels=a.out_channels,
            kernel_size=a.kernel_size,
            stride=a.stride,
            padding=a.padding,
            dilation=a.dilation,
            groups=a.groups,
            bias=a.bias,
            padding_mode=a.padding_mode,
        )
        return _written_or_lazy(eager, lazy, "in_channels", a, **kw)

    return build


def _bn(eager: type, lazy: type) -> Callable[[Any], nn.Module]:
    def build(a: Any) -> nn.Module:
        kw = dict(
            eps=a.eps,
            momentum=a.momentum,
            affine=a.affine,
            track_running_stats=a.track_running_stats,
        )
        return _written_or_lazy(eager, lazy, "num_features", a, **kw)

    return build


def _fields(a: Any) -> dict[str, Any]:
    return a.model_dump()


BUILDERS: dict[str, Callable[[Any], nn.Module]] = {
    "conv1d": _conv(nn.Conv1d, nn.LazyConv1d),
    "conv2d": _conv(nn.Conv2d, nn.LazyConv2d),
    "maxpool1d": lambda a: nn.MaxPool1d(**_fields(a)),
    "maxpool2d": lambda a: nn.MaxPool2d(**_fields(a)),
    "avgpool1d": lambda a: nn.AvgPool1d(**_fields(a)),
    "avgpool2d": lambda a: nn.AvgPool2d(**_fields(a)),
    "adaptiveavgpool1d": lambda a: nn.AdaptiveAvgPool1d(a.output_size),
    "adaptiveavgpool2d": lambda a: nn.AdaptiveAvgPool2d(a.output_size),
    "adaptivemaxpool1d": lambda a: nn.AdaptiveMaxPool1d(a.output_size),
    "adaptivemaxpool2d": lambda a: nn.AdaptiveMaxPool2d(a.output_size),
    "batchnorm1d": _bn(nn.BatchNorm1d, nn.LazyBatchNorm1d),
    "batchnorm2d": _bn(nn.BatchNorm2d, nn.LazyBatchNorm2d),
    "dropout": lambda a: nn.Dropout(**_fields(a)),
    "dropout1d": lambda a: nn.Dropout1d(**_fields(a)),
    "dropout2d": lambda a: nn.Dropout2d(**_fields(a)),
    "relu": lambda a: nn.ReLU(**_fields(a)),
    "leakyrelu": lambda a: nn.LeakyReLU(**_fields(a)),
    "gelu": lambda a: nn.GELU(**_fields(a)),
    "elu": lambda a: nn.ELU(**_fields(a)),
    "silu": lambda a: nn.SiLU(**_fields(a)),
    "sigmoid": lambda a: nn.Sigmoid(),
    "tanh": lambda a: nn.Tanh(),
    "softmax": lambda a: nn.Softmax(**_fields(a)),
    "logsoftmax": lambda a: nn.LogSoftmax(**_fields(a)),
    "flatten": lambda a: nn.Flatten(**_fields(a)),
    "identity": lambda a: nn.Identity(),
    "linear": lambda a: _written_or_lazy(
        nn.Linear, nn.LazyLinear, "in_features", a, out_features=a.out_features, bias=a.bias
    ),
}

MERGES: dict[str, Callable[[list[torch.Tensor], Any], torch.Tensor]] = {
    "add": lambda xs, a: _strict_add(xs),
    "concat": lambda xs, a: torch.cat(xs, dim=a.dim),
}


def _strict_add(xs: list[torch.Tensor]) -> torch.Tensor:
    # netspec's add takes equal shapes only; PyTorch would broadcast, so insist here.
    if any(x.shape != xs[0].shape for x in xs):
        raise RuntimeError(f"shapes differ: {[tuple(x.shape) for x in xs]}")
    return torch.stack(xs).sum(0)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lazy modules warn that they are new
        for node in graph.nodes:
            assert node.kind is not None and node.args is not None
            inputs = [values[source] for source in node.inputs]
            if node.kind.name in MERGES:
                values[node.name] = MERGES[node.kind.name](inputs, node.args)
                continue
            module = BUILDERS[node.kind.name](node.args).eval()
            with torch.no_grad():
                values[node.name] = module(inputs[0])
            modules[node.name] = module
    return TorchRun(
        outputs={name: tuple(v.shape[1:]) for name, v in values.items() if name != INPUT},
        params={
            name: [(p, tuple(t.shape)) for p, t in m.named_parameters()]
            for name, m in modules.items()
        },
        modules=modules,
    )
