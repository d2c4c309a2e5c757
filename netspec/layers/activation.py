"""Element-wise activations, the gated linear unit and the softmax family."""

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Literal

from pydantic import Field, Strict

from netspec.layers.args import Bool, Float, Int, LayerArgs, NoArgs, PositiveInt
from netspec.layers.base import (
    NO_OUTPUT,
    ArgsT,
    Inferred,
    LayerKind,
    ParamShapes,
    Reporter,
    expect_rank,
    invalid,
    resolve_dim,
    same_shape,
    valid,
)
from netspec.limits import FLOAT32_MAX
from netspec.shapes import Shape

# A shrinkage threshold: PyTorch refuses a negative one for softshrink and documents the same
# bound for hardshrink.
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0, le=FLOAT32_MAX, allow_inf_nan=False)]


class InplaceArgs(LayerArgs):
    inplace: Bool = Field(False, description="overwrite the input tensor")


class _Activation(LayerKind[ArgsT]):
    family = "activation"
    shape_rule = "Output shape = input shape. No params."

    def infer(self, args: ArgsT, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        return same_shape(inputs[0])


class ReLU(_Activation[InplaceArgs]):
    name = "relu"
    summary = "max(0, x)"
    torch_class = "ReLU"
    Args = InplaceArgs
    examples = (
        valid(None, (6, 28, 28)),
        valid({"inplace": True}, (10,)),
        invalid({"inplace": "yes"}, (3,), error="inplace: expected true or false"),
    )


class LeakyReLUArgs(InplaceArgs):
    negative_slope: Float = Field(0.01, description="slope for x < 0")


class LeakyReLU(_Activation[LeakyReLUArgs]):
    name = "leakyrelu"
    summary = "x for x ≥ 0, negative_slope·x otherwise"
    torch_class = "LeakyReLU"
    main_arg = "negative_slope"
    aliases = ("leaky_relu", "LeakyReLU")
    Args = LeakyReLUArgs
    examples = (
        valid(0.2, (8, 4)),
        valid({"negative_slope": -0.5, "inplace": True}, (3, 5, 5)),
        invalid("steep", (3,), error="negative_slope: expected a number"),
    )

    def describe(self, args: LeakyReLUArgs, inputs: Sequence[Shape | None]) -> str:
        return f"slope {args.negative_slope:g}"


class GELUArgs(LayerArgs):
    approximate: Literal["none", "tanh"] = Field("none", description="'tanh' approximation")


class GELU(_Activation[GELUArgs]):
    name = "gelu"
    summary = "Gaussian error linear unit"
    torch_class = "GELU"
    main_arg = "approximate"
    Args = GELUArgs
    examples = (
        valid(None, (16,)),
        valid("tanh", (4, 8)),
        invalid("fast", (3,), error="approximate: expected 'none' or 'tanh', got 'fast'"),
    )

    def describe(self, args: GELUArgs, inputs: Sequence[Shape | None]) -> str:
        return "tanh approximation" if args.approximate == "tanh" else ""


class ELUArgs(InplaceArgs):
    alpha: Float = Field(1.0, description="saturation value for x < 0")


class ELU(_Activation[ELUArgs]):
    name = "elu"
    summary = "exponential linear unit"
    torch_class = "ELU"
    main_arg = "alpha"
    Args = ELUArgs
    examples = (
        valid(0.5, (3, 5, 5)),
        valid(None, (7,)),
        invalid({"alpha": "one"}, (3,), error="alpha: expected a number"),
    )

    def describe(self, args: ELUArgs, inputs: Sequence[Shape | None]) -> str:
        return f"α = {args.alpha:g}"


class SiLU(_Activation[InplaceArgs]):
    name = "silu"
    summary = "x·sigmoid(x), also called swish"
    torch_class = "SiLU"
    Args = InplaceArgs
    examples = (
        valid(None, (32,)),
        valid({"inplace": True}, (2, 3)),
        invalid({"slope": 1}, (3,), error="unknown argument 'slope'"),
    )
    aliases = ("swish",)


class Sigmoid(_Activation[NoArgs]):
    name = "sigmoid"
    summary = "1 / (1 + e^−x)"
    torch_class = "Sigmoid"
    Args = NoArgs
    examples = (
        valid(None, (1,)),
        valid({}, (4, 4, 4)),
        invalid({"inplace": True}, (3,), error="unknown argument 'inplace'"),
    )


class Tanh(_Activation[NoArgs]):
    name = "tanh"
    summary = "hyperbolic tangent"
    torch_class = "Tanh"
    Args = NoArgs
    examples = (
        valid(None, (5, 7)),
        valid({}, (9,)),
        invalid(1, (3,), error="takes no arguments, got 1"),
    )


class ReLU6(_Activation[InplaceArgs]):
    name = "relu6"
    summary = "min(max(0, x), 6)"
    torch_class = "ReLU6"
    aliases = ("ReLU6",)
    Args = InplaceArgs
    examples = (
        valid(None, (6, 28, 28)),
        valid({"inplace": True}, (10,)),
        invalid(6, (3,), error="takes arguments as a mapping (inplace), got 6"),
    )


class Hardswish(_Activation[InplaceArgs]):
    name = "hardswish"
    summary = "x·relu6(x + 3) / 6, the cheap swish of MobileNetV3"
    torch_class = "Hardswish"
    aliases = ("hard_swish", "HardSwish")
    Args = InplaceArgs
    examples = (
        valid(None, (16, 8, 8)),
        valid({"inplace": True}, (4,)),
        invalid({"inplace": 1}, (3,), error="inplace: expected true or false"),
    )


class Hardsigmoid(_Activation[InplaceArgs]):
    name = "hardsigmoid"
    summary = "relu6(x + 3) / 6, a piecewise-linear sigmoid"
    torch_class = "Hardsigmoid"
    Args = InplaceArgs
    examples = (
        valid(None, (16, 1, 1)),
        valid({"inplace": True}, (4, 5)),
        invalid({"slope": 0.2}, (3,), error="unknown argument 'slope'"),
    )


class Mish(_Activation[InplaceArgs]):
    name = "mish"
    summary = "x·tanh(softplus(x))"
    torch_class = "Mish"
    aliases = ("Mish",)
    Args = InplaceArgs
    examples = (
        valid(None, (8, 6, 6)),
        valid({"inplace": True}, (12,)),
        invalid({"inplace": "no"}, (3,), error="inplace: expected true or false"),
    )


class SELU(_Activation[InplaceArgs]):
    name = "selu"
    summary = "scale·elu(x, α) with the fixed self-normalising scale and α"
    torch_class = "SELU"
    aliases = ("SELU",)
    Args = InplaceArgs
    examples = (
        valid(None, (64,)),
        valid({"inplace": True}, (3, 4)),
        invalid({"alpha": 1.0}, (3,), error="unknown argument 'alpha'"),
    )


class CELUArgs(InplaceArgs):
    alpha: Float = Field(1.0, description="saturation value for x < 0; not 0")


class CELU(_Activation[CELUArgs]):
    name = "celu"
    summary = "max(0, x) + min(0, α·(exp(x/α) − 1)), a continuously differentiable elu"
    torch_class = "CELU"
    main_arg = "alpha"
    aliases = ("CELU",)
    Args = CELUArgs
    examples = (
        valid(None, (10,)),
        valid({"alpha": 0.5, "inplace": True}, (3, 5, 5)),
        invalid(0.0, (3,), error="alpha cannot be 0"),
        invalid({"alpha": "one"}, (3,), error="alpha: expected a number"),
    )

    def infer(self, args: CELUArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if args.alpha == 0:
            report.error("alpha cannot be 0: celu divides x by it", arg="alpha")
        return same_shape(inputs[0])

    def describe(self, args: CELUArgs, inputs: Sequence[Shape | None]) -> str:
        return f"α = {args.alpha:g}"


class PReLUArgs(LayerArgs):
    num_parameters: PositiveInt = Field(
        1, description="learned slopes: 1 shared, or one per input channel"
    )
    init: Float = Field(0.25, description="initial slope")


class PReLU(_Activation[PReLUArgs]):
    name = "prelu"
    summary = "x for x ≥ 0, a·x otherwise, with learned slopes a"
    shape_rule = (
        "Output shape = input shape. Params: num_parameters slopes, either 1 or the input's "
        "channels (its first dim, batch excluded)."
    )
    torch_class = "PReLU"
    main_arg = "num_parameters"
    aliases = ("PReLU",)
    Args = PReLUArgs
    examples = (
        valid(None, (6, 28, 28)),
        valid(6, (6, 28, 28)),
        valid({"num_parameters": 5, "init": 0.1}, (5,)),
        invalid(4, (3, 8, 8), error="num_parameters is 4 but the input has 3 channels"),
        invalid(0, (3,), error="num_parameters: must be ≥ 1, got 0"),
    )

    def infer(self, args: PReLUArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        weights: ParamShapes = {"weight": (args.num_parameters,)}
        if x is None:
            return Inferred(None, weights, 0)
        # PyTorch reads the channels at dim 1 of the batched tensor; a batch alone has one
        channels = x.dims[0] if x.rank else 1
        if args.num_parameters not in (1, channels) and channels is not None:
            noun = "channels" if x.rank > 1 else "features"
            found = x.describe_dim(0, noun) if x.rank else f"1 {noun}"
            report.error(
                f"num_parameters is {args.num_parameters} but the input has {found}: "
                f"use 1 (one shared slope) or {channels} (one per channel)",
                arg="num_parameters",
            )
        return Inferred(x, weights, 0)

    def describe(self, args: PReLUArgs, inputs: Sequence[Shape | None]) -> str:
        return "1 slope" if args.num_parameters == 1 else f"{args.num_parameters} slopes"


class SoftplusArgs(LayerArgs):
    beta: Float = Field(1.0, description="sharpness: log(1 + exp(β·x)) / β")
    threshold: Float = Field(20.0, description="above β·x > threshold the output is x")


class Softplus(_Activation[SoftplusArgs]):
    name = "softplus"
    summary = "log(1 + exp(β·x)) / β, linear where β·x > threshold"
    torch_class = "Softplus"
    main_arg = "beta"
    aliases = ("Softplus",)
    Args = SoftplusArgs
    examples = (
        valid(None, (10,)),
        valid({"beta": 2.0, "threshold": 10.0}, (3, 4)),
        invalid({"beta": "high"}, (3,), error="beta: expected a number"),
    )

    def describe(self, args: SoftplusArgs, inputs: Sequence[Shape | None]) -> str:
        threshold = "" if args.threshold == 20.0 else f", threshold {args.threshold:g}"
        return f"β = {args.beta:g}{threshold}"


class HardtanhArgs(InplaceArgs):
    min_val: Float = Field(-1.0, description="lower end of the linear region")
    max_val: Float = Field(1.0, description="upper end of the linear region; > min_val")


class Hardtanh(_Activation[HardtanhArgs]):
    name = "hardtanh"
    summary = "x clamped to [min_val, max_val]"
    shape_rule = "Output shape = input shape; min_val must be below max_val. No params."
    torch_class = "Hardtanh"
    aliases = ("hard_tanh",)
    Args = HardtanhArgs
    # min_val ≥ max_val is refused in infer; no example, as PyTorch's refusal is an
    # AssertionError, which the generic test does not count as a refusal
    examples = (
        valid(None, (10,)),
        valid({"min_val": 0.0, "max_val": 6.0, "inplace": True}, (3, 4, 4)),
        invalid({"min_val": "low"}, (3,), error="min_val: expected a number"),
    )

    def infer(
        self, args: HardtanhArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        if args.min_val >= args.max_val:
            report.error(
                f"min_val ({args.min_val:g}) must be less than max_val ({args.max_val:g})",
                arg="max_val",
            )
        return same_shape(inputs[0])

    def describe(self, args: HardtanhArgs, inputs: Sequence[Shape | None]) -> str:
        return f"[{args.min_val:g}, {args.max_val:g}]"


class Softsign(_Activation[NoArgs]):
    name = "softsign"
    summary = "x / (1 + |x|)"
    torch_class = "Softsign"
    aliases = ("Softsign",)
    Args = NoArgs
    examples = (
        valid(None, (5, 7)),
        invalid({"inplace": True}, (3,), error="unknown argument 'inplace'"),
    )


class Tanhshrink(_Activation[NoArgs]):
    name = "tanhshrink"
    summary = "x − tanh(x)"
    torch_class = "Tanhshrink"
    aliases = ("tanh_shrink",)
    Args = NoArgs
    examples = (
        valid(None, (9,)),
        invalid(1, (3,), error="takes no arguments, got 1"),
    )


class LogSigmoid(_Activation[NoArgs]):
    name = "logsigmoid"
    summary = "log(sigmoid(x)) = −softplus(−x)"
    torch_class = "LogSigmoid"
    aliases = ("log_sigmoid", "LogSigmoid")
    Args = NoArgs
    examples = (
        valid(None, (4, 4, 4)),
        invalid({"dim": 1}, (3,), error="unknown argument 'dim'"),
    )


class ShrinkArgs(LayerArgs):
    lambd: NonNegativeFloat = Field(0.5, description="λ ≥ 0: |x| ≤ λ becomes 0")


class _Shrink(_Activation[ShrinkArgs]):
    main_arg = "lambd"
    Args = ShrinkArgs

    def describe(self, args: ShrinkArgs, inputs: Sequence[Shape | None]) -> str:
        return f"λ = {args.lambd:g}"


class Hardshrink(_Shrink):
    name = "hardshrink"
    summary = "x where |x| > λ, 0 otherwise"
    torch_class = "Hardshrink"
    aliases = ("hard_shrink",)
    examples = (
        valid(None, (10,)),
        valid(1.0, (3, 4)),
        invalid(-0.5, (3,), error="lambd: must be ≥ 0"),
    )


class Softshrink(_Shrink):
    name = "softshrink"
    summary = "x − λ·sign(x) where |x| > λ, 0 otherwise"
    torch_class = "Softshrink"
    aliases = ("soft_shrink",)
    examples = (
        valid(None, (10,)),
        valid({"lambd": 0.0}, (3, 4)),
        invalid(-1.0, (3,), error="lambd: must be ≥ 0"),
    )


class ThresholdArgs(InplaceArgs):
    threshold: Float = Field(description="x ≤ threshold is replaced")
    value: Float = Field(description="what replaces x ≤ threshold")


class Threshold(_Activation[ThresholdArgs]):
    name = "threshold"
    summary = "x where x > threshold, value otherwise"
    torch_class = "Threshold"
    torch_positional = ("threshold", "value")
    aliases = ("Threshold",)
    Args = ThresholdArgs
    examples = (
        valid({"threshold": 0.1, "value": 0.0}, (10,)),
        valid({"threshold": -1.0, "value": -1.0, "inplace": True}, (3, 4, 4)),
        invalid({"threshold": 0.1}, (3,), error="missing required argument 'value'"),
    )

    def describe(self, args: ThresholdArgs, inputs: Sequence[Shape | None]) -> str:
        return f"x ≤ {args.threshold:g} → {args.value:g}"


class GLUArgs(LayerArgs):
    dim: Int = Field(-1, description="dim split in two halves, counting the batch as dim 0")


class GLU(LayerKind[GLUArgs]):
    name = "glu"
    family = "activation"
    summary = "a·sigmoid(b), where a and b are the two halves of the input along dim"
    shape_rule = (
        "Output shape = input shape with dim halved; dim counts the batch as 0 (which is "
        "refused), must lie in [−rank, rank − 1] of the batched tensor, and its size must be "
        "even. No params."
    )
    torch_class = "GLU"
    main_arg = "dim"
    aliases = ("GLU",)
    Args = GLUArgs
    examples = (
        valid(None, (3, 8)),
        valid(1, (6, 4, 4)),
        invalid(None, (4, 5), error="dim -1 has size 5, which is odd"),
        invalid(3, (4, 6), error="dim 3 is out of range"),
        invalid("last", (4, 6), error="dim: expected an integer"),
    )

    def infer(self, args: GLUArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        index = resolve_dim(args.dim, x, report, arg="dim")
        if index is None:
            return NO_OUTPUT
        if index == 0:
            report.error("dim 0 is the batch: glu would halve the batch", arg="dim")
            return NO_OUTPUT
        position = index - 1  # in the shape without the batch
        size = x.dims[position]
        if size is not None and size % 2:
            report.error(
                f"dim {args.dim} has size {size}, which is odd: glu splits it into two equal "
                "halves",
                arg="dim",
            )
            return NO_OUTPUT
        dims = list(x.dims)
        dims[position] = None if size is None else size // 2
        origins = list(x.origins)
        origins[position] = None
        return Inferred(replace(x, dims=tuple(dims), origins=tuple(origins)))

    def describe(self, args: GLUArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"


class SoftmaxArgs(LayerArgs):
    dim: Int = Field(1, description="dim to normalise, counting the batch as dim 0")


class _Softmax(LayerKind[SoftmaxArgs]):
    family = "activation"
    main_arg = "dim"
    torch_always = ("dim",)  # PyTorch's default (None) picks a dim implicitly, with a warning
    Args = SoftmaxArgs
    shape_rule = (
        "Output shape = input shape; dim counts the batch as 0 and must lie in "
        "[−rank, rank − 1] of the batched tensor."
    )

    def infer(
        self, args: SoftmaxArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        if resolve_dim(args.dim, x, report, arg="dim") == 0:
            report.warning(f"dim 0 is the batch: {self.name} mixes the samples of a batch", "dim")
        return same_shape(x)

    def describe(self, args: SoftmaxArgs, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"


class Softmax(_Softmax):
    name = "softmax"
    summary = "exp(x) / Σ exp(x) along dim"
    torch_class = "Softmax"
    examples = (
        valid(None, (10,)),
        valid(-1, (3, 4)),
        invalid(3, (3, 4), error="dim 3 is out of range for a 3-D tensor (N, 3, 4)"),
    )


class LogSoftmax(_Softmax):
    name = "logsoftmax"
    summary = "log(softmax(x)) along dim, pairs with the nll loss"
    torch_class = "LogSoftmax"
    examples = (
        valid(None, (10,)),
        valid({"dim": 2}, (3, 4)),
        invalid(-4, (3, 4), error="dim -4 is out of range"),
    )
    aliases = ("log_softmax",)


class Softmin(_Softmax):
    name = "softmin"
    summary = "exp(−x) / Σ exp(−x) along dim: the smallest values get the most weight"
    torch_class = "Softmin"
    examples = (
        valid(None, (10,)),
        valid(-1, (3, 4)),
        invalid(3, (3, 4), error="dim 3 is out of range for a 3-D tensor (N, 3, 4)"),
    )


class Softmax2d(LayerKind[NoArgs]):
    name = "softmax2d"
    family = "activation"
    summary = "softmax over the channels at each position of a C×H×W input"
    shape_rule = "Input C×H×W; output shape = input shape, softmax along C. No params."
    torch_class = "Softmax2d"
    Args = NoArgs
    examples = (
        valid(None, (3, 8, 8)),
        valid({}, (1, 2, 5)),
        invalid(None, (8,), error="expects a C×H×W input (batch excluded), got 8"),
        invalid(None, (2, 3, 4, 5), error="expects a C×H×W input"),
    )

    def infer(self, args: NoArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None or not expect_rank(x, {3: "C×H×W"}, report):
            return NO_OUTPUT
        return same_shape(x)


class RReLUArgs(LayerArgs):
    lower: Float = Field(1.0 / 8, description="lowest slope drawn for x < 0")
    upper: Float = Field(1.0 / 3, description="highest slope drawn for x < 0; ≥ lower")
    inplace: Bool = Field(False, description="overwrite the input tensor")


class RReLU(_Activation[RReLUArgs]):
    name = "rrelu"
    summary = (
        "x for x ≥ 0, a·x otherwise, with a drawn uniformly from [lower, upper] while "
        "training and (lower + upper)/2 in eval mode"
    )
    shape_rule = "Output shape = input shape; lower must be at most upper. No params."
    torch_class = "RReLU"
    aliases = ("RReLU",)
    Args = RReLUArgs
    examples = (
        valid(None, (10,)),
        valid({"lower": 0.1, "upper": 0.3, "inplace": True}, (3, 4, 4)),
        valid({"lower": 0.2, "upper": 0.2}, (5,)),
        invalid({"lower": 0.5, "upper": 0.1}, (3,), error="lower (0.5) must be at most upper"),
        invalid({"lower": "low"}, (3,), error="lower: expected a number"),
    )

    def infer(self, args: RReLUArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        if args.lower > args.upper:
            report.error(
                f"lower ({args.lower:g}) must be at most upper ({args.upper:g})", arg="upper"
            )
        return same_shape(inputs[0])

    def describe(self, args: RReLUArgs, inputs: Sequence[Shape | None]) -> str:
        return f"slope ∈ [{args.lower:.3g}, {args.upper:.3g}]"
