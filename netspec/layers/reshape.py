"""Layers that only move sizes around: flatten, identity."""

from collections.abc import Sequence
from math import prod

from pydantic import Field

from netspec.layers.args import Int, LayerArgs, NoArgs
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    same_shape,
    valid,
)
from netspec.shapes import Shape, format_dims


class FlattenArgs(LayerArgs):
    start_dim: Int = Field(1, description="first dim to flatten, counting the batch as dim 0")
    end_dim: Int = Field(-1, description="last dim to flatten")


class Flatten(LayerKind[FlattenArgs]):
    name = "flatten"
    family = "reshape"
    summary = "merge dims start_dim … end_dim into one"
    shape_rule = (
        "Dims start_dim … end_dim (the batch is dim 0; negatives count from the end) become "
        "their product; start_dim 0 would merge the batch and is rejected."
    )
    torch_class = "Flatten"
    main_arg = "start_dim"
    Args = FlattenArgs
    examples = (
        valid(None, (16, 5, 5)),
        valid({"start_dim": 2}, (3, 4, 5)),
        valid({"start_dim": 1, "end_dim": 2}, (3, 4, 5)),
        invalid({"start_dim": 3}, (3, 4), error="start_dim 3 is out of range"),
    )

    def infer(
        self, args: FlattenArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        start = resolve_dim(args.start_dim, x, report, "start_dim")
        end = resolve_dim(args.end_dim, x, report, "end_dim")
        if start is None or end is None:
            return NO_OUTPUT
        if start > end:
            report.error(
                f"start_dim {args.start_dim} comes after end_dim {args.end_dim} "
                f"for a {x.rank + 1}-D tensor {x.batched()}",
                arg="start_dim",
            )
            return NO_OUTPUT
        if start == 0:
            report.error(
                "start_dim 0 would merge the batch into the features; use start_dim ≥ 1",
                arg="start_dim",
            )
            return NO_OUTPUT
        merged = x.dims[start - 1 : end]
        if len(merged) == 1:
            return same_shape(x)
        known = [dim for dim in merged if dim is not None]
        size = prod(known) if len(known) == len(merged) else None
        dims = (*x.dims[: start - 1], size, *x.dims[end:])
        origins = (*x.origins[: start - 1], format_dims(merged), *x.origins[end:])
        return Inferred(Shape(dims, origins))

    def describe(self, args: FlattenArgs, inputs: Sequence[Shape | None]) -> str:
        if (args.start_dim, args.end_dim) == (1, -1):
            return ""
        return f"dims {args.start_dim} … {args.end_dim}"


class Identity(LayerKind[NoArgs]):
    name = "identity"
    family = "reshape"
    summary = "passes its input through unchanged (a placeholder or a named tap)"
    shape_rule = "Output shape = input shape."
    torch_class = "Identity"
    Args = NoArgs
    examples = (
        valid(None, (3, 4)),
        valid({}, (2,)),
        invalid({"size": 3}, (3,), error="unknown argument 'size'"),
    )

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        return same_shape(inputs[0])
