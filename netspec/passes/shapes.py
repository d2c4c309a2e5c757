"""Shape inference: every layer's output shape, parameters and MACs, without running a tensor.

Each layer kind supplies its own rule; this pass walks the graph in order, feeds each rule the
shapes of its inputs and turns what the rule reports into positioned diagnostics. A failed layer's
output is unknown (or partly known) and the layers after it go on with what is known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

from netspec.diagnostics import Diagnostic, Severity
from netspec.ir import INPUT, Graph, Node
from netspec.layers.base import Inferred, ParamShapes, count_params
from netspec.limits import INT64_MAX
from netspec.shapes import Shape, format_dims, unknown


@dataclass(frozen=True)
class LayerResult:
    node: Node
    inputs: tuple[Shape | None, ...]
    output: Shape | None
    weights: ParamShapes | None  # parameter tensors, as PyTorch names them
    macs: int | None
    failed: bool  # this layer itself reported an error

    @property
    def params(self) -> int | None:
        return count_params(self.weights)


@dataclass
class ShapeReport:
    input_shape: Shape | None
    layers: list[LayerResult]
    diagnostics: list[Diagnostic]

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].output if self.layers else None

    @property
    def total_params(self) -> int | None:
        return _total(r.params for r in self.layers)

    @property
    def total_macs(self) -> int | None:
        return _total(r.macs for r in self.layers)


def _total(values) -> int | None:
    values = list(values)
    return None if None in values else sum(values)


class _NodeReporter:
    """Implements ``layers.base.Reporter`` for one node."""

    def __init__(self, node: Node, file: str) -> None:
        self.node = node
        self.file = file
        self.input_names = node.inputs
        self.diagnostics: list[Diagnostic] = []

    def _add(self, message: str, arg: str | None, severity: Severity) -> None:
        decl = self.node.decl
        position = decl.arg_positions.get(arg, decl.position) if arg else decl.position
        self.diagnostics.append(
            Diagnostic(
                message,
                self.file,
                position,
                self.node.name,
                self.node.kind_name,
                severity,
                note=decl.context(),
            )
        )

    def error(self, message: str, arg: str | None = None) -> None:
        self._add(message, arg, "error")

    def warning(self, message: str, arg: str | None = None) -> None:
        self._add(message, arg, "warning")


def infer_shapes(graph: Graph) -> ShapeReport:
    input_shape = Shape(graph.input_size) if graph.input_size else None
    shapes: dict[str, Shape | None] = {INPUT: input_shape}
    results: list[LayerResult] = []
    diagnostics: list[Diagnostic] = []
    for node in graph.nodes:
        inputs = tuple(shapes.get(source) for source in node.inputs)
        kind = node.kind
        usable = (
            kind is not None
            and node.args is not None
            and kind.min_inputs <= len(inputs) <= (kind.max_inputs or len(inputs))
        )
        if not usable:
            results.append(LayerResult(node, inputs, None, None, None, failed=False))
            shapes[node.name] = None
            continue
        reporter = _NodeReporter(node, graph.file)
        inferred = _representable(kind.infer(node.args, inputs, reporter), reporter)
        diagnostics.extend(reporter.diagnostics)
        failed = any(d.is_error for d in reporter.diagnostics)
        results.append(
            LayerResult(node, inputs, inferred.shape, inferred.weights, inferred.macs, failed)
        )
        shapes[node.name] = inferred.shape
    return ShapeReport(input_shape, results, diagnostics)


def _representable(inferred: Inferred, report: _NodeReporter) -> Inferred:
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
