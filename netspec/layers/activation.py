"""Element-wise activations and the (log-)softmax."""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from netspec.layers.args import Bool, Float, Int, LayerArgs, NoArgs
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    resolve_dim,
    same_shape,
)
from netspec.shapes import Shape


class InplaceArgs(LayerArgs):
    inplace: Bool = Field(False, description="overwrite the input tensor")


class _Activation(LayerKind):
    family = "activation"
    Args = InplaceArgs
    shape_rule = "Output shape = input shape. No params."

    def infer(self, args, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        return same_shape(inputs[0])


class ReLU(_Activation):
    name = "relu"
    summary = "max(0, x)"
    torch_class = "ReLU"


class LeakyReLUArgs(InplaceArgs):
    negative_slope: Float = Field(0.01, description="slope for x < 0")


class LeakyReLU(_Activation):
    name = "leakyrelu"
    summary = "x for x ≥ 0, negative_slope·x otherwise"
    torch_class = "LeakyReLU"
    main_arg = "negative_slope"
    aliases = ("leaky_relu", "LeakyReLU")
    Args = LeakyReLUArgs

    def describe(self, args, inputs: Sequence[Shape | None]) -> str:
        return f"slope {args.negative_slope:g}"


class GELUArgs(LayerArgs):
    approximate: Literal["none", "tanh"] = Field("none", description="'tanh' approximation")


class GELU(_Activation):
    name = "gelu"
    summary = "Gaussian error linear unit"
    torch_class = "GELU"
    main_arg = "approximate"
    Args = GELUArgs

    def describe(self, args, inputs: Sequence[Shape | None]) -> str:
        return "tanh approximation" if args.approximate == "tanh" else ""


class ELUArgs(InplaceArgs):
    alpha: Float = Field(1.0, description="saturation value for x < 0")


class ELU(_Activation):
    name = "elu"
    summary = "exponential linear unit"
    torch_class = "ELU"
    main_arg = "alpha"
    Args = ELUArgs

    def describe(self, args, inputs: Sequence[Shape | None]) -> str:
        return f"α = {args.alpha:g}"


class SiLU(_Activation):
    name = "silu"
    summary = "x·sigmoid(x), also called swish"
    torch_class = "SiLU"
    aliases = ("swish",)


class Sigmoid(_Activation):
    name = "sigmoid"
    summary = "1 / (1 + e^−x)"
    torch_class = "Sigmoid"
    Args = NoArgs


class Tanh(_Activation):
    name = "tanh"
    summary = "hyperbolic tangent"
    torch_class = "Tanh"
    Args = NoArgs


class SoftmaxArgs(LayerArgs):
    dim: Int = Field(1, description="dim to normalise, counting the batch as dim 0")


class _Softmax(LayerKind):
    family = "activation"
    main_arg = "dim"
    torch_always = ("dim",)  # PyTorch's default (None) picks a dim implicitly, with a warning
    Args = SoftmaxArgs
    shape_rule = (
        "Output shape = input shape; dim counts the batch as 0 and must lie in "
        "[−rank, rank − 1] of the batched tensor."
    )

    def infer(self, args, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        if resolve_dim(args.dim, x, report, arg="dim") == 0:
            report.warning(f"dim 0 is the batch: {self.name} mixes the samples of a batch", "dim")
        return same_shape(x)

    def describe(self, args, inputs: Sequence[Shape | None]) -> str:
        return f"dim {args.dim}"


class Softmax(_Softmax):
    name = "softmax"
    summary = "exp(x) / Σ exp(x) along dim"
    torch_class = "Softmax"


class LogSoftmax(_Softmax):
    name = "logsoftmax"
    summary = "log(softmax(x)) along dim, pairs with the nll loss"
    torch_class = "LogSoftmax"
    aliases = ("log_softmax",)
