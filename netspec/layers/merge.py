"""Layers that join branches of a graph: add, concat."""

import functools
import operator
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from netspec.layers.args import Int, LayerArgs, NoArgs
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    valid,
)
from netspec.pysource import Atom, Expr, Keyword, Sum, call, list_of, literal
from netspec.shapes import Shape


def _listing(shapes: Sequence[Shape], names: Sequence[str]) -> str:
    return ", ".join(f"{shape} ('{name}')" for shape, name in zip(shapes, names, strict=True))


class Add(LayerKind[NoArgs]):
    name = "add"
    family = "merge"
    summary = "element-wise sum of its inputs (a residual connection)"
    shape_rule = "All inputs must have the same shape (no broadcasting); output has that shape."
    torch_class = None
    torch_expression = "x + y"
    min_inputs = 2
    max_inputs = None
    Args = NoArgs
    examples = (
        valid(None, (4, 5, 5), (4, 5, 5)),
        valid(None, (3,), (3,), (3,)),
        invalid(None, (4, 5), (4, 6), error="inputs must have one shape"),
    )

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if any(x is None for x in inputs):
            return NO_OUTPUT
        shapes: list[Shape] = list(inputs)  # type: ignore[arg-type]
        first = shapes[0]
        for shape in shapes[1:]:
            mismatch = shape.rank != first.rank or any(
                a is not None and b is not None and a != b
                for a, b in zip(shape.dims, first.dims, strict=False)
            )
            if mismatch:
                report.error(
                    "inputs must have one shape, got " + _listing(shapes, report.input_names)
                )
                return NO_OUTPUT
        # Where one input's dim is unknown another's may be known.
        dims = tuple(
            next((d for d in column if d is not None), None)
            for column in zip(*(s.dims for s in shapes), strict=True)
        )
        return Inferred(Shape(dims))

    def expression(self, args: NoArgs, operands: Sequence[Expr]) -> Expr:
        return Sum(tuple(operands))  # a + b + c

    def evaluate(self, args: NoArgs, tensors: Sequence[Any]) -> Any:
        return functools.reduce(operator.add, tensors)  # exactly a + b + c


class ConcatArgs(LayerArgs):
    dim: Int = Field(1, description="dim to join along, counting the batch as dim 0")


class Concat(LayerKind[ConcatArgs]):
    name = "concat"
    family = "merge"
    summary = "joins its inputs along dim (channels by default)"
    shape_rule = (
        "Inputs must agree on every dim but dim (the batch is dim 0, which cannot be used); "
        "output dim is the sum."
    )
    torch_class = None
    torch_expression = "torch.cat"
    main_arg = "dim"
    min_inputs = 2
    max_inputs = None
    aliases = ("cat", "concatenate", "Concatenate")
    Args = ConcatArgs
    examples = (
        valid(None, (4, 5, 5), (2, 5, 5)),
        valid(-1, (3, 2), (3, 5), (3, 1)),
        invalid(None, (4, 5), (4, 6, 2), error="inputs must have one rank"),
    )

    def infer(self, args: ConcatArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if any(x is None for x in inputs):
            return NO_OUTPUT
        shapes: list[Shape] = list(inputs)  # type: ignore[arg-type]
        first = shapes[0]
        if any(s.rank != first.rank for s in shapes):
            report.error("inputs must have one rank, got " + _listing(shapes, report.input_names))
            return NO_OUTPUT
        dim = resolve_dim(args.dim, first, report, arg="dim")
        if dim is None:
            return NO_OUTPUT
        if dim == 0:
            report.error("dim 0 is the batch; join along a feature dim, e.g. 1 (channels)", "dim")
            return NO_OUTPUT
        axis = dim - 1
        for i in range(first.rank):
            column = [s.dims[i] for s in shapes]
            known = {d for d in column if d is not None}
            if i != axis and len(known) > 1:
                report.error(
                    f"inputs must agree on every dim but dim {args.dim}, got "
                    + _listing(shapes, report.input_names)
                )
                return NO_OUTPUT
        sizes = [s.dims[axis] for s in shapes]
        total = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
        dims = tuple(
            total if i == axis else next((s.dims[i] for s in shapes if s.dims[i] is not None), None)
            for i in range(first.rank)
        )
        return Inferred(Shape(dims))

    def describe(self, args: ConcatArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"

    def expression(self, args: ConcatArgs, operands: Sequence[Expr]) -> Expr:
        return call("torch.cat", list_of(*operands), Keyword("dim", Atom(literal(args.dim))))

    def evaluate(self, args: ConcatArgs, tensors: Sequence[Any]) -> Any:
        import torch

        return torch.cat(list(tensors), dim=args.dim)
