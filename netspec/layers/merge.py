"""Layers that join branches of a graph: add, mul, sub, div, concat."""

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

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
from netspec.pysource import Atom, Expr, Keyword, Sum, Terms, call, list_of, literal
from netspec.shapes import Dim, Shape


def _listing(shapes: Sequence[Shape], names: Sequence[str]) -> str:
    return ", ".join(f"{shape} ('{name}')" for shape, name in zip(shapes, names, strict=True))


def broadcast(shapes: Sequence[Shape], report: Reporter) -> Shape | None:
    """PyTorch's broadcasting of batched inputs: the output shape, or None after reporting the
    first pair of inputs that do not broadcast.

    Inputs must have one rank: PyTorch aligns the last dims, so a lower-rank input's batch
    would meet a feature dim of the other. In each dim the sizes are equal or 1.
    """

    def shown(index: int) -> str:
        shape = shapes[index]
        names = report.input_names  # none while a block class is traced
        name = names[index] if index < len(names) else f"input {index + 1}"
        return f"{shape if shape.rank else 'a scalar'} ('{name}')"

    first = shapes[0]
    for index, shape in enumerate(shapes):
        if shape.rank != first.rank:
            report.error(
                f"cannot broadcast {shown(0)} with {shown(index)}: their ranks differ "
                f"({first.rank} and {shape.rank} dims besides the batch), so the batch of one "
                "would line up with a feature dim of the other"
            )
            return None
    dims: list[Dim] = []
    for axis, column in enumerate(zip(*(s.dims for s in shapes), strict=True)):
        sizes = [d for d in column if d is not None and d != 1]
        if any(size != sizes[0] for size in sizes):
            one = column.index(sizes[0])
            other = next(i for i, d in enumerate(column) if d not in (None, 1, sizes[0]))
            report.error(
                f"cannot broadcast {shown(one)} with {shown(other)}: dim {axis + 1} is "
                f"{column[one]} vs {column[other]}"
            )
            return None
        # Where one input's dim is unknown another's may be known (≠ 1, it decides).
        dims.append(sizes[0] if sizes else None if None in column else column[0])
    return Shape(tuple(dims))


@dataclass(frozen=True)
class _Product(Expr):
    """``a * b * c``, never split itself (pysource splits sums only)."""

    operands: tuple[Expr, ...]

    def flat(self) -> str:
        return " * ".join(operand.flat() for operand in self.operands)


class _Broadcasting(LayerKind[NoArgs]):
    """An element-wise operation of its inputs, broadcast as PyTorch does."""

    family = "merge"
    torch_class = None
    min_inputs = 2
    max_inputs: ClassVar[int | None] = None  # any number; sub and div take two
    Args = NoArgs

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if any(x is None for x in inputs):
            return NO_OUTPUT
        shapes: list[Shape] = list(inputs)  # type: ignore[arg-type]
        output = broadcast(shapes, report)
        return NO_OUTPUT if output is None else Inferred(output)


BROADCAST_RULE = (
    "Inputs broadcast as in PyTorch: one rank, and in each dim their sizes are equal or 1 "
    "(C×H×W with C×1×1); the output takes the larger size. No params."
)


class Add(_Broadcasting):
    name = "add"
    summary = "element-wise sum of its inputs (a residual connection)"
    shape_rule = BROADCAST_RULE
    torch_expression = "x + y"
    examples = (
        valid(None, (4, 5, 5), (4, 5, 5)),
        valid(None, (3,), (3,), (3,)),
        valid(None, (4, 5, 5), (4, 1, 1)),
        valid(None, (1, 5), (4, 1), (4, 5)),
        invalid(None, (4, 5), (4, 6), error="cannot broadcast 4×5 ('in0') with 4×6 ('in1'): dim 2"),
        invalid(None, (4, 5, 6), (6,), error="their ranks differ (3 and 1 dims besides the batch)"),
    )

    def expression(self, args: NoArgs, operands: Sequence[Expr]) -> Expr:
        return Sum(tuple(operands))  # a + b + c

    def evaluate(self, args: NoArgs, tensors: Sequence[Any]) -> Any:
        return functools.reduce(operator.add, tensors)  # exactly a + b + c


class Mul(_Broadcasting):
    name = "mul"
    summary = "element-wise product of its inputs (squeeze-and-excitation's channel scaling)"
    shape_rule = BROADCAST_RULE
    torch_expression = "x * y"
    aliases = ("multiply", "Multiply")
    examples = (
        valid(None, (8, 5, 5), (8, 1, 1)),
        valid(None, (3, 4), (3, 4)),
        invalid(None, (8, 5, 5), (4, 1, 1), error="dim 1 is 8 vs 4"),
    )

    def expression(self, args: NoArgs, operands: Sequence[Expr]) -> Expr:
        # A sum of one term prints as that term, and in parentheses on its own line where the
        # statement is too long, as ruff formats a long product.
        return Sum((_Product(tuple(operands)),))  # a * b * c

    def evaluate(self, args: NoArgs, tensors: Sequence[Any]) -> Any:
        return functools.reduce(operator.mul, tensors)  # exactly a * b * c


def infix(left: Expr, symbol: str, right: Expr) -> Expr:
    """``a - b`` as a statement's value: in parentheses, split before the operator, where the
    line is too long, as ruff formats it."""
    return Sum((Terms(left, ((symbol, right),)),))


class _Binary(_Broadcasting):
    """``a <symbol> b`` of exactly two inputs, broadcast as add and mul are."""

    max_inputs = 2
    shape_rule = BROADCAST_RULE
    symbol: ClassVar[str]  # a key of _OPERATORS
    shown: ClassVar[str]  # the operation in a diagram

    def describe(self, args: NoArgs, inputs: Sequence[Shape | None]) -> str:
        return self.shown

    def expression(self, args: NoArgs, operands: Sequence[Expr]) -> Expr:
        left, right = operands
        return infix(left, self.symbol, right)

    def evaluate(self, args: NoArgs, tensors: Sequence[Any]) -> Any:
        left, right = tensors
        return _OPERATORS[self.symbol](left, right)  # exactly a - b, a / b


_OPERATORS = {"-": operator.sub, "/": operator.truediv}


class Sub(_Binary):
    name = "sub"
    summary = "element-wise difference of its two inputs: the first minus the second"
    torch_expression = "x - y"
    symbol = "-"
    shown = "1st − 2nd"
    aliases = ("subtract",)
    examples = (
        valid(None, (4, 5, 5), (4, 1, 1)),
        valid(None, (1, 5), (3, 1)),
        valid(None, (3, 4), (3, 4)),
        invalid(None, (4, 8, 8), (2, 1, 1), error="cannot broadcast 4×8×8 ('in0') with 2×1×1"),
        invalid(None, (3, 4), (4,), error="their ranks differ"),
    )


class Div(_Binary):
    name = "div"
    summary = "element-wise true division of its two inputs: the first over the second"
    torch_expression = "x / y"
    symbol = "/"
    shown = "1st ÷ 2nd"
    aliases = ("divide", "true_divide")
    examples = (
        valid(None, (8, 5, 5), (8, 1, 1)),
        valid(None, (3, 4), (3, 4)),
        invalid(None, (4, 5), (4, 6), error="dim 2 is 5 vs 6"),
    )


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
