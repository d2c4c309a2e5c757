"""Tensor operations, named by their torch function: permute, transpose, reshape, unflatten,
squeeze, unsqueeze, select, narrow, roll, flip, pad, cumsum, and the reductions mean, sum,
amax, amin.

They have no parameters and, but for unflatten (``nn.Unflatten``), no module either: the
generated code calls the tensor method (``x.permute(0, 2, 3, 1)``). Dims count the batch as
dim 0, as in PyTorch, and none of them may move, index, pad, roll or reduce the batch.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from math import prod
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.layers.args import Bool, Float, Int, LayerArgs, PositiveInt, describe_value
from netspec.layers.base import (
    NO_OUTPUT,
    ArgsT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    valid,
)
from netspec.pysource import Atom, Bracketed, Expr, Keyword, call, literal
from netspec.shapes import Dim, Shape, format_dims

# --- argument types ------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_size(value: int) -> bool:
    return value >= 1 or value == -1


def _ints(
    expected: str,
    accepts: Callable[[int], bool] = lambda value: True,
    min_items: int = 1,
    scalar: bool = False,
) -> BeforeValidator:
    """A list of ints (a tuple once validated), or with ``scalar`` one int alone; one message
    for any wrong value instead of one per item and union member."""

    def validate(value: Any) -> Any:
        if scalar and _is_int(value) and accepts(value):
            return value
        listed = isinstance(value, list | tuple) and len(value) >= min_items
        if listed and all(_is_int(v) and accepts(v) for v in value):
            return tuple(value)
        raise PydanticCustomError(
            "int_list", "expected {expected}, got {got}",
            {"expected": expected, "got": describe_value(value)},
        )  # fmt: skip

    return BeforeValidator(validate)


def _array(item: dict[str, Any], min_items: int = 1) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": min_items}


INTEGER = {"type": "integer"}
SIZE = {"oneOf": [{"type": "integer", "minimum": 1}, {"const": -1}]}
DimList = Annotated[
    tuple[int, ...], _ints("a list of dims (integers)"), WithJsonSchema(_array(INTEGER))
]
DimOrDims = Annotated[
    int | tuple[int, ...],
    _ints("a dim or a list of dims (integers)", scalar=True),
    WithJsonSchema({"oneOf": [INTEGER, _array(INTEGER)]}),
]
SizeList = Annotated[
    tuple[int, ...],
    _ints("a list of sizes ≥ 1, one of them may be -1", _is_size),
    WithJsonSchema(_array(SIZE)),
]
ShiftOrShifts = Annotated[
    int | tuple[int, ...],
    _ints("a shift or a list of shifts (integers)", scalar=True),
    WithJsonSchema({"oneOf": [INTEGER, _array(INTEGER)]}),
]
PadList = Annotated[
    tuple[int, ...],
    _ints("a list of paddings (integers), two per dim", min_items=2),
    WithJsonSchema(_array(INTEGER, min_items=2)),
]


# --- shared rules ------------------------------------------------------------------------------


def _listed(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _feature_dim(dim: int, x: Shape, report: Reporter, arg: str, advice: str) -> int | None:
    """``dim`` as an index into the batched tensor, refusing the batch (reported, None)."""
    resolved = resolve_dim(dim, x, report, arg)
    if resolved == 0:
        report.error(f"{arg} {dim} is the batch; {advice}", arg=arg)
        return None
    return resolved


def _distinct_dims(
    dims: Sequence[int], x: Shape, report: Reporter, arg: str, distinct: bool = True
) -> list[int] | None:
    """Each dim of a list resolved (the batch is 0), none out of range or (where
    ``distinct``) named twice."""
    rank = x.rank + 1
    outside = [d for d in dims if not -rank <= d < rank]
    if outside:
        report.error(
            f"dim {outside[0]} in {arg} {_listed(dims)} is out of range for a {rank}-D tensor "
            f"{x.batched()}: expected {-rank} … {rank - 1}",
            arg=arg,
        )
        return None
    resolved = [d % rank for d in dims]
    twice = [d for d, count in Counter(resolved).items() if count > 1 and distinct]
    if twice:
        spellings = sorted({d for d in dims if d % rank == twice[0]}, reverse=True)
        spelled = "" if len(spellings) == 1 else f" (as {' and '.join(map(str, spellings))})"
        report.error(f"{arg} {_listed(dims)} names dim {twice[0]} twice{spelled}", arg=arg)
        return None
    return resolved


def _feature_dims(
    dims: int | tuple[int, ...],
    x: Shape,
    report: Reporter,
    arg: str,
    advice: str,
    distinct: bool = True,
) -> list[int] | None:
    """A dim or a list of dims resolved (the batch is 0), refusing the batch and, where
    ``distinct``, a dim named twice; None after reporting."""
    if isinstance(dims, int):
        one = resolve_dim(dims, x, report, arg)
        resolved = None if one is None else [one]
    else:
        resolved = _distinct_dims(dims, x, report, arg, distinct)
    if resolved is None:
        return None
    if 0 in resolved:
        named = dims if isinstance(dims, int) else dims[resolved.index(0)]
        report.error(f"{arg} {named} is the batch; {advice}", arg=arg)
        return None
    return resolved


def insert_dim(dim: int, x: Shape, report: Reporter, arg: str, advice: str) -> int | None:
    """A new dim's place in the batched result (one dim more than ``x`` batched; negatives
    count from its end), refusing the place of the batch; None after reporting."""
    rank = x.rank + 2
    if not -rank <= dim < rank:
        report.error(
            f"{arg} {dim} is out of range for a dim inserted into the {rank - 1}-D tensor "
            f"{x.batched()}: expected {-rank} … {rank - 1}",
            arg=arg,
        )
        return None
    if dim % rank == 0:
        report.error(f"{arg} {dim} would move the batch to dim 1; {advice}", arg=arg)
        return None
    return dim % rank


def _dims_text(dims: int | tuple[int, ...]) -> str:
    """``dim 1``, ``dims 2, 3``: a dim argument in a diagram."""
    if isinstance(dims, int):
        return f"dim {dims}"
    return ("dim " if len(dims) == 1 else "dims ") + ", ".join(map(str, dims))


def _fill_inferred(sizes: Sequence[int], total: Dim) -> tuple[Dim, ...]:
    """The sizes with their -1 worked out from ``total`` elements (None where unknown)."""
    known = prod(s for s in sizes if s != -1)
    inferred = None if total is None else total // known
    return tuple(inferred if s == -1 else s for s in sizes)


def _check_sizes(
    sizes: Sequence[int], total: Dim, report: Reporter, arg: str, whole: str, unit: str
) -> tuple[Dim, ...] | None:
    """``sizes`` (one may be -1) for the ``total`` elements of ``whole``: the sizes, or None
    after reporting a second -1 or a product that does not match."""
    if list(sizes).count(-1) > 1:
        report.error(
            f"{arg} {_listed(sizes)} has more than one -1; only one size can be inferred",
            arg=arg,
        )
        return None
    if total is None:
        return _fill_inferred(sizes, None)
    known = prod(s for s in sizes if s != -1)
    if -1 not in sizes and known != total:
        report.error(f"{arg} {_listed(sizes)} has {known}{unit}, {whole} has {total}", arg=arg)
        return None
    if total % known:
        report.error(
            f"{arg} {_listed(sizes)} cannot hold {whole}: its {total} elements are no multiple "
            f"of {known}",
            arg=arg,
        )
        return None
    return _fill_inferred(sizes, total)


def _method(operand: Expr, method: str, *items: Expr) -> Expr:
    """``x.method(items)`` on an input's variable."""
    return call(f"{operand.flat()}.{method}", *items)


def _int(value: int) -> Expr:
    return Atom(literal(value))


def _dims_value(dims: int | tuple[int, ...]) -> Expr:
    """A dim, or a tuple of dims that ruff can split like any call: ``(2, 3)``, ``(2,)``."""
    if isinstance(dims, int) or len(dims) == 1:
        return Atom(literal(dims))
    return Bracketed("", tuple(_int(d) for d in dims))


class _TensorOp(LayerKind[ArgsT]):
    """An operation on the one input: no module, no parameters, no multiply-adds."""

    family = "reshape"
    torch_class = None


# --- moving dims -------------------------------------------------------------------------------


class PermuteArgs(LayerArgs):
    dims: DimList = Field(
        description="the new order of every dim, the batch (0) first: [0, 2, 3, 1]"
    )


class Permute(_TensorOp[PermuteArgs]):
    name = "permute"
    summary = "reorders the dims (channels last: [0, 2, 3, 1])"
    shape_rule = (
        "dims names every dim of the batched tensor once (negatives count from the end); the "
        "batch, dim 0, stays first. Output dim i is input dim dims[i]. No params."
    )
    torch_expression = "x.permute"
    main_arg = "dims"
    aliases = ("Permute",)
    Args = PermuteArgs
    examples = (
        valid([0, 2, 3, 1], (3, 4, 5)),
        valid({"dims": [0, -1, 1]}, (3, 4)),
        invalid([0, 1, 1], (3, 4), error="dims [0, 1, 1] names dim 1 twice"),
        invalid([0, 2, 1], (3, 4, 5), error="dims [0, 2, 1] leaves out dim 3"),
        invalid([0, 3, 1], (3, 4), error="dim 3 in dims [0, 3, 1] is out of range"),
        invalid({"dims": 1}, (3, 4), error="dims: expected a list of dims"),
    )

    def infer(
        self, args: PermuteArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        order = _distinct_dims(args.dims, x, report, "dims")
        if order is None:
            return NO_OUTPUT
        rank = x.rank + 1
        missing = sorted(set(range(rank)) - set(order))
        if missing:
            report.error(
                f"dims {_listed(args.dims)} leaves out dim {missing[0]} of the {rank}-D tensor "
                f"{x.batched()}; name every dim once",
                arg="dims",
            )
            return NO_OUTPUT
        if order[0] != 0:
            report.error(
                f"dims {_listed(args.dims)} would move the batch; keep 0 first", arg="dims"
            )
            return NO_OUTPUT
        features = [d - 1 for d in order[1:]]
        return Inferred(
            Shape(tuple(x.dims[d] for d in features), tuple(x.origins[d] for d in features))
        )

    def describe(self, args: PermuteArgs, inputs: Sequence[Shape | None]) -> str:
        return ", ".join(str(d) for d in args.dims)

    def expression(self, args: PermuteArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "permute", *(_int(d) for d in args.dims))

    def evaluate(self, args: PermuteArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].permute(*args.dims)


class TransposeArgs(LayerArgs):
    dim0: Int = Field(description="a dim to swap, counting the batch as dim 0")
    dim1: Int = Field(description="the dim to swap it with")


class Transpose(_TensorOp[TransposeArgs]):
    name = "transpose"
    summary = "swaps two dims (tokens and channels: dim0 1, dim1 2)"
    shape_rule = (
        "Dims dim0 and dim1 (the batch is dim 0, which cannot be swapped; negatives count "
        "from the end) trade places. No params."
    )
    torch_expression = "x.transpose"
    aliases = ("swapaxes", "swapdims")
    Args = TransposeArgs
    examples = (
        valid({"dim0": 1, "dim1": 2}, (3, 4, 5)),
        valid({"dim0": -1, "dim1": -2}, (3, 4)),
        invalid({"dim0": 1, "dim1": 3}, (3, 4), error="dim1 3 is out of range"),
        invalid({"dim0": 1}, (3, 4), error="missing required argument 'dim1'"),
    )

    def infer(
        self, args: TransposeArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "transpose two feature dims (1 or more)"
        first = _feature_dim(args.dim0, x, report, "dim0", advice)
        second = _feature_dim(args.dim1, x, report, "dim1", advice)
        if first is None or second is None:
            return NO_OUTPUT
        order = list(range(x.rank))
        order[first - 1], order[second - 1] = order[second - 1], order[first - 1]
        return Inferred(Shape(tuple(x.dims[d] for d in order), tuple(x.origins[d] for d in order)))

    def describe(self, args: TransposeArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.dim0} ↔ {args.dim1}"

    def expression(self, args: TransposeArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "transpose", _int(args.dim0), _int(args.dim1))

    def evaluate(self, args: TransposeArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].transpose(args.dim0, args.dim1)


# --- new sizes ---------------------------------------------------------------------------------


class ReshapeArgs(LayerArgs):
    shape: SizeList = Field(
        description="the sizes after the batch; one may be -1, worked out from the others"
    )


class Reshape(_TensorOp[ReshapeArgs]):
    name = "reshape"
    summary = "gives each sample a new shape with the same elements (patches: [196, 768])"
    shape_rule = (
        "shape lists the sizes after the batch (which is kept); they multiply to the input's "
        "elements per sample, one of them may be -1 to be worked out. No params."
    )
    torch_expression = "x.reshape"
    main_arg = "shape"
    aliases = ("Reshape", "view")
    Args = ReshapeArgs
    examples = (
        valid([12, 5], (3, 4, 5)),
        valid({"shape": [2, -1, 1]}, (4, 6)),
        valid([-1], (3, 4)),
        invalid([7, -1], (3, 4), error="shape [7, -1] cannot hold the input 3×4"),
        invalid(
            [5, 5], (3, 4), error="shape [5, 5] has 25 elements per sample, the input 3×4 has 12"
        ),
        invalid([-1, -1], (3, 4), error="has more than one -1"),
        invalid({"shape": [0, 3]}, (3, 4), error="shape: expected a list of sizes ≥ 1"),
    )

    def infer(
        self, args: ReshapeArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        whole = f"the input {x}" if x.rank else "the input"
        unit = " elements per sample"
        dims = _check_sizes(args.shape, x.numel(), report, "shape", whole, unit)
        return NO_OUTPUT if dims is None else Inferred(Shape(dims))

    def describe(self, args: ReshapeArgs, inputs: Sequence[Shape | None]) -> str:
        x = inputs[0] if inputs else None
        return "to " + format_dims(_fill_inferred(args.shape, x.numel() if x else None))

    def expression(self, args: ReshapeArgs, operands: Sequence[Expr]) -> Expr:
        (x,) = operands
        batch = _method(x, "size", _int(0))
        return _method(x, "reshape", batch, *(_int(s) for s in args.shape))

    def evaluate(self, args: ReshapeArgs, tensors: Sequence[Any]) -> Any:
        (x,) = tensors
        return x.reshape(x.size(0), *args.shape)


class UnflattenArgs(LayerArgs):
    dim: Int = Field(description="the dim to split, counting the batch as dim 0")
    sizes: SizeList = Field(description="the sizes it becomes; one may be -1")


class Unflatten(LayerKind[UnflattenArgs]):
    name = "unflatten"
    family = "reshape"
    summary = "splits one dim into several (tokens back to a grid: dim 2, sizes [14, 14])"
    shape_rule = (
        "Dim dim (the batch is dim 0, which cannot be split; negatives count from the end) "
        "becomes the sizes, which multiply to its size; one may be -1. No params."
    )
    torch_class = "Unflatten"
    torch_positional = ("dim", "sizes")
    Args = UnflattenArgs
    examples = (
        valid({"dim": 2, "sizes": [4, 4]}, (3, 16)),
        valid({"dim": -1, "sizes": [2, -1]}, (3, 6)),
        valid({"dim": 1, "sizes": [3, 1]}, (3, 2, 2)),
        invalid(
            {"dim": 1, "sizes": [4, 5]}, (16, 3), error="sizes [4, 5] has 20 elements, dim 1 has 16"
        ),
        invalid(
            {"dim": 2, "sizes": [4, -1]},
            (3, 6),
            error="cannot hold dim 2: its 6 elements are no multiple of 4",
        ),
        invalid({"dim": 3, "sizes": [2, 2]}, (3, 4), error="dim 3 is out of range"),
    )

    def infer(
        self, args: UnflattenArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "unflatten a feature dim (1 or more)"
        dim = _feature_dim(args.dim, x, report, "dim", advice)
        if dim is None:
            return NO_OUTPUT
        size = x.dims[dim - 1]
        sizes = _check_sizes(args.sizes, size, report, "sizes", f"dim {args.dim}", " elements")
        if sizes is None:
            return NO_OUTPUT
        return Inferred(Shape((*x.dims[: dim - 1], *sizes, *x.dims[dim:])))

    def describe(self, args: UnflattenArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim} → {format_dims(args.sizes)}"


class SqueezeArgs(LayerArgs):
    dim: DimOrDims = Field(
        description="the dim or dims of size 1 to remove, counting the batch as dim 0"
    )


class Squeeze(_TensorOp[SqueezeArgs]):
    name = "squeeze"
    summary = "removes dims of size 1 (a 1×1 grid after pooling: dim [2, 3])"
    shape_rule = (
        "Each dim in dim (an int or a list; not the batch, dim 0; negatives count from the "
        "end) must have size 1 and is removed; PyTorch would silently keep a larger one, "
        "netspec refuses it. No params."
    )
    torch_expression = "x.squeeze"
    main_arg = "dim"
    Args = SqueezeArgs
    examples = (
        valid(1, (1, 5)),
        valid([2, -1], (4, 1, 1)),
        invalid(3, (1, 5), error="dim 3 is out of range"),
        invalid([1, -2], (1, 1), error="dim [1, -2] names dim 1 twice (as 1 and -2)"),
        invalid({"dim": "all"}, (1, 5), error="dim: expected a dim or a list of dims"),
    )

    def infer(
        self, args: SqueezeArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "squeeze feature dims (1 or more)"
        removed = _feature_dims(args.dim, x, report, "dim", advice)
        if removed is None:
            return NO_OUTPUT
        for index, dim in enumerate(removed):
            size = x.dims[dim - 1]
            if size not in (1, None):  # an unknown size: the spec says it is 1
                named = args.dim if isinstance(args.dim, int) else args.dim[index]
                report.error(
                    f"dim {named} has size {size}: squeeze removes only dims of size 1 "
                    "(PyTorch would silently keep it)",
                    arg="dim",
                )
                return NO_OUTPUT
        kept = [i for i in range(x.rank) if i + 1 not in removed]
        return Inferred(Shape(tuple(x.dims[i] for i in kept), tuple(x.origins[i] for i in kept)))

    def describe(self, args: SqueezeArgs, inputs: Sequence[Shape | None]) -> str:
        return _dims_text(args.dim)

    def expression(self, args: SqueezeArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "squeeze", _dims_value(args.dim))

    def evaluate(self, args: SqueezeArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].squeeze(args.dim)


class UnsqueezeArgs(LayerArgs):
    dim: Int = Field(
        description="where the new dim of size 1 goes in the result, counting the batch as "
        "dim 0 (negatives count from the result's end)"
    )


class Unsqueeze(_TensorOp[UnsqueezeArgs]):
    name = "unsqueeze"
    summary = "inserts a dim of size 1 (a token dim: dim 1)"
    shape_rule = (
        "A dim of size 1 is inserted so that it is dim dim of the result (not 0, the batch's "
        "place; negatives count from the result's end). No params."
    )
    torch_expression = "x.unsqueeze"
    main_arg = "dim"
    aliases = ("expand_dims",)
    Args = UnsqueezeArgs
    examples = (
        valid(1, (3, 4)),
        valid(-1, (3, 4)),
        valid({"dim": 3}, (5, 6)),
        invalid(4, (3, 4), error="dim 4 is out of range for a dim inserted into the 3-D tensor"),
        invalid(-5, (3, 4), error="expected -4 … 3"),
    )

    def infer(
        self, args: UnsqueezeArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "unsqueeze at a feature dim (1 or more)"
        dim = insert_dim(args.dim, x, report, "dim", advice)
        if dim is None:
            return NO_OUTPUT
        at = dim - 1
        return Inferred(
            Shape((*x.dims[:at], 1, *x.dims[at:]), (*x.origins[:at], None, *x.origins[at:]))
        )

    def describe(self, args: UnsqueezeArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"

    def expression(self, args: UnsqueezeArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "unsqueeze", _int(args.dim))

    def evaluate(self, args: UnsqueezeArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].unsqueeze(args.dim)


# --- picking ----------------------------------------------------------------------------------


class SelectArgs(LayerArgs):
    dim: Int = Field(description="the dim to pick from, counting the batch as dim 0")
    index: Int = Field(description="the position picked (negatives count from the end)")


class Select(_TensorOp[SelectArgs]):
    name = "select"
    summary = "picks one position of a dim and drops that dim (a class token: dim 1, index 0)"
    shape_rule = (
        "Dim dim (not the batch, dim 0) is removed; index must lie in [−size, size − 1]. No params."
    )
    torch_expression = "x.select"
    Args = SelectArgs
    examples = (
        valid({"dim": 1, "index": 0}, (5, 8)),
        valid({"dim": -1, "index": -1}, (3, 4, 5)),
        invalid({"dim": 2, "index": 5}, (3, 5), error="index 5 is out of range for dim 2"),
        invalid({"dim": 3, "index": 0}, (3, 5), error="dim 3 is out of range"),
    )

    def infer(self, args: SelectArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        dim = _feature_dim(args.dim, x, report, "dim", "select from a feature dim (1 or more)")
        if dim is None:
            return NO_OUTPUT
        size = x.dims[dim - 1]
        if size is not None and not -size <= args.index < size:
            report.error(
                f"index {args.index} is out of range for dim {args.dim} of size {size}: "
                f"expected {-size} … {size - 1}",
                arg="index",
            )
            return NO_OUTPUT
        kept = [d for d in range(x.rank) if d != dim - 1]
        return Inferred(Shape(tuple(x.dims[d] for d in kept), tuple(x.origins[d] for d in kept)))

    def describe(self, args: SelectArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}, index {args.index}"

    def expression(self, args: SelectArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "select", _int(args.dim), _int(args.index))

    def evaluate(self, args: SelectArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].select(args.dim, args.index)


class NarrowArgs(LayerArgs):
    dim: Int = Field(description="the dim to cut, counting the batch as dim 0")
    start: Int = Field(description="the first position kept (negatives count from the end)")
    length: PositiveInt = Field(description="how many positions are kept")


class Narrow(_TensorOp[NarrowArgs]):
    name = "narrow"
    summary = "keeps length positions of a dim from start (a crop)"
    shape_rule = (
        "Dim dim (not the batch, dim 0) becomes length; start must lie in [−size, size] and "
        "start + length within the size. No params."
    )
    torch_expression = "x.narrow"
    Args = NarrowArgs
    examples = (
        valid({"dim": 2, "start": 1, "length": 3}, (3, 5)),
        valid({"dim": -1, "start": -2, "length": 2}, (3, 4, 5)),
        invalid({"dim": 2, "start": 3, "length": 3}, (3, 5), error="start 3 + length 3 = 6"),
        invalid({"dim": 1, "start": -4, "length": 1}, (3, 5), error="start -4 is out of range"),
        invalid({"dim": 1, "start": 0, "length": 0}, (3, 5), error="length: must be ≥ 1"),
    )

    def infer(self, args: NarrowArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        dim = _feature_dim(args.dim, x, report, "dim", "narrow a feature dim (1 or more)")
        if dim is None:
            return NO_OUTPUT
        size = x.dims[dim - 1]
        if size is not None:
            where = f"dim {args.dim} of size {size}"
            if not -size <= args.start <= size:
                report.error(
                    f"start {args.start} is out of range for {where}: expected {-size} … {size}",
                    arg="start",
                )
                return NO_OUTPUT
            first = args.start % size if args.start < 0 else args.start
            if first + args.length > size:
                shown = f"start {args.start}" + (f" ({first})" if first != args.start else "")
                report.error(
                    f"{shown} + length {args.length} = {first + args.length} runs past {where}",
                    arg="length",
                )
                return NO_OUTPUT
        dims = list(x.dims)
        dims[dim - 1] = args.length
        return Inferred(Shape(tuple(dims)))

    def describe(self, args: NarrowArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}, start {args.start}, length {args.length}"

    def expression(self, args: NarrowArgs, operands: Sequence[Expr]) -> Expr:
        items = (_int(args.dim), _int(args.start), _int(args.length))
        return _method(operands[0], "narrow", *items)

    def evaluate(self, args: NarrowArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].narrow(args.dim, args.start, args.length)


# --- rearranging -------------------------------------------------------------------------------


class RollArgs(LayerArgs):
    shifts: ShiftOrShifts = Field(
        description="how far each dim of dims moves (negatives move back); one per dim"
    )
    dims: DimOrDims = Field(description="the dim or dims to roll, counting the batch as dim 0")


def _count(values: int | tuple[int, ...]) -> int:
    return 1 if isinstance(values, int) else len(values)


class Roll(_TensorOp[RollArgs]):
    name = "roll"
    summary = "shifts positions along dims, wrapping around (Swin's shifted windows)"
    shape_rule = (
        "shifts and dims (an int or a list each, of one length; not the batch, dim 0; a dim "
        "may repeat) shift the positions cyclically; the shape is unchanged. No params."
    )
    torch_expression = "x.roll"
    Args = RollArgs
    examples = (
        valid({"shifts": [-3, -3], "dims": [1, 2]}, (7, 7, 8)),
        valid({"shifts": 2, "dims": -1}, (3, 5)),
        valid({"shifts": [1, 1], "dims": [2, 2]}, (3, 5)),
        invalid({"shifts": 1, "dims": [1, 2]}, (3, 5), error="1 shift for 2 dims"),
        invalid({"shifts": 1, "dims": 3}, (3, 5), error="dims 3 is out of range"),
        invalid({"shifts": 1}, (3, 5), error="missing required argument 'dims'"),
    )

    def infer(self, args: RollArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        shifts, dims = _count(args.shifts), _count(args.dims)
        if shifts != dims:
            report.error(
                f"shifts and dims must align, one shift per dim: {shifts} "
                f"shift{'s' if shifts > 1 else ''} for {dims} dim{'s' if dims > 1 else ''}",
                arg="shifts",
            )
            return NO_OUTPUT
        if x is None:
            return NO_OUTPUT
        advice = "roll feature dims (1 or more)"
        if _feature_dims(args.dims, x, report, "dims", advice, distinct=False) is None:
            return NO_OUTPUT
        return Inferred(x)

    def describe(self, args: RollArgs, inputs: Sequence[Shape | None]) -> str:
        shifts = args.shifts if isinstance(args.shifts, int) else ", ".join(map(str, args.shifts))
        return f"by {shifts}, {_dims_text(args.dims)}"

    def expression(self, args: RollArgs, operands: Sequence[Expr]) -> Expr:
        shifts = Keyword("shifts", _dims_value(args.shifts))
        return _method(operands[0], "roll", shifts, Keyword("dims", _dims_value(args.dims)))

    def evaluate(self, args: RollArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].roll(shifts=args.shifts, dims=args.dims)


class FlipArgs(LayerArgs):
    dims: DimOrDims = Field(description="the dim or dims to reverse, counting the batch as dim 0")


class Flip(_TensorOp[FlipArgs]):
    name = "flip"
    summary = "reverses the order of positions along dims (a mirror image: dims 3)"
    shape_rule = (
        "Each dim in dims (an int or a list; not the batch, dim 0; negatives count from the "
        "end) is reversed; the shape is unchanged. No params."
    )
    torch_expression = "x.flip"
    main_arg = "dims"
    Args = FlipArgs
    examples = (
        valid(-1, (3, 4, 5)),
        valid([1, 2], (3, 4)),
        invalid([1, -2], (3, 4), error="dims [1, -2] names dim 1 twice"),
        invalid(3, (3, 4), error="dims 3 is out of range"),
    )

    def infer(self, args: FlipArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "flip feature dims (1 or more)"
        if _feature_dims(args.dims, x, report, "dims", advice) is None:
            return NO_OUTPUT
        return Inferred(x)

    def describe(self, args: FlipArgs, inputs: Sequence[Shape | None]) -> str:
        return _dims_text(args.dims)

    def expression(self, args: FlipArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "flip", _dims_value(args.dims))

    def evaluate(self, args: FlipArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].flip(args.dims)


# --- padding -----------------------------------------------------------------------------------

PadMode = Literal["constant", "reflect", "replicate", "circular"]
# The inputs the modes other than constant take, by the number of dims padded (batch excluded;
# PyTorch reads a batched L as an unbatched C×L, which pads the same way).
COPYING_LAYOUTS = {1: "L or C×L", 2: "H×W or C×H×W", 3: "D×H×W or C×D×H×W"}


class PadArgs(LayerArgs):
    pad: PadList = Field(
        description="(left, right) pairs, last dim first, as torch.nn.functional.pad: "
        "[1, 1, 2, 2] pads W by 1 and H by 2 on each side; negative values crop"
    )
    mode: PadMode = Field("constant", description="how the new positions are filled")
    value: Float | None = Field(None, description="the fill of constant mode (default 0)")


def _terms(size: int, left: int, right: int) -> str:
    """``5 + 1 − 2``: a size and its paddings, as the arithmetic reads."""
    return f"{size}" + "".join(f" {'−' if p < 0 else '+'} {abs(p)}" for p in (left, right))


class Pad(_TensorOp[PadArgs]):
    name = "pad"
    summary = "pads (or crops) the last dims, as torch.nn.functional.pad"
    shape_rule = (
        "pad holds (left, right) pairs for the last dims, last dim first, never the batch; "
        "each size becomes size + left + right (≥ 1). reflect pads less than the size, "
        "circular at most the size; the modes but constant pad 1 to 3 dims of an input with "
        "at most one more dim. No params."
    )
    torch_expression = "nn.functional.pad"
    main_arg = "pad"
    Args = PadArgs
    examples = (
        valid([1, 1, 2, 2], (3, 4, 5)),
        valid({"pad": [2, 1], "mode": "reflect"}, (3, 4)),
        valid({"pad": [1, 0, 0, 1], "mode": "replicate"}, (2, 3, 3)),
        valid({"pad": [3, 3, 0, 1], "mode": "circular"}, (2, 3, 3)),
        valid({"pad": [0, 1, 1, 0, 2, 2], "value": 0.5}, (2, 3, 3)),
        valid({"pad": [-1, 2]}, (2, 5)),
        invalid({"pad": [4, 0], "mode": "reflect"}, (3, 4), error="reflect pads less than"),
        invalid({"pad": [1, 1, 1]}, (3, 4), error="pad [1, 1, 1] has 3 values"),
        invalid([1, 1, 1, 1, 1, 1, 1, 1], (3, 4), error="pad has 4 (left, right) pairs"),
        invalid({"pad": [1, 1], "mode": "reflect"}, (2, 3, 4), error="reflect padding of 1 dim"),
        invalid({"pad": [1, 1], "mode": "reflect", "value": 1.0}, (3, 4), error="value only"),
        invalid({"pad": [4, 0], "mode": "circular"}, (3, 3), error="circular pads at most"),
        invalid({"pad": [1, -3]}, (3, 1), error="crops 3 from dim 2 of size 1"),
    )

    def infer(self, args: PadArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if args.value is not None and args.mode != "constant":
            report.error(f"value only applies to constant mode, not '{args.mode}'", arg="value")
            return NO_OUTPUT
        if len(args.pad) % 2:
            report.error(
                f"pad {_listed(args.pad)} has {len(args.pad)} values; it takes a (left, right) "
                "pair per dim, last dim first",
                arg="pad",
            )
            return NO_OUTPUT
        if x is None:
            return NO_OUTPUT
        pairs = len(args.pad) // 2
        if pairs > x.rank:
            report.error(
                f"pad has {pairs} (left, right) pairs, more than the {x.rank} dims of {x} "
                "(the batch is never padded)",
                arg="pad",
            )
            return NO_OUTPUT
        if args.mode != "constant" and (pairs > 3 or x.rank not in (pairs, pairs + 1)):
            layouts = COPYING_LAYOUTS.get(pairs)
            wanted = f"needs an {layouts} input" if layouts else "is not supported"
            counted = f"{pairs} dim" + ("" if pairs == 1 else "s")
            report.error(f"{args.mode} padding of {counted} {wanted}, got {x}", arg="mode")
            return NO_OUTPUT
        dims = list(x.dims)
        problems = []
        for index in range(pairs):
            left, right = args.pad[2 * index], args.pad[2 * index + 1]
            axis = x.rank - 1 - index
            size = dims[axis]
            if size is None:
                continue
            problem = self._problem(args.mode, size, left, right, f"dim {axis + 1}")
            if problem:
                problems.append(problem)
            dims[axis] = size + left + right
        if problems:
            report.error("; ".join(problems), arg="pad")
            return NO_OUTPUT
        return Inferred(Shape(tuple(dims)))

    @staticmethod
    def _problem(mode: PadMode, size: int, left: int, right: int, where: str) -> str | None:
        """What PyTorch (or netspec, for an empty result) refuses in one dim's padding."""
        largest = max(left, right)
        if mode == "reflect" and largest >= size:
            return f"reflect pads less than the size: {largest} at {where} of size {size}"
        if mode == "circular" and largest > size:
            return f"circular pads at most the size: {largest} at {where} of size {size}"
        cropped = -min(left, 0) - min(right, 0)
        if mode == "constant" and cropped > size:
            return f"pad crops {cropped} from {where} of size {size}"
        if size + left + right < 1:
            return f"{where}: {_terms(size, left, right)} = {size + left + right}, must be ≥ 1"
        return None

    def describe(self, args: PadArgs, inputs: Sequence[Shape | None]) -> str:
        text = ", ".join(str(p) for p in args.pad)
        return text if args.mode == "constant" else f"{text}, {args.mode}"

    def expression(self, args: PadArgs, operands: Sequence[Expr]) -> Expr:
        if args.mode not in self.option_words:
            raise ValueError(f"pad: mode={args.mode!r} is not one of its option words")
        items: list[Expr] = [operands[0], Bracketed("", tuple(_int(p) for p in args.pad))]
        if args.mode != "constant":
            items.append(Keyword("mode", Atom(literal(args.mode))))
        if args.value is not None:
            items.append(Keyword("value", Atom(literal(args.value))))
        return call("nn.functional.pad", *items)

    def evaluate(self, args: PadArgs, tensors: Sequence[Any]) -> Any:
        from torch import nn

        keywords: dict[str, Any] = {}
        if args.mode != "constant":
            keywords["mode"] = args.mode
        if args.value is not None:
            keywords["value"] = args.value
        return nn.functional.pad(tensors[0], args.pad, **keywords)


# --- reductions --------------------------------------------------------------------------------


class ReductionArgs(LayerArgs):
    dim: DimOrDims = Field(description="the dim or dims to reduce, counting the batch as dim 0")
    keepdim: Bool = Field(False, description="keep each reduced dim with size 1")


class _Reduction(_TensorOp[ReductionArgs]):
    """``x.<name>(dim=…)``: the kind's name is the tensor method."""

    family = "reduce"
    shape_rule = (
        "Each dim in dim (an int or a list; not the batch, dim 0; negatives count from the "
        "end) is removed, or kept with size 1 with keepdim. No params."
    )
    main_arg = "dim"
    Args = ReductionArgs

    def infer(
        self, args: ReductionArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = f"{self.name} over feature dims (1 or more)"
        reduced = _feature_dims(args.dim, x, report, "dim", advice)
        if reduced is None:
            return NO_OUTPUT
        axes = {d - 1 for d in reduced}
        if args.keepdim:
            return Inferred(Shape(tuple(1 if i in axes else d for i, d in enumerate(x.dims))))
        kept = [i for i in range(x.rank) if i not in axes]
        return Inferred(Shape(tuple(x.dims[i] for i in kept), tuple(x.origins[i] for i in kept)))

    def describe(self, args: ReductionArgs, inputs: Sequence[Shape | None]) -> str:
        return _dims_text(args.dim) + (", keepdim" if args.keepdim else "")

    def expression(self, args: ReductionArgs, operands: Sequence[Expr]) -> Expr:
        items: list[Expr] = [Keyword("dim", _dims_value(args.dim))]
        if args.keepdim:
            items.append(Keyword("keepdim", Atom(literal(True))))
        return _method(operands[0], self.name, *items)

    def evaluate(self, args: ReductionArgs, tensors: Sequence[Any]) -> Any:
        return getattr(tensors[0], self.name)(dim=args.dim, keepdim=args.keepdim)


class Mean(_Reduction):
    name = "mean"
    summary = "the mean over dim (global average pooling: dim [2, 3])"
    torch_expression = "x.mean"
    aliases = ("reduce_mean",)
    examples = (
        valid([2, 3], (8, 5, 5)),
        valid({"dim": -1, "keepdim": True}, (3, 4)),
        invalid([1, -2], (3, 4), error="dim [1, -2] names dim 1 twice (as 1 and -2)"),
        invalid(3, (3, 4), error="dim 3 is out of range"),
    )


class Sum(_Reduction):
    name = "sum"
    summary = "the sum over dim"
    torch_expression = "x.sum"
    aliases = ("reduce_sum",)
    examples = (
        valid(1, (3, 4)),
        valid({"dim": [1, 2], "keepdim": True}, (3, 4, 5)),
        invalid({"dim": []}, (3, 4), error="dim: expected a dim or a list of dims"),
    )


class Amax(_Reduction):
    name = "amax"
    summary = "the maximum over dim (global max pooling: dim [2, 3])"
    torch_expression = "x.amax"
    aliases = ("reduce_max",)
    examples = (
        valid([2, 3], (8, 5, 5)),
        valid({"dim": 1, "keepdim": True}, (3, 4)),
        invalid([-1, 2], (3, 4), error="names dim 2 twice"),
    )


class Amin(_Reduction):
    name = "amin"
    summary = "the minimum over dim"
    torch_expression = "x.amin"
    aliases = ("reduce_min",)
    examples = (
        valid(-1, (3, 4)),
        valid({"dim": [1], "keepdim": True}, (3, 4)),
        invalid(-4, (3, 4), error="dim -4 is out of range"),
    )


class CumsumArgs(LayerArgs):
    dim: Int = Field(description="the dim to sum along, counting the batch as dim 0")


class Cumsum(_TensorOp[CumsumArgs]):
    name = "cumsum"
    family = "reduce"
    summary = "the running sum along dim: each position holds the sum up to it"
    shape_rule = (
        "Dim dim (not the batch, dim 0; negatives count from the end) is summed cumulatively; "
        "the shape is unchanged. No params."
    )
    torch_expression = "x.cumsum"
    main_arg = "dim"
    Args = CumsumArgs
    examples = (
        valid(1, (3, 4)),
        valid(-1, (2, 3, 4)),
        invalid(3, (3, 4), error="dim 3 is out of range"),
        invalid({"dim": [1, 2]}, (3, 4), error="dim: expected an integer, got [1, 2]"),
    )

    def infer(self, args: CumsumArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        advice = "cumsum along a feature dim (1 or more)"
        if _feature_dim(args.dim, x, report, "dim", advice) is None:
            return NO_OUTPUT
        return Inferred(x)

    def describe(self, args: CumsumArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"

    def expression(self, args: CumsumArgs, operands: Sequence[Expr]) -> Expr:
        return _method(operands[0], "cumsum", Keyword("dim", _int(args.dim)))

    def evaluate(self, args: CumsumArgs, tensors: Sequence[Any]) -> Any:
        return tensors[0].cumsum(dim=args.dim)
