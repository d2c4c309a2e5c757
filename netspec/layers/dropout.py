"""Dropout: element-wise, whole channels of C×L / C×H×W / C×D×H×W inputs, and the alpha
dropouts that keep a SELU network self-normalising."""

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from netspec.layers.args import Bool, LayerArgs, Probability
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    expect_rank,
    invalid,
    same_shape,
    valid,
)
from netspec.shapes import Shape


class DropoutArgs(LayerArgs):
    p: Probability = Field(0.5, description="probability of zeroing an element")
    inplace: Bool = Field(False, description="overwrite the input tensor")


class _DropoutKind(LayerKind[DropoutArgs]):
    family = "dropout"
    main_arg = "p"
    Args = DropoutArgs
    layouts: ClassVar[dict[int, str] | None] = None  # None: any input
    shape_rule = "Output shape = input shape. No params. Identity in eval mode."

    def infer(
        self, args: DropoutArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or (self.layouts and not expect_rank(x, self.layouts, report)):
            return NO_OUTPUT
        return same_shape(x)

    def describe(self, args: DropoutArgs, inputs: Sequence[Shape | None]) -> str:
        return f"p = {args.p:g}"


class Dropout(_DropoutKind):
    name = "dropout"
    summary = "zero each element with probability p while training"
    torch_class = "Dropout"
    examples = (
        valid(0.25, (120,)),
        valid({"p": 0.0, "inplace": True}, (3, 4, 4)),
        invalid(1.5, (4,), error="p: must be ≤ 1.0, got 1.5"),
    )


class Dropout1d(_DropoutKind):
    name = "dropout1d"
    summary = "zero whole channels of a C×L input with probability p"
    torch_class = "Dropout1d"
    examples = (
        valid(None, (4, 10)),
        valid(0.1, (1, 3)),
        invalid(None, (4, 5, 5), error="expects a C×L input"),
    )
    layouts: ClassVar = {2: "C×L"}


class Dropout2d(_DropoutKind):
    name = "dropout2d"
    summary = "zero whole channels of a C×H×W input with probability p"
    torch_class = "Dropout2d"
    examples = (
        valid(None, (4, 6, 6)),
        valid({"p": 0.3}, (1, 2, 2)),
        invalid(-0.1, (4, 5, 5), error="p: must be ≥ 0"),
    )
    layouts: ClassVar = {3: "C×H×W"}


class Dropout3d(_DropoutKind):
    name = "dropout3d"
    summary = "zero whole channels of a C×D×H×W input with probability p"
    torch_class = "Dropout3d"
    examples = (
        valid(None, (4, 3, 6, 6)),
        valid({"p": 0.2, "inplace": True}, (1, 2, 2, 2)),
        invalid(1.5, (4, 3, 6, 6), error="p: must be ≤ 1.0, got 1.5"),
    )
    layouts: ClassVar = {4: "C×D×H×W"}


class AlphaDropout(_DropoutKind):
    name = "alphadropout"
    summary = (
        "dropout for SELU networks: dropped elements take SELU's negative saturation and the "
        "result is rescaled to keep the mean and variance"
    )
    torch_class = "AlphaDropout"
    aliases = ("AlphaDropout",)
    examples = (
        valid(0.1, (64,)),
        valid({"p": 0.2, "inplace": True}, (3, 4, 4)),
        invalid({"p": "high"}, (8,), error="p: expected a number"),
    )


class FeatureAlphaDropout(_DropoutKind):
    name = "featurealphadropout"
    summary = "alpha dropout of whole channels (dim 1 of the batch): C×L, C×H×W, C×D×H×W…"
    torch_class = "FeatureAlphaDropout"
    shape_rule = (
        "Output shape = input shape, which needs a channel dim (C, C×L, C×H×W…). No params. "
        "Identity in eval mode."
    )
    examples = (
        valid(None, (4, 3, 6, 6)),
        valid({"p": 0.1}, (8, 5)),
        invalid(-0.5, (4, 3, 6, 6), error="p: must be ≥ 0"),
    )

    def infer(
        self, args: DropoutArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        if not x.rank:  # its noise is drawn per (sample, channel): PyTorch needs a channel dim
            report.error("expects a C, C×L, C×H×W… input (batch excluded), got a scalar")
            return NO_OUTPUT
        return same_shape(x)
