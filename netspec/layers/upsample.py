"""Upsampling: upsample (nn.Upsample), to a size or by a scale factor."""

from collections.abc import Callable, Sequence
from math import floor
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.layers.args import Bool, LayerArgs, describe_value
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    valid,
)
from netspec.limits import FLOAT32_MAX
from netspec.shapes import Shape, format_dims

# The spatial ranks each mode works on, as F.interpolate allows them (batch excluded).
MODES = {
    "nearest": (2, 3),
    "nearest-exact": (2, 3),
    "linear": (2,),
    "bilinear": (3,),
    "bicubic": (3,),
    "trilinear": (4,),
}
LAYOUTS = {2: "C×L", 3: "C×H×W", 4: "C×D×H×W"}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def _one_or_list(what: str, accepts: Callable[[Any], bool]) -> Callable[[Any], Any]:
    """A number, or a list of one per spatial dim (checked against the input later)."""

    def validate(value: Any) -> Any:
        if value is None or accepts(value):
            return value
        if isinstance(value, list) and value and all(accepts(v) for v in value):
            return tuple(value)
        raise PydanticCustomError(
            "upsample", "expected {what} or a list of them, got {got}",
            {"what": what, "got": describe_value(value)},
        )  # fmt: skip

    return validate


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_scale(value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and 0 < value <= FLOAT32_MAX


def _schema(item: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]})


Size = Annotated[
    int | tuple[int, ...] | None,
    BeforeValidator(_one_or_list("an integer ≥ 1", _is_size)),
    _schema({"type": "integer", "minimum": 1}),
]
Scale = Annotated[
    float | tuple[float, ...] | None,
    BeforeValidator(_one_or_list("a number > 0", _is_scale)),
    _schema({"type": "number", "exclusiveMinimum": 0, "maximum": FLOAT32_MAX}),
]


class UpsampleArgs(LayerArgs):
    size: Size = Field(None, description="output size: one for every spatial dim, or a list")
    scale_factor: Scale = Field(None, description="multiplier of the spatial sizes, or a list")
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"] = Field(
        "nearest", description="how new values are computed"
    )
    align_corners: Bool | None = Field(
        None, description="align corner pixels (interpolating modes only)"
    )


class Upsample(LayerKind[UpsampleArgs]):
    name = "upsample"
    family = "reshape"
    summary = "upsamples the spatial dims to a size or by a scale factor (a U-Net's decoder)"
    shape_rule = (
        "C unchanged; each spatial size becomes size, or ⌊size · scale_factor⌋ (≥ 1). Exactly "
        "one of size and scale_factor; the mode must suit the input (linear: C×L; bilinear, "
        "bicubic: C×H×W; nearest: either). No params."
    )
    torch_class = "Upsample"
    main_arg = "scale_factor"
    Args = UpsampleArgs
    aliases = ("UpSampling2D", "upsampling", "interpolate")
    examples = (
        valid(2, (3, 8, 8)),
        valid({"scale_factor": [2, 1.5], "mode": "bilinear", "align_corners": True}, (2, 5, 5)),
        valid({"size": 12, "mode": "linear"}, (4, 5)),
        valid({"size": [3, 9], "mode": "nearest-exact"}, (1, 6, 6)),
        invalid({"size": 4, "scale_factor": 2}, (3, 8, 8), error="give size or scale_factor"),
        invalid(None, (3, 8, 8), error="give size or scale_factor"),
        invalid({"scale_factor": 2, "mode": "bilinear"}, (3, 8), error="bilinear mode needs"),
        invalid({"scale_factor": 2, "align_corners": True}, (3, 8), error="align_corners"),
        invalid({"size": [3, 4]}, (3, 8), error="size has 2 sizes for 1 spatial dim"),
        invalid(0.1, (1, 5), error="L_out = ⌊5 · 0.1⌋ = 0, must be ≥ 1"),
        invalid({"scale_factor": "double"}, (3, 8), error="scale_factor: expected a number > 0"),
    )

    def infer(
        self, args: UpsampleArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if (args.size is None) == (args.scale_factor is None):
            report.error("give size or scale_factor, exactly one of them")
            return NO_OUTPUT
        if args.align_corners is not None and args.mode not in INTERPOLATING:
            report.error(
                f"align_corners only applies to the modes {', '.join(INTERPOLATING)}, "
                f"not '{args.mode}'",
                arg="align_corners",
            )
            return NO_OUTPUT
        ranks = MODES[args.mode]
        if x is None:
            return NO_OUTPUT
        if x.rank not in ranks:
            wanted = " or ".join(LAYOUTS[rank] for rank in ranks)
            report.error(f"{args.mode} mode needs a {wanted} input, got {x}", arg="mode")
            return NO_OUTPUT
        spatial = x.rank - 1
        given = args.size if args.size is not None else args.scale_factor
        assert given is not None  # exactly one is given, checked above
        what = "size" if args.size is not None else "scale_factor"
        values = given if isinstance(given, tuple) else (given,) * spatial
        if len(values) != spatial:
            report.error(
                f"{what} has {len(values)} sizes for {spatial} spatial "
                f"dim{'s' if spatial > 1 else ''} of {x}",
                arg=what,
            )
            return NO_OUTPUT
        names = ("L",) if spatial == 1 else ("D", "H", "W")[-spatial:]
        sizes: list[int | None] = []
        too_small = []
        for name, size, value in zip(names, x.dims[1:], values, strict=True):
            if args.size is not None:
                sizes.append(int(value))
            elif size is None:
                sizes.append(None)
            else:
                out = floor(float(size) * value)  # as F.interpolate computes it
                if out < 1:
                    too_small.append(f"{name}_out = ⌊{size} · {value:g}⌋ = {out}, must be ≥ 1")
                sizes.append(out)
        if too_small:
            report.error("; ".join(too_small), arg="scale_factor")
            return NO_OUTPUT
        return Inferred(Shape((x.dims[0], *sizes)))

    def accepts_bare(self) -> bool:
        # Every argument has a default, yet one of size and scale_factor must be given: the
        # reference and the JSON Schema must not offer ``- upsample`` alone.
        return False

    def describe(self, args: UpsampleArgs, inputs: Sequence[Shape | None]) -> str:
        if args.size is not None:
            size = args.size if isinstance(args.size, tuple) else (args.size,)
            return f"to {format_dims(size)}, {args.mode}"
        given = args.scale_factor
        scale = given if isinstance(given, tuple) else (given,)
        return f"×{'×'.join(f'{s:g}' for s in scale)}, {args.mode}"
