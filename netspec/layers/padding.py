"""Padding modules: zero, constant, reflection, replication and circular padding of the last 1,
2 or 3 dims (``nn.ZeroPad2d``, ``nn.ReflectionPad1d``…).

``padding`` is one int for every side, or (left, right, top, bottom, front, back) as PyTorch
reads it: the last dim first. Negative values crop, as in PyTorch. The ``pad`` tensor operation
does the same through ``torch.nn.functional.pad``.
"""

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.layers.args import SPATIAL_NAMES, Float, LayerArgs, describe_value
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    expect_rank,
    invalid,
    valid,
)
from netspec.shapes import Dim, Shape

LAYOUTS = {1: "C×L", 2: "C×H×W", 3: "C×D×H×W"}
SIDES = ("left", "right", "top", "bottom", "front", "back")
Mode = Literal["constant", "reflect", "replicate", "circular"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def Padding(dims: int) -> Any:  # noqa: N802 - a type factory
    """One int for every side, or a list of 2·dims ints, last dim first (as PyTorch)."""
    count = 2 * dims
    sides = ", ".join(SIDES[:count])

    def validate(value: Any) -> int | tuple[int, ...]:
        if _is_int(value):
            return value
        if isinstance(value, list | tuple) and len(value) == count and all(map(_is_int, value)):
            return tuple(value)
        raise PydanticCustomError(
            "padding",
            "expected an integer or a list of {count} integers ({sides}), got {got}",
            {"count": count, "sides": sides, "got": describe_value(value)},
        )

    item = {"type": "integer"}
    schema = {
        "description": f"added to every side, or per side ({sides}); negative values crop",
        "oneOf": [item, {"type": "array", "items": item, "minItems": count, "maxItems": count}],
    }
    return Annotated[int | tuple[int, ...], BeforeValidator(validate), WithJsonSchema(schema)]


class PadArgs(LayerArgs):
    """What every padding kind takes; each kind's model checks the count for its dims."""

    padding: int | tuple[int, ...]


def _pad_args(dims: int, constant: bool) -> type[PadArgs]:
    sides = ", ".join(SIDES[: 2 * dims])

    class PadNdArgs(PadArgs):
        padding: Padding(dims) = Field(  # type: ignore[valid-type]
            description=f"added to every side, or per side ({sides}); negative values crop"
        )

    class ConstantPadNdArgs(PadNdArgs):
        value: Float = Field(description="the fill of the new positions")

    model = ConstantPadNdArgs if constant else PadNdArgs
    model.__name__ = model.__qualname__ = f"{'Constant' if constant else ''}Pad{dims}dArgs"
    return model


def _sum(size: int, left: int, right: int) -> str:
    """``5 + 3 − 1``: a size and its two paddings, as the arithmetic reads."""
    return f"{size}" + "".join(f" {'−' if p < 0 else '+'} {abs(p)}" for p in (left, right))


class _PadNd(LayerKind[PadArgs]):
    """``nn.<Mode>Pad<d>d``: the last ``spatial_dims`` dims grow by their two paddings."""

    family = "reshape"
    main_arg = "padding"
    torch_positional: ClassVar[tuple[str, ...]] = ("padding",)
    spatial_dims: ClassVar[int]
    mode: ClassVar[Mode]

    def infer(self, args: PadArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        dims = self.spatial_dims
        if x is None or not self._expect_rank(x, report):
            return NO_OUTPUT
        padding = args.padding
        pads = padding if isinstance(padding, tuple) else (padding,) * (2 * dims)
        out: list[Dim] = list(x.dims)
        problems = []
        # pads hold (left, right) for the last dim, then (top, bottom) for the one before…
        for index, name in enumerate(reversed(SPATIAL_NAMES[dims])):
            axis = x.rank - 1 - index
            size, left, right = x.dims[axis], pads[2 * index], pads[2 * index + 1]
            if size is None:
                continue
            problem = self._problem(name, size, left, right)
            if problem:
                problems.append(problem)
            out[axis] = size + left + right
        if problems:
            report.error("; ".join(reversed(problems)), arg="padding")
            return NO_OUTPUT
        return Inferred(Shape(tuple(out)))

    def _expect_rank(self, x: Shape, report: Reporter) -> bool:
        return expect_rank(x, {self.spatial_dims + 1: LAYOUTS[self.spatial_dims]}, report)

    def _problem(self, name: str, size: int, left: int, right: int) -> str | None:
        """What PyTorch (or netspec, for an empty result) refuses in one dim's padding."""
        padded = (left, right)
        if self.mode == "reflect" and max(padded) >= size:
            return f"reflect pads less than the input size: padding {max(padded)} ≥ {name} = {size}"
        if self.mode == "circular" and max(padded) > size:
            return f"circular pads at most the input size: padding {max(padded)} > {name} = {size}"
        cropped = -min(left, 0) - min(right, 0)
        if self.mode == "constant" and cropped > size:
            return f"padding ({left}, {right}) crops {cropped} from {name} = {size}"
        if size + left + right < 1:
            return f"{name}_out = {_sum(size, left, right)} = {size + left + right}, must be ≥ 1"
        return None

    def describe(self, args: PadArgs, inputs: Sequence[Shape | None]) -> str:
        padding = args.padding
        return "pad " + (str(padding) if isinstance(padding, int) else ", ".join(map(str, padding)))


def _shape_rule(mode: Mode, dims: int) -> str:
    layout = LAYOUTS[dims]
    names = SPATIAL_NAMES[dims]
    pairs = zip(SIDES[: 2 * dims : 2], SIDES[1 : 2 * dims : 2], reversed(names), strict=True)
    sides = ", ".join(f"{a}/{b} → {name}" for a, b, name in pairs)
    if mode == "constant":
        rank = f"Input {layout} or more dims (the last {dims} are padded)"
    else:
        rank = f"Input {layout}"
    limit = {
        "constant": "a crop may not exceed the size",
        "reflect": "each padding must be less than the input size",
        "replicate": "",
        "circular": "each padding must be at most the input size",
    }[mode]
    return (
        f"{rank}; padding is one int for every side or ({', '.join(SIDES[: 2 * dims])}): "
        f"{sides}. Each padded size = size + both paddings (negative crops), must be ≥ 1"
        + (f"; {limit}" if limit else "")
        + ". No params."
    )


# --- constant: zero or a given value ----------------------------------------------------------


class _ConstantPadNd(_PadNd):
    mode: ClassVar[Mode] = "constant"

    def _expect_rank(self, x: Shape, report: Reporter) -> bool:
        # PyTorch's constant padding takes any rank; a batched input has the channels too
        dims = self.spatial_dims
        if x.rank > dims:
            return True
        got = str(x) if x.rank else "a scalar"
        report.error(
            f"expects a {LAYOUTS[dims]} input or one with more dims (batch excluded), got {got}"
        )
        return False


class ZeroPad1d(_ConstantPadNd):
    name = "zeropad1d"
    summary = "pads the last dim (L) with zeros"
    shape_rule = _shape_rule("constant", 1)
    torch_class = "ZeroPad1d"
    spatial_dims = 1
    Args = _pad_args(1, constant=False)
    examples = (
        valid(2, (3, 10)),
        valid([3, 0], (2, 4, 5)),
        valid({"padding": [-1, 2]}, (2, 5)),
        invalid([1, 1, 1], (3, 10), error="expected an integer or a list of 2 integers"),
        invalid([-6, 2], (3, 5), error="padding (-6, 2) crops 6 from L = 5"),
    )


class ZeroPad2d(_ConstantPadNd):
    name = "zeropad2d"
    summary = "pads the last two dims (H, W) with zeros"
    shape_rule = _shape_rule("constant", 2)
    torch_class = "ZeroPad2d"
    spatial_dims = 2
    aliases = ("ZeroPadding2D",)
    Args = _pad_args(2, constant=False)
    examples = (
        valid(1, (3, 28, 28)),
        valid([1, 0, 2, 1], (2, 5, 5)),
        invalid([1, 2], (3, 8, 8), error="padding: expected an integer or a list of 4 integers"),
        invalid([0, 0, -4, 1], (1, 3, 5), error="padding (-4, 1) crops 4 from H = 3"),
    )


class ZeroPad3d(_ConstantPadNd):
    name = "zeropad3d"
    summary = "pads the last three dims (D, H, W) with zeros"
    shape_rule = _shape_rule("constant", 3)
    torch_class = "ZeroPad3d"
    spatial_dims = 3
    aliases = ("ZeroPadding3D",)
    Args = _pad_args(3, constant=False)
    examples = (
        valid(1, (2, 3, 4, 4)),
        valid([1, 0, 0, 1, 2, 2], (1, 2, 3, 3)),
        invalid([0, 0, 0, 0, -2, -1], (1, 2, 3, 3), error="padding (-2, -1) crops 3 from D = 2"),
        invalid("same", (1, 2, 3, 3), error="padding: expected an integer or a list of 6"),
    )


class _ValuePadNd(_ConstantPadNd):
    torch_positional = ("padding", "value")

    def describe(self, args: PadArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{super().describe(args, inputs)}, fill {getattr(args, 'value', 0.0):g}"


class ConstantPad1d(_ValuePadNd):
    name = "constantpad1d"
    summary = "pads the last dim (L) with a constant value"
    shape_rule = _shape_rule("constant", 1)
    torch_class = "ConstantPad1d"
    spatial_dims = 1
    Args = _pad_args(1, constant=True)
    examples = (
        valid({"padding": 2, "value": 3.5}, (3, 10)),
        valid({"padding": [0, 3], "value": -1.0}, (2, 4, 5)),
        invalid({"padding": 2}, (3, 10), error="missing required argument 'value'"),
        invalid({"padding": [-4, 5], "value": 0.0}, (3, 3), error="crops 4 from L = 3"),
    )


class ConstantPad2d(_ValuePadNd):
    name = "constantpad2d"
    summary = "pads the last two dims (H, W) with a constant value"
    shape_rule = _shape_rule("constant", 2)
    torch_class = "ConstantPad2d"
    spatial_dims = 2
    Args = _pad_args(2, constant=True)
    examples = (
        valid({"padding": 1, "value": 0.5}, (3, 8, 8)),
        valid({"padding": [3, 0, 2, 1], "value": 1.0}, (1, 2, 2)),
        invalid({"padding": 1, "value": "one"}, (3, 8, 8), error="value: expected a number"),
        invalid({"padding": [0, 0, -5, 1], "value": 0.0}, (3, 4, 8), error="crops 5 from H = 4"),
    )


class ConstantPad3d(_ValuePadNd):
    name = "constantpad3d"
    summary = "pads the last three dims (D, H, W) with a constant value"
    shape_rule = _shape_rule("constant", 3)
    torch_class = "ConstantPad3d"
    spatial_dims = 3
    Args = _pad_args(3, constant=True)
    examples = (
        valid({"padding": 1, "value": 2.0}, (2, 3, 4, 4)),
        valid({"padding": [0, 1, 2, 0, 1, 1], "value": 0.0}, (1, 2, 3, 3)),
        invalid({"padding": 1, "value": 0.0}, (4,), error="expects a C×D×H×W input or one"),
    )


# --- copies of the input: reflection, replication, circular -----------------------------------


class ReflectionPad1d(_PadNd):
    name = "reflectionpad1d"
    summary = "pads the L of a C×L input with its reflection (the edge is not repeated)"
    shape_rule = _shape_rule("reflect", 1)
    torch_class = "ReflectionPad1d"
    spatial_dims = 1
    mode = "reflect"
    Args = _pad_args(1, constant=False)
    examples = (
        valid(2, (3, 10)),
        valid([3, 1], (2, 4)),
        invalid(3, (2, 3), error="reflect pads less than the input size: padding 3 ≥ L = 3"),
        invalid([-2, -1], (1, 3), error="L_out = 3 − 2 − 1 = 0, must be ≥ 1"),
        invalid(1, (2, 3, 4), error="expects a C×L input (batch excluded), got 2×3×4"),
    )


class ReflectionPad2d(_PadNd):
    name = "reflectionpad2d"
    summary = "pads the H and W of a C×H×W input with their reflection"
    shape_rule = _shape_rule("reflect", 2)
    torch_class = "ReflectionPad2d"
    spatial_dims = 2
    mode = "reflect"
    Args = _pad_args(2, constant=False)
    examples = (
        valid(1, (3, 28, 28)),
        valid([1, 1, 2, 0], (2, 3, 2)),
        invalid([1, 1, 2, 2], (1, 2, 3), error="padding 2 ≥ H = 2"),
        invalid(1, (5,), error="expects a C×H×W input (batch excluded), got 5"),
    )


class ReflectionPad3d(_PadNd):
    name = "reflectionpad3d"
    summary = "pads the D, H and W of a C×D×H×W input with their reflection"
    shape_rule = _shape_rule("reflect", 3)
    torch_class = "ReflectionPad3d"
    spatial_dims = 3
    mode = "reflect"
    Args = _pad_args(3, constant=False)
    examples = (
        valid(1, (2, 3, 4, 4)),
        valid([2, 0, 0, 1, 1, 1], (1, 2, 2, 3)),
        invalid(1, (2, 1, 4, 4), error="reflect pads less than the input size: padding 1 ≥ D = 1"),
    )


class ReplicationPad1d(_PadNd):
    name = "replicationpad1d"
    summary = "pads the L of a C×L input by repeating its edge values"
    shape_rule = _shape_rule("replicate", 1)
    torch_class = "ReplicationPad1d"
    spatial_dims = 1
    mode = "replicate"
    Args = _pad_args(1, constant=False)
    examples = (
        valid(3, (2, 2)),
        valid([0, 5], (1, 4)),
        invalid([-2, -1], (1, 3), error="L_out = 3 − 2 − 1 = 0, must be ≥ 1"),
    )


class ReplicationPad2d(_PadNd):
    name = "replicationpad2d"
    summary = "pads the H and W of a C×H×W input by repeating their edge values"
    shape_rule = _shape_rule("replicate", 2)
    torch_class = "ReplicationPad2d"
    spatial_dims = 2
    mode = "replicate"
    Args = _pad_args(2, constant=False)
    examples = (
        valid(2, (3, 1, 1)),
        valid([1, 0, 3, 2], (2, 4, 5)),
        invalid(1, (5,), error="expects a C×H×W input (batch excluded), got 5"),
    )


class ReplicationPad3d(_PadNd):
    name = "replicationpad3d"
    summary = "pads the D, H and W of a C×D×H×W input by repeating their edge values"
    shape_rule = _shape_rule("replicate", 3)
    torch_class = "ReplicationPad3d"
    spatial_dims = 3
    mode = "replicate"
    Args = _pad_args(3, constant=False)
    examples = (
        valid(1, (2, 1, 3, 3)),
        valid([0, 1, 2, 0, 1, 1], (1, 2, 2, 2)),
        invalid(1, (3, 4), error="expects a C×D×H×W input (batch excluded), got 3×4"),
    )


class CircularPad1d(_PadNd):
    name = "circularpad1d"
    summary = "pads the L of a C×L input by wrapping around (the start follows the end)"
    shape_rule = _shape_rule("circular", 1)
    torch_class = "CircularPad1d"
    spatial_dims = 1
    mode = "circular"
    Args = _pad_args(1, constant=False)
    examples = (
        valid(2, (2, 4)),
        valid([3, 1], (1, 3)),
        invalid(4, (2, 3), error="circular pads at most the input size: padding 4 > L = 3"),
        invalid(1, (2, 3, 4), error="expects a C×L input"),
    )


class CircularPad2d(_PadNd):
    name = "circularpad2d"
    summary = "pads the H and W of a C×H×W input by wrapping around"
    shape_rule = _shape_rule("circular", 2)
    torch_class = "CircularPad2d"
    spatial_dims = 2
    mode = "circular"
    Args = _pad_args(2, constant=False)
    examples = (
        valid(2, (1, 3, 3)),
        valid([1, 1, 2, 0], (2, 2, 4)),
        invalid([3, 3, 1, 1], (1, 4, 2), error="padding 3 > W = 2"),
    )


class CircularPad3d(_PadNd):
    name = "circularpad3d"
    summary = "pads the D, H and W of a C×D×H×W input by wrapping around"
    shape_rule = _shape_rule("circular", 3)
    torch_class = "CircularPad3d"
    spatial_dims = 3
    mode = "circular"
    Args = _pad_args(3, constant=False)
    examples = (
        valid(1, (2, 2, 3, 3)),
        valid([0, 0, 1, 1, 2, 2], (1, 2, 3, 4)),
        invalid(1, (8, 8), error="expects a C×D×H×W input (batch excluded), got 8×8"),
    )
