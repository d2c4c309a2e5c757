"""Operations that combine whole tensors rather than elements: matmul and stack.

Their inputs are batched, as every value netspec passes on: the batch is dim 0 of each, and
neither operation may contract, broadcast against a feature dim, or move it.
"""

import operator
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from netspec.layers.args import Int, LayerArgs, NoArgs
from netspec.layers.base import NO_OUTPUT, Inferred, LayerKind, Reporter, invalid, valid
from netspec.layers.merge import infix
from netspec.layers.tensor import insert_dim
from netspec.pysource import Atom, Expr, Keyword, call, list_of, literal
from netspec.shapes import Dim, Shape


def _shown(shapes: Sequence[Shape], index: int, report: Reporter) -> str:
    """``197×64 ('q')``: an input and the layer feeding it."""
    names = report.input_names  # none while a block class is traced
    name = names[index] if index < len(names) else f"input {index + 1}"
    return f"{shapes[index] if shapes[index].rank else 'a scalar'} ('{name}')"


def _agree(sizes: Sequence[Dim]) -> Dim:
    """The one size of several where they must agree: the first known one."""
    return next((size for size in sizes if size is not None), None)


class MatMul(LayerKind[NoArgs]):
    name = "matmul"
    family = "merge"
    summary = "the matrix product of its two inputs, per sample (attention's q @ kᵀ)"
    shape_rule = (
        "Both inputs have one rank, at least 2 dims besides the batch: (…, n, k) @ (…, k, m) "
        "gives (…, n, m); the k's must agree and the leading dims broadcast (equal or 1). "
        "MACs: n·k·m per matrix product. No params."
    )
    torch_class = None
    torch_expression = "x @ y"
    min_inputs = 2
    max_inputs = 2
    Args = NoArgs
    examples = (
        valid(None, (5, 4), (4, 6)),
        valid(None, (4, 4), (4, 4)),
        valid(None, (3, 5, 4), (1, 4, 2)),
        invalid(None, (197, 64), (32, 197), error="cannot multiply 197×64 ('in0') by 32×197"),
        invalid(None, (5,), (5,), error="needs matrices: at least 2 dims (batch excluded)"),
        invalid(None, (3, 4, 5), (5, 6), error="their ranks differ (3 and 2 dims"),
        invalid(None, (3, 4, 5), (2, 5, 6), error="leading dim 1 is 3 vs 2"),
    )

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        a, b = inputs
        if a is None or b is None:
            return NO_OUTPUT
        shapes = (a, b)
        cannot = f"cannot multiply {_shown(shapes, 0, report)} by {_shown(shapes, 1, report)}"
        if a.rank < 2 or b.rank < 2:
            # A batched vector (N, k) is a matrix to torch.matmul, which would contract or
            # broadcast the batch; unsqueeze it to 1×k or k×1 first.
            report.error(
                f"{cannot}: matmul needs matrices: at least 2 dims (batch excluded) in each "
                "input; unsqueeze a vector to 1×k or k×1"
            )
            return NO_OUTPUT
        if a.rank != b.rank:
            report.error(
                f"{cannot}: their ranks differ ({a.rank} and {b.rank} dims besides the batch), "
                "so the batch of one would line up with a feature dim of the other"
            )
            return NO_OUTPUT
        k, other = a.dims[-1], b.dims[-2]
        if k is not None and other is not None and k != other:
            report.error(f"{cannot}: {k} vs {other}")
            return NO_OUTPUT
        leading: list[Dim] = []
        for axis, pair in enumerate(zip(a.dims[:-2], b.dims[:-2], strict=True)):
            sizes = {d for d in pair if d is not None and d != 1}
            if len(sizes) > 1:
                report.error(
                    f"{cannot}: their leading dims do not broadcast: leading dim {axis + 1} "
                    f"is {pair[0]} vs {pair[1]}"
                )
                return NO_OUTPUT
            leading.append(sizes.pop() if sizes else None if None in pair else 1)
        output = Shape((*leading, a.dims[-2], b.dims[-1]))
        contracted, products = _agree((k, other)), output.numel()
        macs = None if products is None or contracted is None else products * contracted
        return Inferred(output, macs=macs)

    def describe(self, args: NoArgs, inputs: Sequence[Shape | None]) -> str:
        if len(inputs) != 2 or inputs[0] is None or inputs[1] is None:
            return ""
        return f"{inputs[0]} @ {inputs[1]}"

    def expression(self, args: NoArgs, operands: Sequence[Expr]) -> Expr:
        a, b = operands
        return infix(a, "@", b)

    def evaluate(self, args: NoArgs, tensors: Sequence[Any]) -> Any:
        a, b = tensors
        return operator.matmul(a, b)  # exactly a @ b, torch.matmul


class StackArgs(LayerArgs):
    dim: Int = Field(
        1,
        description="where the new dim goes in the result, counting the batch as dim 0 "
        "(negatives count from the result's end)",
    )


class Stack(LayerKind[StackArgs]):
    name = "stack"
    family = "merge"
    summary = "joins its inputs along a new dim (one per input)"
    shape_rule = (
        "Inputs have one shape; a new dim, as long as the inputs are many, is inserted so that "
        "it is dim dim of the result (not 0, the batch's place; negatives count from the "
        "result's end). No params."
    )
    torch_class = None
    torch_expression = "torch.stack"
    main_arg = "dim"
    min_inputs = 2
    max_inputs = None
    Args = StackArgs
    examples = (
        valid(None, (3, 4), (3, 4)),
        valid(-1, (3, 4), (3, 4), (3, 4)),
        valid({"dim": 3}, (2, 5), (2, 5)),
        invalid(None, (3, 4), (3, 5), error="inputs must have one shape, got 3×4 ('in0'), 3×5"),
        invalid(4, (3, 4), (3, 4), error="dim 4 is out of range"),
    )

    def infer(self, args: StackArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if any(x is None for x in inputs):
            return NO_OUTPUT
        shapes: list[Shape] = list(inputs)  # type: ignore[arg-type]
        first = shapes[0]
        columns = list(zip(*(s.dims for s in shapes), strict=False))
        if any(s.rank != first.rank for s in shapes) or any(
            len({d for d in column if d is not None}) > 1 for column in columns
        ):
            listing = ", ".join(_shown(shapes, i, report) for i in range(len(shapes)))
            report.error(f"inputs must have one shape, got {listing}")
            return NO_OUTPUT
        advice = "stack along a feature dim (1 or more)"
        dim = insert_dim(args.dim, first, report, "dim", advice)
        if dim is None:
            return NO_OUTPUT
        dims = [_agree(column) for column in columns]
        dims.insert(dim - 1, len(shapes))
        return Inferred(Shape(tuple(dims)))

    def describe(self, args: StackArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"

    def expression(self, args: StackArgs, operands: Sequence[Expr]) -> Expr:
        return call("torch.stack", list_of(*operands), Keyword("dim", Atom(literal(args.dim))))

    def evaluate(self, args: StackArgs, tensors: Sequence[Any]) -> Any:
        import torch

        return torch.stack(list(tensors), dim=args.dim)
