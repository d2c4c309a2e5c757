"""Shape inference: every layer's output shape, parameters and MACs, without running a tensor.

Each layer kind supplies its own rule; this pass walks the graph's layers in order, feeds each
rule the shapes of its inputs, records what it infers on the layer and turns what the rule
reports into positioned diagnostics. A failed layer's output is unknown (or partly known) and
the layers after it go on with what is known.
"""

from __future__ import annotations

from dataclasses import replace
from math import prod
from typing import Any

from netspec.diagnostics import Diagnostic, Severity
from netspec.ir import INPUT, Graph, Layer
from netspec.layers.base import Inferred, LayerKind, Reporter
from netspec.limits import INT64_MAX
from netspec.shapes import Shape, format_dims, unknown


class _LayerReporter:
    """Implements ``layers.base.Reporter`` for one layer."""

    def __init__(self, layer: Layer, file: str) -> None:
        self.layer = layer
        self.file = file
        self.input_names = layer.inputs
        self.diagnostics: list[Diagnostic] = []

    def _add(self, message: str, arg: str | None, severity: Severity) -> None:
        layer = self.layer
        position = layer.arg_positions.get(arg, layer.position) if arg else layer.position
        self.diagnostics.append(
            Diagnostic(
                message,
                self.file,
                position,
                layer.name,
                layer.kind_name,
                severity,
                note=layer.context(),
            )
        )

    def error(self, message: str, arg: str | None = None) -> None:
        self._add(message, arg, "error")

    def warning(self, message: str, arg: str | None = None) -> None:
        self._add(message, arg, "warning")


def infer_shapes(graph: Graph) -> list[Diagnostic]:
    """Infer every layer's output, parameters and MACs (recorded on the layer); returns what
    the rules reported."""
    shapes: dict[str, Shape | None] = {INPUT: graph.input_shape}
    diagnostics: list[Diagnostic] = []
    for layer in graph.layers():
        inputs = tuple(shapes.get(source) for source in layer.inputs)
        layer.input_shapes = inputs
        kind = layer.kind
        if kind is None or layer.args is None or not kind.takes(len(inputs)):
            shapes |= dict.fromkeys(layer.output_names)
            continue
        reporter = _LayerReporter(layer, graph.file)
        if _dtypes_fit(kind, inputs, reporter):
            inferred = kind.infer(layer.args, inputs, reporter)
        else:
            inferred = Inferred(None, None, None)
        layer.inferred = _representable(inferred, reporter)
        diagnostics.extend(reporter.diagnostics)
        layer.failed = any(d.is_error for d in reporter.diagnostics)
        shapes |= zip(layer.output_names, layer.outputs, strict=True)
    return diagnostics


def _dtypes_fit(kind: LayerKind[Any], inputs: tuple[Shape | None, ...], report: Reporter) -> bool:
    """Token ids (long) reach only the kinds that read them, like PyTorch's own modules."""
    for source, shape in zip(report.input_names, inputs, strict=True):
        if shape is None or shape.dtype in kind.input_dtypes:
            continue
        if shape.dtype == "long":
            report.error(
                f"expects a float tensor, but '{source}' holds token ids (long); an "
                "embedding turns them into vectors"
            )
        else:
            report.error(
                f"expects token ids (an input with dtype: long), but '{source}' holds "
                f"{shape.dtype} values"
            )
        return False
    return True


def _representable(inferred: Inferred, report: _LayerReporter) -> Inferred:
    """PyTorch indexes a tensor with int64: an output or a weight with more elements cannot
    exist, and its size would only grow downstream. Such a layer fails; what reads it goes on
    with an unknown shape."""
    shape, weights = inferred.shape, inferred.weights
    if shape is not None and (shape.numel() or 0) > INT64_MAX:
        report.error(
            f"the output ({shape}) has {_magnitude(shape.numel() or 0)} elements per sample, "
            f"more than a tensor can hold (at most {INT64_MAX:,})"
        )
        shape = unknown(shape.rank)
    for name, dims in (weights or {}).items():
        if prod(dims) > INT64_MAX:
            report.error(
                f"the parameter '{name}' ({format_dims(dims)}) has {_magnitude(prod(dims))} "
                f"elements, more than a tensor can hold (at most {INT64_MAX:,})"
            )
            weights = None
            break
    if shape is inferred.shape and weights is inferred.weights:
        return inferred
    return replace(inferred, shape=shape, weights=weights, macs=None)


def _magnitude(count: int) -> str:
    """``about 2^70``: the size of a number too large to be worth writing out."""
    return f"about 2^{count.bit_length() - 1}"
