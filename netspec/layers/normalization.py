"""Normalisation: batch, instance, layer, RMS and group norms, and local response normalisation."""

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from netspec.layers.args import (
    Bool,
    Float,
    LayerArgs,
    PositiveFloat,
    PositiveInt,
    Probability,
    describe_value,
)
from netspec.layers.base import (
    NO_OUTPUT,
    UNKNOWN,
    Inferred,
    LayerKind,
    ParamShapes,
    Reporter,
    expect_rank,
    invalid,
    valid,
    weight_and_bias,
)
from netspec.pysource import Value
from netspec.shapes import Dim, Shape, format_dims


def _expect_rank_at_least(shape: Shape, minimum: int, layouts: str, report: Reporter) -> bool:
    """Report and return False unless ``shape`` has ``minimum`` dims or more (batch excluded);
    ``layouts`` names the accepted ones, e.g. ``C×L, C×H×W…``."""
    if shape.rank >= minimum:
        return True
    got = str(shape) if shape.rank else "a scalar"
    report.error(f"expects a {layouts} input (batch excluded), got {got}")
    return False


def _checked_channels(x: Shape, written: int | None, arg: str, report: Reporter) -> Dim:
    """The input's channels (its first dim), reporting a written count that differs; the
    written count when the input's is unknown."""
    channels = x.dims[0]
    if written is not None and channels is not None and written != channels:
        noun = "channels" if x.rank > 1 else "features"
        report.error(f"{arg} is {written} but the input has {channels} {noun}", arg=arg)
    return written if channels is None else channels


def _per_channel(channels: Dim, affine: bool) -> ParamShapes | None:
    """A learned scale and shift per channel when affine; None when the channels are unknown."""
    if not affine:
        return {}
    return None if channels is None else weight_and_bias((channels,), channels)


def _affine_text(affine: bool, default: bool) -> str:
    """``, affine`` or ``, no affine`` where it differs from the kind's default."""
    if affine == default:
        return ""
    return ", affine" if affine else ", no affine"


# --- batch and instance norm: statistics per channel ------------------------------------------


class BatchNormArgs(LayerArgs):
    num_features: PositiveInt | None = Field(
        None, description="checked against the input's channels, never trusted"
    )
    eps: PositiveFloat = Field(1e-5, description="added to the variance for stability")
    momentum: Probability | None = Field(
        0.1, description="running-statistics update rate; null: cumulative average"
    )
    affine: Bool = Field(True, description="learn a scale and a shift per channel")
    track_running_stats: Bool = Field(True, description="keep running mean and variance")


class InstanceNormArgs(BatchNormArgs):
    affine: Bool = Field(False, description="learn a scale and a shift per channel")
    track_running_stats: Bool = Field(
        False, description="keep running mean and variance, used in eval mode"
    )


class _ChannelNormNd(LayerKind[BatchNormArgs]):
    family = "norm"
    main_arg = "num_features"
    torch_positional = ("num_features",)
    layouts: ClassVar[dict[int, str]]

    def infer(
        self, args: BatchNormArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not expect_rank(x, self.layouts, report):
            return UNKNOWN
        channels = _checked_channels(x, args.num_features, "num_features", report)
        return Inferred(x, _per_channel(channels, args.affine), 0)

    def torch_values(self, args: BatchNormArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "num_features": inputs[0].dims[0]}

    def describe(self, args: BatchNormArgs, inputs: Sequence[Shape | None]) -> str:
        x = inputs[0] if inputs else None
        channels = (x.dims[0] if x is not None and x.rank else None) or args.num_features
        affine = _affine_text(args.affine, self.Args.model_fields["affine"].default)
        return "" if channels is None else f"{channels} ch{affine}"


class _BatchNormNd(_ChannelNormNd):
    Args = BatchNormArgs
    shape_rule = "Output shape = input shape. Params: 2·C when affine (running stats are buffers)."


class BatchNorm1d(_BatchNormNd):
    name = "batchnorm1d"
    summary = "batch normalisation of C features or a C×L input"
    torch_class = "BatchNorm1d"
    layouts: ClassVar = {1: "C", 2: "C×L"}
    examples = (
        valid(None, (8,)),
        valid({"affine": False, "momentum": None}, (8, 10)),
        invalid(4, (8,), error="num_features is 4 but the input has 8 features"),
        invalid(None, (2, 3, 4), error="expects a C or C×L input"),
    )


class BatchNorm2d(_BatchNormNd):
    name = "batchnorm2d"
    summary = "batch normalisation of a C×H×W input, per channel"
    torch_class = "BatchNorm2d"
    layouts: ClassVar = {3: "C×H×W"}
    examples = (
        valid(None, (6, 28, 28)),
        valid({"num_features": 3, "eps": 0.001}, (3, 2, 2)),
        invalid(None, (8,), error="expects a C×H×W input"),
    )
    aliases = ("batchnorm", "bn", "BatchNormalization")


class BatchNorm3d(_BatchNormNd):
    name = "batchnorm3d"
    summary = "batch normalisation of a C×D×H×W input, per channel"
    torch_class = "BatchNorm3d"
    layouts: ClassVar = {4: "C×D×H×W"}
    examples = (
        valid(None, (4, 3, 8, 8)),
        valid({"num_features": 2, "track_running_stats": False}, (2, 2, 3, 3)),
        invalid(None, (4, 8, 8), error="expects a C×D×H×W input"),
        invalid({"momentum": 2.0}, (2, 2, 3, 3), error="momentum: must be ≤ 1"),
    )


class _InstanceNormNd(_ChannelNormNd):
    Args = InstanceNormArgs
    shape_rule = (
        "Output shape = input shape; each sample and channel needs more than one spatial "
        "element. Params: 2·C when affine (off by default)."
    )

    def infer(
        self, args: BatchNormArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        inferred = super().infer(args, inputs, report)
        x = inputs[0]
        if inferred.shape is None or x is None or x.dims[1:].count(None):
            return inferred
        if Shape(x.dims[1:]).numel() == 1:
            problem = f"needs more than 1 spatial element per channel to take statistics, got {x}"
            if args.track_running_stats:  # eval mode uses the running statistics instead
                report.warning(f"{problem}: training fails")
            else:
                report.error(problem)
        return inferred


class InstanceNorm1d(_InstanceNormNd):
    name = "instancenorm1d"
    summary = "instance normalisation of a C×L input, per sample and channel"
    torch_class = "InstanceNorm1d"
    layouts: ClassVar = {2: "C×L"}
    examples = (
        valid(None, (3, 10)),
        valid({"num_features": 3, "affine": True}, (3, 5)),
        invalid({"num_features": 4, "affine": True}, (3, 5), error="num_features is 4 but"),
        invalid(None, (3, 1), error="needs more than 1 spatial element per channel"),
        invalid(None, (3, 4, 5), error="expects a C×L input"),
    )


class InstanceNorm2d(_InstanceNormNd):
    name = "instancenorm2d"
    summary = "instance normalisation of a C×H×W input, per sample and channel"
    torch_class = "InstanceNorm2d"
    layouts: ClassVar = {3: "C×H×W"}
    examples = (
        valid(None, (3, 8, 8)),
        valid({"affine": True, "track_running_stats": True, "eps": 0.001}, (4, 5, 5)),
        invalid(None, (8,), error="expects a C×H×W input"),
        invalid({"affine": "yes"}, (3, 8, 8), error="affine: expected true or false"),
    )
    aliases = ("InstanceNormalization",)


class InstanceNorm3d(_InstanceNormNd):
    name = "instancenorm3d"
    summary = "instance normalisation of a C×D×H×W input, per sample and channel"
    torch_class = "InstanceNorm3d"
    layouts: ClassVar = {4: "C×D×H×W"}
    examples = (
        valid(None, (2, 4, 4, 4)),
        valid({"num_features": 2, "affine": True, "momentum": 0.2}, (2, 3, 3, 3)),
        invalid(None, (3, 8), error="expects a C×D×H×W input"),
    )


# --- layer and group norm: statistics per sample ----------------------------------------------


def _normalized_shape(value: Any) -> int | tuple[int, ...]:
    """An int ≥ 1 or a non-empty list of them, refused with one message (a plain union would
    give one per member)."""

    def ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if ok(value):
        return value
    if isinstance(value, list | tuple) and value and all(ok(v) for v in value):
        return tuple(value)
    raise PydanticCustomError(
        "normalized_shape",
        "expected an integer ≥ 1 or a non-empty list of them, got {got}",
        {"got": describe_value(value)},
    )


_POSITIVE = {"type": "integer", "minimum": 1}
NormalizedShape = Annotated[
    int | tuple[int, ...],
    BeforeValidator(_normalized_shape),
    WithJsonSchema({"oneOf": [_POSITIVE, {"type": "array", "items": _POSITIVE, "minItems": 1}]}),
]


class _TrailingNormArgs(LayerArgs):
    """What layer and RMS norm share; each kind's model declares its own eps default."""

    normalized_shape: NormalizedShape | None = Field(
        None, description="the trailing dims normalised over; default: the input's last dim"
    )
    eps: PositiveFloat | None
    elementwise_affine: Bool = Field(True, description="learn a scale per element")


class LayerNormArgs(_TrailingNormArgs):
    eps: PositiveFloat = Field(1e-5, description="added to the variance for stability")
    elementwise_affine: Bool = Field(True, description="learn a scale (and shift) per element")
    bias: Bool = Field(True, description="learn the shift too, with elementwise_affine")


class RMSNormArgs(_TrailingNormArgs):
    eps: PositiveFloat | None = Field(
        None, description="added to the mean square; null: the float type's machine epsilon"
    )


TrailingArgsT = TypeVar("TrailingArgsT", bound=_TrailingNormArgs)


class _TrailingNorm(LayerKind[TrailingArgsT]):
    """A norm over each sample's trailing dims, with a learned tensor of their shape."""

    family = "norm"
    main_arg = "normalized_shape"
    torch_positional = ("normalized_shape",)

    def infer(
        self, args: TrailingArgsT, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        written = _as_dims(args.normalized_shape)
        if x is None:
            return Inferred(None, None if written is None else self._weights(args, written), 0)
        if not _expect_rank_at_least(x, 1, "C, C×L…", report):
            return UNKNOWN
        if written is None:
            return Inferred(x, self._weights(args, x.dims[-1:]), 0)
        if len(written) > x.rank:
            report.error(
                f"normalized_shape {list(written)} has {len(written)} dims but the input {x} "
                f"has {x.rank} (batch excluded)",
                arg="normalized_shape",
            )
        else:
            trailing = x.dims[-len(written) :]
            if any(d is not None and d != w for d, w in zip(trailing, written, strict=True)):
                report.error(
                    f"normalized_shape {list(written)} does not match the input's trailing dims "
                    f"{format_dims(trailing)} (input {x})",
                    arg="normalized_shape",
                )
        return Inferred(x, self._weights(args, written), 0)

    def _weights(self, args: TrailingArgsT, shape: Sequence[Dim]) -> ParamShapes | None:
        """The learned tensors for normalisation over ``shape`` (None where it is unknown)."""
        if not args.elementwise_affine:
            return {}
        if None in shape:
            return None
        dims = tuple(d for d in shape if d is not None)
        return {"weight": dims, **({"bias": dims} if self._bias(args) else {})}

    def _bias(self, args: TrailingArgsT) -> bool:
        return False

    def torch_values(self, args: TrailingArgsT, inputs: Sequence[Shape]) -> dict[str, Value]:
        written = args.normalized_shape
        return {
            **args.model_dump(),
            "normalized_shape": inputs[0].dims[-1] if written is None else written,
        }

    def describe(self, args: TrailingArgsT, inputs: Sequence[Shape | None]) -> str:
        x = inputs[0] if inputs else None
        shape: Sequence[Dim] | None = _as_dims(args.normalized_shape)
        if shape is None and x is not None and x.rank:
            shape = x.dims[-1:]
        affine = "" if args.elementwise_affine else ", no affine"
        return "" if shape is None else f"over {format_dims(shape)}{affine}"


class LayerNorm(_TrailingNorm[LayerNormArgs]):
    name = "layernorm"
    summary = "normalisation of each sample over its trailing dims (by default its last)"
    shape_rule = (
        "Output shape = input shape; normalized_shape, when given, must equal the input's "
        "trailing dims. Params: a weight and a bias of normalized_shape when elementwise_affine."
    )
    torch_class = "LayerNorm"
    aliases = ("LayerNorm", "layer_norm", "LayerNormalization")
    Args = LayerNormArgs
    examples = (
        valid(None, (197, 384)),
        valid(384, (197, 384)),
        valid({"normalized_shape": [14, 14], "bias": False}, (3, 14, 14)),
        valid({"elementwise_affine": False, "eps": 1e-6}, (10,)),
        invalid(
            [768],
            (197, 384),
            error="normalized_shape [768] does not match the input's trailing dims 384",
        ),
        invalid([4, 8], (8,), error="normalized_shape [4, 8] has 2 dims but the input 8 has 1"),
        invalid([], (8,), error="normalized_shape: expected an integer ≥ 1 or a non-empty list"),
    )

    def _bias(self, args: LayerNormArgs) -> bool:
        return args.bias


class RMSNorm(_TrailingNorm[RMSNormArgs]):
    name = "rmsnorm"
    summary = "x / √(mean(x²) + eps) over each sample's trailing dims (by default its last)"
    shape_rule = (
        "Output shape = input shape; normalized_shape, when given, must equal the input's "
        "trailing dims. Params: a weight of normalized_shape when elementwise_affine (no bias)."
    )
    torch_class = "RMSNorm"
    aliases = ("RMSNorm", "rms_norm", "RMSNormalization")
    Args = RMSNormArgs
    examples = (
        valid(None, (197, 384)),
        valid({"normalized_shape": [14, 14], "eps": 1e-6}, (3, 14, 14)),
        valid({"elementwise_affine": False}, (10,)),
        invalid(
            [768],
            (197, 384),
            error="normalized_shape [768] does not match the input's trailing dims 384",
        ),
        invalid([4, 8], (8,), error="normalized_shape [4, 8] has 2 dims but the input 8 has 1"),
        invalid({"eps": 0.0}, (8,), error="eps: must be > 0"),
    )


def _as_dims(normalized_shape: int | tuple[int, ...] | None) -> tuple[int, ...] | None:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return normalized_shape


class GroupNormArgs(LayerArgs):
    num_groups: PositiveInt = Field(description="groups of channels, each normalised apart")
    num_channels: PositiveInt | None = Field(
        None, description="checked against the input's channels, never trusted"
    )
    eps: PositiveFloat = Field(1e-5, description="added to the variance for stability")
    affine: Bool = Field(True, description="learn a scale and a shift per channel")


class GroupNorm(LayerKind[GroupNormArgs]):
    name = "groupnorm"
    family = "norm"
    summary = "normalisation of each sample over groups of its channels"
    shape_rule = (
        "Output shape = input shape (C, C×L, C×H×W…); the channels must be divisible by "
        "num_groups. Params: 2·C when affine."
    )
    torch_class = "GroupNorm"
    main_arg = "num_groups"
    torch_positional = ("num_groups", "num_channels")
    aliases = ("GroupNorm", "GroupNormalization")
    Args = GroupNormArgs
    examples = (
        valid(2, (6, 8, 8)),
        valid({"num_groups": 4, "num_channels": 8, "eps": 1e-6}, (8, 10)),
        valid({"num_groups": 3, "affine": False}, (6,)),
        invalid(4, (6, 5), error="num_channels (6) must be divisible by num_groups (4)"),
        invalid(
            {"num_groups": 2, "num_channels": 8},
            (6, 5),
            error="num_channels is 8 but the input has 6 channels",
        ),
        invalid("two", (6, 5), error="num_groups: expected an integer"),
    )

    def infer(
        self, args: GroupNormArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not _expect_rank_at_least(x, 1, "C, C×L, C×H×W…", report):
            return UNKNOWN
        channels = _checked_channels(x, args.num_channels, "num_channels", report)
        if channels is not None and channels % args.num_groups:
            report.error(
                f"num_channels ({channels}) must be divisible by num_groups ({args.num_groups})",
                arg="num_groups",
            )
        return Inferred(x, _per_channel(channels, args.affine), 0)

    def torch_values(self, args: GroupNormArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "num_channels": inputs[0].dims[0]}

    def describe(self, args: GroupNormArgs, inputs: Sequence[Shape | None]) -> str:
        groups = "1 group" if args.num_groups == 1 else f"{args.num_groups} groups"
        return groups + _affine_text(args.affine, True)


# --- local response normalisation: across neighbouring channels -------------------------------


class LocalResponseNormArgs(LayerArgs):
    size: PositiveInt = Field(description="neighbouring channels normalised over")
    alpha: Float = Field(1e-4, description="multiplicative factor")
    beta: Float = Field(0.75, description="exponent")
    k: Float = Field(1.0, description="additive factor")


class LocalResponseNorm(LayerKind[LocalResponseNormArgs]):
    name = "localresponsenorm"
    family = "norm"
    summary = "x / (k + α/size · Σ x² over size neighbouring channels)^β, as in AlexNet"
    shape_rule = "Output shape = input shape (C×L, C×H×W or more dims). No params."
    torch_class = "LocalResponseNorm"
    main_arg = "size"
    aliases = ("LocalResponseNorm", "LRN")
    Args = LocalResponseNormArgs
    examples = (
        valid(5, (96, 55, 55)),
        valid({"size": 2, "alpha": 1e-3, "beta": 0.5, "k": 2.0}, (8, 10)),
        invalid(5, (16,), error="expects a C×L, C×H×W… input"),
        invalid(0, (3, 4, 4), error="size: must be ≥ 1, got 0"),
    )

    def infer(
        self, args: LocalResponseNormArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not _expect_rank_at_least(x, 2, "C×L, C×H×W…", report):
            return NO_OUTPUT
        return Inferred(x)

    def describe(self, args: LocalResponseNormArgs, inputs: Sequence[Shape | None]) -> str:
        return f"size {args.size}"
