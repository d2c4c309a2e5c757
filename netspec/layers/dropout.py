"""Dropout: element-wise, and whole channels of C×L / C×H×W inputs."""

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
