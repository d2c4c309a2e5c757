"""Batch normalisation: batchnorm1d, batchnorm2d."""

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from netspec.layers.args import Bool, LayerArgs, PositiveFloat, PositiveInt, Probability
from netspec.layers.base import (
    UNKNOWN,
    Inferred,
    LayerKind,
    Reporter,
    expect_rank,
    invalid,
    valid,
    weight_and_bias,
)
from netspec.pysource import Value
from netspec.shapes import Shape


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


class _BatchNormNd(LayerKind[BatchNormArgs]):
    family = "norm"
    main_arg = "num_features"
    torch_positional = ("num_features",)
    Args = BatchNormArgs
    layouts: ClassVar[dict[int, str]]
    shape_rule = "Output shape = input shape. Params: 2·C when affine (running stats are buffers)."

    def infer(
        self, args: BatchNormArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not expect_rank(x, self.layouts, report):
            return UNKNOWN
        channels = x.dims[0]
        written = args.num_features
        if written is not None and channels is not None and written != channels:
            noun = "channels" if x.rank > 1 else "features"
            report.error(
                f"num_features is {written} but the input has {channels} {noun}",
                arg="num_features",
            )
        if channels is None:
            channels = args.num_features
        if channels is None:
            return Inferred(x, None, 0)
        return Inferred(x, weight_and_bias((channels,), channels) if args.affine else {}, 0)

    def torch_values(self, args: BatchNormArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "num_features": inputs[0].dims[0]}

    def describe(self, args: BatchNormArgs, inputs: Sequence[Shape | None]) -> str:
        x = inputs[0] if inputs else None
        channels = (x.dims[0] if x is not None and x.rank else None) or args.num_features
        return "" if channels is None else f"{channels} ch" + ("" if args.affine else ", no affine")


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
