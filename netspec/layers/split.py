"""Layers with several outputs along one dim: split and chunk, read as ``from: name.k``."""

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from netspec.layers.args import Int, LayerArgs, PositiveInt
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    valid,
)
from netspec.pysource import Atom, Expr, Keyword, call, literal
from netspec.shapes import Shape


def _along(x: Shape, dim: int, report: Reporter, kind: str) -> int | None:
    """The index into ``x.dims`` of a spec's dim (never the batch), or None after an error."""
    axis = resolve_dim(dim, x, report, "dim")
    if axis == 0:
        report.error(f"dim 0 is the batch: {kind} along a feature dim, e.g. 1", "dim")
        return None
    return None if axis is None else axis - 1


def _parts(x: Shape, axis: int, sizes: Sequence[int | None]) -> Inferred:
    shapes = [Shape((*x.dims[:axis], size, *x.dims[axis + 1 :])) for size in sizes]
    return Inferred(shapes[0], {}, 0, tuple(shapes[1:]))


class SplitArgs(LayerArgs):
    split_size_or_sections: tuple[PositiveInt, ...] = Field(
        description="the sizes of the parts, in order; they must add up to the dim's size",
        min_length=2,
    )
    dim: Int = Field(1, description="dim to split, counting the batch as dim 0")


class Split(LayerKind[SplitArgs]):
    name = "split"
    family = "reshape"
    summary = "cuts its input along dim into parts of the given sizes: outputs name.0, name.1, …"
    shape_rule = (
        "The sizes must add up to the input's size along dim (not the batch); output k has "
        "the k-th size there. Read output k as `from: name.k` (`name` alone is output 0)."
    )
    torch_class = None
    torch_expression = "torch.split"
    main_arg = "split_size_or_sections"
    input_dtypes = frozenset({"float32", "long"})
    Args = SplitArgs
    examples = (
        valid([2, 6], (8, 5, 5)),
        valid({"split_size_or_sections": [1, 1, 2], "dim": -1}, (3, 4)),
        invalid([2, 2], (8, 5, 5), error="sizes 2 + 2 = 4 do not add up to dim 1's size, 8"),
        invalid({"split_size_or_sections": [4, 4], "dim": 0}, (8,), error="dim 0 is the batch"),
    )

    def output_count(self, args: SplitArgs) -> int:
        return len(args.split_size_or_sections)

    def infer(self, args: SplitArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        axis = _along(x, args.dim, report, "split")
        if axis is None:
            return NO_OUTPUT
        sizes = args.split_size_or_sections
        total, size = sum(sizes), x.dims[axis]
        if size is not None and total != size:
            report.error(
                f"sizes {' + '.join(map(str, sizes))} = {total} do not add up to dim "
                f"{args.dim}'s size, {size}",
                "split_size_or_sections",
            )
            return NO_OUTPUT
        return _parts(x, axis, sizes)

    def describe(self, args: SplitArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{' | '.join(map(str, args.split_size_or_sections))} along dim {args.dim}"

    def expression(self, args: SplitArgs, operands: Sequence[Expr]) -> Expr:
        sizes = Atom(literal(tuple(args.split_size_or_sections)))
        return call("torch.split", operands[0], sizes, Keyword("dim", Atom(literal(args.dim))))

    def evaluate(self, args: SplitArgs, tensors: Sequence[Any]) -> Any:
        import torch

        return torch.split(tensors[0], list(args.split_size_or_sections), dim=args.dim)


class ChunkArgs(LayerArgs):
    chunks: PositiveInt = Field(description="how many equal parts")
    dim: Int = Field(1, description="dim to cut, counting the batch as dim 0")


class Chunk(LayerKind[ChunkArgs]):
    name = "chunk"
    family = "reshape"
    summary = "cuts its input along dim into equal parts: outputs name.0, name.1, …"
    shape_rule = (
        "As torch.chunk: each output has ⌈size / chunks⌉ along dim (not the batch), the last "
        "what is left; where that makes fewer than chunks parts (6 in 4 is 3 of 2) it is an "
        "error, as the spec reads chunks outputs. Read output k as `from: name.k`."
    )
    torch_class = None
    torch_expression = "torch.chunk"
    main_arg = "chunks"
    input_dtypes = frozenset({"float32", "long"})
    Args = ChunkArgs
    examples = (
        valid(2, (116, 28, 28)),
        valid({"chunks": 3, "dim": -1}, (4, 6)),
        valid(2, (3,)),
        invalid({"chunks": 2, "dim": 3}, (6, 2), error="dim 3 is out of range"),
        invalid({"chunks": 0}, (6,), error="chunks: must be ≥ 1, got 0"),
    )

    def output_count(self, args: ChunkArgs) -> int:
        return args.chunks

    def infer(self, args: ChunkArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        axis = _along(x, args.dim, report, "chunk")
        if axis is None:
            return NO_OUTPUT
        size = x.dims[axis]
        if size is None:
            return _parts(x, axis, [None] * args.chunks)
        # torch.chunk's rule: chunks of ⌈size / chunks⌉, the last one smaller. Written with
        # + and // so that inside a block's class the sizes stay expressions of its input.
        part = (size + (args.chunks - 1)) // args.chunks
        count = (int(size) + int(part) - 1) // int(part)
        if count != args.chunks:
            report.error(
                f"dim {args.dim}'s size {size} in chunks of {part} gives {count}, not "
                f"{args.chunks}: torch.chunk returns fewer chunks than asked",
                "chunks",
            )
            return NO_OUTPUT
        return _parts(x, axis, [part] * (count - 1) + [size - part * (count - 1)])

    def describe(self, args: ChunkArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.chunks} along dim {args.dim}"

    def expression(self, args: ChunkArgs, operands: Sequence[Expr]) -> Expr:
        chunks = Atom(literal(args.chunks))
        return call("torch.chunk", operands[0], chunks, Keyword("dim", Atom(literal(args.dim))))

    def evaluate(self, args: ChunkArgs, tensors: Sequence[Any]) -> Any:
        import torch

        return torch.chunk(tensors[0], args.chunks, dim=args.dim)
