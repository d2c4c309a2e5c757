"""Element-wise activations and the (log-)softmax."""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from netspec.layers.args import Bool, Float, Int, LayerArgs, NoArgs
from netspec.layers.base import (
    NO_OUTPUT,
    ArgsT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    resolve_dim,
    same_shape,
    valid,
)
from netspec.shapes import Shape


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
