"""Convolutions: conv1d, conv2d."""

from collections.abc import Sequence
from math import prod
from typing import Literal

from pydantic import Field

from netspec.layers.args import (
    SPATIAL_NAMES,
    Bool,
    ConvPadding,
    LayerArgs,
    PositiveInt,
    Sizes,
    expand,
)
from netspec.layers.base import (
    UNKNOWN,
    Inferred,
    LayerKind,
    Reporter,
    channels_phrase,
    expect_rank,
    invalid,
    valid,
    weight_and_bias,
    window_outputs,
    window_text,
)
from netspec.pysource import Value
from netspec.shapes import Shape, Window, format_dims


class ConvArgs(LayerArgs):
    """What every convolution takes; each kind's model checks the sizes for its dims."""

    in_channels: int | None
    out_channels: int
    kernel_size: int | tuple[int, ...]
    stride: int | tuple[int, ...]
    padding: int | tuple[int, ...] | Literal["valid", "same"]
    dilation: int | tuple[int, ...]
    groups: int
    bias: bool
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"]


def _conv_args(dims: int) -> type[ConvArgs]:
    # The sizes' types are made for the number of dims at run time (mypy sees ConvArgs').
    class ConvNdArgs(ConvArgs):
        in_channels: PositiveInt | None = Field(
            None, description="checked against the input's channels, never trusted"
        )
        out_channels: PositiveInt = Field(description="number of filters")
        kernel_size: Sizes(dims, what="kernel size")  # type: ignore[valid-type]
        stride: Sizes(dims, what="stride") = 1  # type: ignore[valid-type]
        padding: ConvPadding(dims) = 0  # type: ignore[valid-type]
        dilation: Sizes(dims, what="spacing between kernel elements") = 1  # type: ignore[valid-type]
        groups: PositiveInt = Field(1, description="blocked connections from input to output")
        bias: Bool = Field(True, description="learn an additive bias per output channel")
        padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = Field(
            "zeros", description="what the padding is filled with"
        )

    ConvNdArgs.__name__ = ConvNdArgs.__qualname__ = f"Conv{dims}dArgs"
    return ConvNdArgs


def conv_windows(args: ConvArgs, sizes: Sequence[int | None], dims: int) -> list[Window]:
    """One ``Window`` per spatial dim, resolving ``'valid'`` and ``'same'`` as PyTorch does."""
    kernel = expand(args.kernel_size, dims)
    stride = expand(args.stride, dims)
    dilation = expand(args.dilation, dims)
    windows = []
    for i in range(dims):
        if args.padding == "valid":
            left, extra = 0, 0
        elif args.padding == "same":
            total = dilation[i] * (kernel[i] - 1)
            left, extra = total // 2, total - 2 * (total // 2)
        else:
            left, extra = expand(args.padding, dims)[i], 0
        windows.append(Window(sizes[i], kernel[i], stride[i], left, dilation[i], False, extra))
    return windows


class _ConvNd(LayerKind[ConvArgs]):
    family = "conv"
    main_arg = None
    torch_positional = ("in_channels", "out_channels")
    spatial_dims: int
    layout: str
    shape_rule = (
        "C_out = out_channels; each spatial size "
        "⌊(W + 2P − D·(F − 1) − 1)/S⌋ + 1 must be ≥ 1. Params: "
        "out·(in/groups)·∏F + out (bias). MACs: ∏out · (in/groups)·∏F."
    )

    def infer(self, args: ConvArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        self._check_groups_and_padding(args, report)
        if x is None or not expect_rank(x, {self.spatial_dims + 1: self.layout}, report):
            return UNKNOWN
        channels = x.dims[0]
        if args.in_channels is not None and channels is not None and args.in_channels != channels:
            report.error(
                f"in_channels is {args.in_channels} but the input has {channels_phrase(channels)}",
                arg="in_channels",
            )
        if channels is None:
            channels = args.in_channels
        elif channels % args.groups:
            report.error(
                f"in_channels ({channels}) must be divisible by groups ({args.groups})",
                arg="groups",
            )

        windows = conv_windows(args, x.dims[1:], self.spatial_dims)
        self._check_padding_mode(args, windows, report)
        shape = Shape((args.out_channels, *window_outputs(windows, report)))

        if channels is None:
            return Inferred(shape, None, None)
        kernel = expand(args.kernel_size, self.spatial_dims)
        weights = weight_and_bias(
            (args.out_channels, channels // args.groups, *kernel),
            args.out_channels if args.bias else None,
        )
        outputs = shape.numel()
        per_output = channels // args.groups * prod(kernel)
        return Inferred(shape, weights, None if outputs is None else outputs * per_output)

    def describe(self, args: ConvArgs, inputs: Sequence[Shape | None]) -> str:
        kernel = format_dims(expand(args.kernel_size, self.spatial_dims))
        parts = [f"{kernel} → {args.out_channels} ch", *window_text(args, self.spatial_dims)]
        if args.groups != 1:
            parts.append(f"groups {args.groups}")
        if args.padding_mode != "zeros":
            parts.append(f"{args.padding_mode} pad")
        return ", ".join(parts)

    def torch_values(self, args: ConvArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "in_channels": inputs[0].dims[0]}

    def _check_groups_and_padding(self, args: ConvArgs, report: Reporter) -> None:
        if args.out_channels % args.groups:
            report.error(
                f"out_channels ({args.out_channels}) must be divisible by groups ({args.groups})",
                arg="groups",
            )
        if args.padding == "same" and any(s > 1 for s in expand(args.stride, self.spatial_dims)):
            report.error(
                "padding 'same' needs stride 1 (PyTorch rejects strided 'same' convolutions), "
                f"got stride {args.stride}",
                arg="padding",
            )

    def _check_padding_mode(self, args: ConvArgs, windows: list[Window], report: Reporter) -> None:
        # reflect and circular padding read the input, so it must be large enough.
        if args.padding_mode not in ("reflect", "circular"):
            return
        reflect = args.padding_mode == "reflect"
        too_wide = []
        for window, name in zip(windows, SPATIAL_NAMES[self.spatial_dims], strict=True):
            pad = window.padding + window.extra_padding
            if window.size is not None and (pad >= window.size if reflect else pad > window.size):
                too_wide.append(f"{pad} {'≥' if reflect else '>'} {name} = {window.size}")
        if too_wide:
            bound = "less than" if reflect else "at most"
            report.error(
                f"{args.padding_mode} padding must be {bound} the input size, got "
                + ", ".join(too_wide),
                arg="padding",
            )


class Conv1d(_ConvNd):
    name = "conv1d"
    summary = "1-D convolution over a C×L input"
    torch_class = "Conv1d"
    spatial_dims = 1
    layout = "C×L"
    Args = _conv_args(1)
    examples = (
        valid({"out_channels": 4, "kernel_size": 3}, (2, 10)),
        valid({"out_channels": 6, "kernel_size": [5], "stride": 2, "groups": 3}, (3, 20)),
        valid({"out_channels": 4, "kernel_size": 3, "padding": "same", "dilation": 2}, (2, 9)),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "groups": 3},
            (3, 10),
            error="out_channels (4) must be divisible by groups (3)",
        ),
        invalid({"out_channels": 0, "kernel_size": 3}, (2, 10), error="out_channels:"),
    )


class Conv2d(_ConvNd):
    name = "conv2d"
    summary = "2-D convolution over a C×H×W input"
    torch_class = "Conv2d"
    spatial_dims = 2
    layout = "C×H×W"
    aliases = ("conv", "convolution", "conv2D", "Conv2D")
    Args = _conv_args(2)
    examples = (
        valid({"out_channels": 6, "kernel_size": 5, "padding": 2}, (1, 28, 28)),
        valid(
            {"out_channels": 4, "kernel_size": [3, 1], "stride": [2, 1], "bias": False},
            (2, 9, 7),
        ),
        valid(
            {"out_channels": 2, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
            (1, 4, 4),
        ),
        invalid(
            {"out_channels": 6, "kernel_size": 7}, (1, 5, 5), error="H_out = ⌊(5 − 7 + 2·0)/1⌋ + 1"
        ),
        invalid(
            {"in_channels": 3, "out_channels": 6, "kernel_size": 3},
            (1, 8, 8),
            error="in_channels is 3 but the input has 1 channel",
        ),
        invalid({"out_channels": 6, "kernel_size": 3}, (8, 8), error="expects a C×H×W input"),
    )
