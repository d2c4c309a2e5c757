"""A tensor learned for itself: parameter (a class token, a position embedding, a layer scale)."""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from netspec.layers.args import Float, LayerArgs, PositiveFloat, PositiveInt
from netspec.layers.base import (
    Inferred,
    LayerKind,
    Learned,
    Reporter,
    invalid,
    valid,
)
from netspec.pysource import Atom, Expr, call
from netspec.shapes import Shape, format_dims


class ParameterArgs(LayerArgs):
    shape: tuple[PositiveInt, ...] = Field(
        description="its size without the batch, e.g. [1, 768] for a class token",
        min_length=1,
        max_length=4,
    )
    init: Literal["zeros", "ones", "constant", "normal"] = Field(
        "zeros", description="initial values: zeros, ones, constant (value) or normal (std)"
    )
    value: Float = Field(0.0, description="the constant, for init: constant")
    std: PositiveFloat = Field(0.02, description="standard deviation, for init: normal")


class Parameter(LayerKind[ParameterArgs]):
    name = "parameter"
    family = "linear"
    summary = "a learned tensor of a given shape, the same for every sample of the batch"
    shape_rule = (
        "Output = (N, *shape): the tensor, expanded over the batch of its input (which it "
        "reads only for the batch size). Params: prod(shape). Initialised as torchvision does: "
        "zeros (ViT's class token), normal std 0.02 (its position embedding), constant "
        "(ConvNeXt's layer scale)."
    )
    torch_class = None
    torch_expression = "nn.Parameter"
    main_arg = "shape"
    input_dtypes = frozenset({"float32", "long"})
    Args = ParameterArgs
    examples = (
        valid([1, 768], (196, 768)),
        valid({"shape": [197, 64], "init": "normal", "std": 0.02}, (197, 64)),
        valid({"shape": [96, 1, 1], "init": "constant", "value": 1e-6}, (96, 7, 7)),
        invalid({"shape": [0, 4]}, (3,), error="must be ≥ 1, got 0"),
        invalid({"shape": [4], "init": "xavier"}, (3,), error="init: expected"),
    )

    def infer(
        self, args: ParameterArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        shape = tuple(args.shape)
        if inputs[0] is None:
            return Inferred(None, {"": shape}, 0)
        return Inferred(Shape(shape), {"": shape}, 0)

    def learned(self, args: ParameterArgs) -> Learned:
        value = args.std if args.init == "normal" else args.value
        return Learned(tuple(args.shape), args.init, value)

    def describe(self, args: ParameterArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{format_dims(args.shape)}, {args.init}"

    def expression(self, args: ParameterArgs, operands: Sequence[Expr]) -> Expr:
        tensor, reference = operands
        keep = [Atom("-1")] * len(args.shape)
        return call(f"{tensor.flat()}.expand", Atom(f"{reference.flat()}.size(0)"), *keep)

    def evaluate(self, args: ParameterArgs, tensors: Sequence[Any]) -> Any:
        tensor, reference = tensors
        return tensor.expand(reference.size(0), *(-1,) * len(args.shape))
