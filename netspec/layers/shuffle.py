"""Rearranging channels: pixelshuffle, pixelunshuffle (channels ↔ space), channelshuffle."""

from collections.abc import Sequence

from pydantic import Field

from netspec.layers.args import LayerArgs, PositiveInt
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    invalid,
    same_shape,
    valid,
)
from netspec.shapes import Dim, Shape


def _times(dim: Dim, factor: int) -> Dim:
    return None if dim is None else dim * factor


def _divided(dim: Dim, factor: int) -> Dim:
    return None if dim is None else dim // factor


def _expect_image(x: Shape, report: Reporter) -> bool:
    """PyTorch takes …×C×H×W: any dims before C are batch dims to it, and kept."""
    if x.rank >= 3:
        return True
    got = str(x) if x.rank else "a scalar"
    report.error(f"expects a C×H×W input (batch excluded) or more dims before C, got {got}")
    return False


class PixelShuffleArgs(LayerArgs):
    upscale_factor: PositiveInt = Field(
        description="r: every r² channels become one channel r times higher and wider"
    )


class PixelShuffle(LayerKind[PixelShuffleArgs]):
    name = "pixelshuffle"
    family = "reshape"
    summary = "moves channels into space: C×H×W → C/r²×rH×rW (sub-pixel upsampling)"
    shape_rule = (
        "…×C×H×W → …×(C/r²)×(r·H)×(r·W) with r = upscale_factor; C must be divisible by r². "
        "Dims before C are kept. No params."
    )
    torch_class = "PixelShuffle"
    main_arg = "upscale_factor"
    torch_positional = ("upscale_factor",)
    Args = PixelShuffleArgs
    examples = (
        valid(2, (8, 3, 3)),
        valid({"upscale_factor": 3}, (2, 9, 2, 4)),
        invalid(2, (7, 3, 3), error="C = 7 must be divisible by upscale_factor² = 2² = 4"),
        invalid(2, (8, 8), error="expects a C×H×W input (batch excluded) or more dims before C"),
        invalid(0, (4, 3, 3), error="upscale_factor:"),
    )

    def infer(
        self, args: PixelShuffleArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not _expect_image(x, report):
            return NO_OUTPUT
        r = args.upscale_factor
        *leading, channels, height, width = x.dims
        if channels is not None and channels % (r * r):
            report.error(
                f"C = {channels} must be divisible by upscale_factor² = {r}² = {r * r}",
                arg="upscale_factor",
            )
            return NO_OUTPUT
        return Inferred(
            Shape((*leading, _divided(channels, r * r), _times(height, r), _times(width, r)))
        )

    def describe(self, args: PixelShuffleArgs, inputs: Sequence[Shape | None]) -> str:
        return f"×{args.upscale_factor}"


class PixelUnshuffleArgs(LayerArgs):
    downscale_factor: PositiveInt = Field(
        description="r: every r×r block of a channel becomes r² channels"
    )


class PixelUnshuffle(LayerKind[PixelUnshuffleArgs]):
    name = "pixelunshuffle"
    family = "reshape"
    summary = "moves space into channels: C×H×W → r²C×H/r×W/r (pixelshuffle's inverse)"
    shape_rule = (
        "…×C×H×W → …×(r²·C)×(H/r)×(W/r) with r = downscale_factor; H and W must be divisible "
        "by r. Dims before C are kept. No params."
    )
    torch_class = "PixelUnshuffle"
    main_arg = "downscale_factor"
    torch_positional = ("downscale_factor",)
    Args = PixelUnshuffleArgs
    examples = (
        valid(2, (3, 4, 6)),
        valid({"downscale_factor": 3}, (2, 1, 3, 9)),
        invalid(2, (3, 5, 7), error="H = 5 and W = 7 must be divisible by downscale_factor 2"),
        invalid(2, (6,), error="expects a C×H×W input (batch excluded) or more dims before C"),
        invalid({"downscale_factor": 1.5}, (3, 4, 4), error="downscale_factor:"),
    )

    def infer(
        self, args: PixelUnshuffleArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None or not _expect_image(x, report):
            return NO_OUTPUT
        r = args.downscale_factor
        *leading, channels, height, width = x.dims
        uneven = [
            f"{name} = {size}"
            for name, size in (("H", height), ("W", width))
            if size is not None and size % r
        ]
        if uneven:
            report.error(
                f"{' and '.join(uneven)} must be divisible by downscale_factor {r}",
                arg="downscale_factor",
            )
            return NO_OUTPUT
        return Inferred(
            Shape((*leading, _times(channels, r * r), _divided(height, r), _divided(width, r)))
        )

    def describe(self, args: PixelUnshuffleArgs, inputs: Sequence[Shape | None]) -> str:
        return f"÷{args.downscale_factor}"


class ChannelShuffleArgs(LayerArgs):
    groups: PositiveInt = Field(description="channels are split into this many groups")


class ChannelShuffle(LayerKind[ChannelShuffleArgs]):
    name = "channelshuffle"
    family = "reshape"
    summary = "interleaves the channels of groups (ShuffleNet): group g's i-th → i-th's g-th"
    shape_rule = (
        "Output shape = input shape (C×…, at least one dim after C); C must be divisible by "
        "groups. No params."
    )
    torch_class = "ChannelShuffle"
    main_arg = "groups"
    torch_positional = ("groups",)
    Args = ChannelShuffleArgs
    examples = (
        valid(2, (4, 5)),
        valid({"groups": 3}, (6, 2, 2)),
        invalid(3, (5, 4, 4), error="channels (5) must be divisible by groups (3)"),
        invalid(2, (6,), error="expects a C×… input with a dim after C (batch excluded)"),
        invalid(0, (6, 4), error="groups:"),
    )

    def infer(
        self, args: ChannelShuffleArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        if x is None:
            return NO_OUTPUT
        if x.rank < 2:
            got = str(x) if x.rank else "a scalar"
            report.error(f"expects a C×… input with a dim after C (batch excluded), got {got}")
            return NO_OUTPUT
        channels = x.dims[0]
        if channels is not None and channels % args.groups:
            report.error(
                f"channels ({channels}) must be divisible by groups ({args.groups})",
                arg="groups",
            )
            return NO_OUTPUT
        return same_shape(x)

    def describe(self, args: ChannelShuffleArgs, inputs: Sequence[Shape | None]) -> str:
        return f"{args.groups} groups"
