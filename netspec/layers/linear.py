"""Fully connected layer: linear."""

from collections.abc import Sequence

from pydantic import Field

from netspec.layers.args import Bool, LayerArgs, PositiveInt
from netspec.layers.base import (
    UNKNOWN,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    valid,
    weight_and_bias,
)
from netspec.pysource import Value
from netspec.shapes import Shape


class LinearArgs(LayerArgs):
    in_features: PositiveInt | None = Field(
        None, description="checked against the input's last dim, never trusted"
    )
    out_features: PositiveInt = Field(description="size of each output sample")
    bias: Bool = Field(True, description="learn an additive bias")


class Linear(LayerKind[LinearArgs]):
    name = "linear"
    family = "linear"
    summary = "y = x·Wᵀ + b over the input's last dim"
    shape_rule = (
        "Acts on the last dim: (…, in_features) → (…, out_features). "
        "Params: in·out + out (bias). MACs: in·out per position."
    )
    torch_class = "Linear"
    main_arg = "out_features"
    torch_positional = ("in_features", "out_features")
    aliases = ("dense", "fc", "Dense", "fully_connected")
    Args = LinearArgs
    examples = (
        valid(10, (84,)),
        valid({"in_features": 6, "out_features": 3, "bias": False}, (5, 6)),
        invalid(
            {"in_features": 10, "out_features": 3},
            (12,),
            error="in_features is 10 but the input has 12 features",
        ),
        invalid("ten", (12,), error="out_features: expected an integer"),
    )

    def infer(self, args: LinearArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        if x is None:
            return self._from_written_size(args)
        if x.rank == 0:
            report.error("linear expects an input with at least one dim (batch excluded)")
            return UNKNOWN
        features = x.dims[-1]
        if args.in_features is not None and features is not None and args.in_features != features:
            hint = ""
            if x.rank > 1 and args.in_features == x.numel():
                hint = f"; linear acts on the last dim of {x}: add a flatten before it"
            report.error(
                f"in_features is {args.in_features} but the input has "
                f"{x.describe_dim(-1, 'features')}{hint}",
                arg="in_features",
            )
        elif x.rank >= 3 and args.in_features is None:  # written: the last dim is meant
            report.warning(
                f"linear acts on the last dim of the {x} input, not on all of it; "
                "add a flatten before it to use every feature (or write in_features to say "
                "the last dim is meant)"
            )
        if features is None:
            features = args.in_features
        shape = Shape((*x.dims[:-1], args.out_features), (*x.origins[:-1], None))
        if features is None:
            return Inferred(shape, None, None)
        positions = Shape(x.dims[:-1]).numel()
        macs = None if positions is None else positions * features * args.out_features
        return Inferred(shape, self._weights(args, features), macs)

    def torch_values(self, args: LinearArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "in_features": inputs[0].dims[-1]}

    def describe(self, args: LinearArgs, inputs: Sequence[Shape | None]) -> str:
        x = inputs[0] if inputs else None
        features = (x.dims[-1] if x is not None and x.rank else None) or args.in_features
        text = f"{'?' if features is None else features} → {args.out_features}"
        return text + ("" if args.bias else ", no bias")

    def _weights(self, args: LinearArgs, features: int) -> dict[str, tuple[int, ...]]:
        return weight_and_bias(
            (args.out_features, features), args.out_features if args.bias else None
        )

    def _from_written_size(self, args: LinearArgs) -> Inferred:
        # The input is unknown after an upstream error; a written in_features still lets the
        # counting go on.
        if args.in_features is None:
            return Inferred(None, None, None)
        macs = args.in_features * args.out_features
        return Inferred(None, self._weights(args, args.in_features), macs)
