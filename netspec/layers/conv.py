"""Convolutions: conv1d, conv2d, conv3d and their transposes (convtranspose1d … 3d)."""

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Literal, Protocol

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
from netspec.shapes import Dim, Shape, Window, format_dims

LAYOUTS = {1: "C×L", 2: "C×H×W", 3: "C×D×H×W"}


class _Grouped(Protocol):
    """The channel arguments every convolution, plain or transposed, takes."""

    @property
    def in_channels(self) -> int | None: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def groups(self) -> int: ...


def _check_out_channels(args: _Grouped, report: Reporter) -> None:
    if args.out_channels % args.groups:
        report.error(
            f"out_channels ({args.out_channels}) must be divisible by groups ({args.groups})",
            arg="groups",
        )


def _input_channels(args: _Grouped, x: Shape, report: Reporter) -> int | None:
    """The input's channels, checked against in_channels and groups (None when unknown)."""
    channels = x.dims[0]
    if args.in_channels is not None and channels is not None and args.in_channels != channels:
        report.error(
            f"in_channels is {args.in_channels} but the input has {channels_phrase(channels)}",
            arg="in_channels",
        )
    if channels is None:
        return args.in_channels
    if channels % args.groups:
        report.error(
            f"in_channels ({channels}) must be divisible by groups ({args.groups})",
            arg="groups",
        )
    return channels


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
    shape_rule = (
        "C_out = out_channels; each spatial size "
        "⌊(W + 2P − D·(F − 1) − 1)/S⌋ + 1 must be ≥ 1. Params: "
        "out·(in/groups)·∏F + out (bias). MACs: ∏out · (in/groups)·∏F."
    )

    def infer(self, args: ConvArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        _check_out_channels(args, report)
        self._check_same_padding(args, report)
        layout = {self.spatial_dims + 1: LAYOUTS[self.spatial_dims]}
        if x is None or not expect_rank(x, layout, report):
            return UNKNOWN
        channels = _input_channels(args, x, report)

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

    def _check_same_padding(self, args: ConvArgs, report: Reporter) -> None:
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


class Conv3d(_ConvNd):
    name = "conv3d"
    summary = "3-D convolution over a C×D×H×W input (video, volumes)"
    torch_class = "Conv3d"
    spatial_dims = 3
    aliases = ("Conv3D",)
    Args = _conv_args(3)
    examples = (
        valid({"out_channels": 4, "kernel_size": 3, "padding": 1}, (2, 5, 6, 7)),
        valid(
            {"out_channels": 6, "kernel_size": [1, 3, 3], "stride": [1, 2, 2], "groups": 2},
            (4, 3, 9, 9),
        ),
        valid(
            {"out_channels": 2, "kernel_size": 2, "padding": "same", "padding_mode": "circular"},
            (1, 3, 4, 5),
        ),
        invalid(
            {"out_channels": 4, "kernel_size": [3, 1, 1]},
            (2, 2, 8, 8),
            error="D_out = ⌊(2 − 3 + 2·0)/1⌋ + 1 = 0, must be ≥ 1",
        ),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"},
            (1, 2, 8, 8),
            error="reflect padding must be less than the input size, got 2 ≥ D = 2",
        ),
        invalid({"out_channels": 4, "kernel_size": 3}, (8, 8), error="expects a C×D×H×W input"),
        invalid(
            {"out_channels": 4, "kernel_size": [3, 3]},
            (1, 4, 8, 8),
            error="kernel_size: expected an integer ≥ 1 or a list of 3 of them (D, H, W)",
        ),
    )


# --- transposed convolutions -------------------------------------------------------------------


class ConvTransposeArgs(LayerArgs):
    """What every transposed convolution takes; each kind's model checks its dims' sizes."""

    in_channels: int | None
    out_channels: int
    kernel_size: int | tuple[int, ...]
    stride: int | tuple[int, ...]
    padding: int | tuple[int, ...]
    output_padding: int | tuple[int, ...]
    groups: int
    bias: bool
    dilation: int | tuple[int, ...]
    padding_mode: Literal["zeros"]


def _conv_transpose_args(dims: int) -> type[ConvTransposeArgs]:
    # In PyTorch's order: groups and bias come before dilation here.
    class ConvTransposeNdArgs(ConvTransposeArgs):
        in_channels: PositiveInt | None = Field(
            None, description="checked against the input's channels, never trusted"
        )
        out_channels: PositiveInt = Field(description="number of output channels")
        kernel_size: Sizes(dims, what="kernel size")  # type: ignore[valid-type]
        stride: Sizes(dims, what="stride: how far apart input positions land") = 1  # type: ignore[valid-type]
        padding: Sizes(dims, minimum=0, what="cropped from each side of the output") = 0  # type: ignore[valid-type]
        output_padding: Sizes(  # type: ignore[valid-type]
            dims, minimum=0, what="added to one side of the output; < stride or < dilation"
        ) = 0
        groups: PositiveInt = Field(1, description="blocked connections from input to output")
        bias: Bool = Field(True, description="learn an additive bias per output channel")
        dilation: Sizes(dims, what="spacing between kernel elements") = 1  # type: ignore[valid-type]
        padding_mode: Literal["zeros"] = Field(
            "zeros", description="PyTorch's transposed convolutions only pad with zeros"
        )

    ConvTransposeNdArgs.__name__ = ConvTransposeNdArgs.__qualname__ = f"ConvTranspose{dims}dArgs"
    return ConvTransposeNdArgs


@dataclass(frozen=True)
class TransposedWindow:
    """One spatial dim of a transposed convolution: each input position scatters a kernel."""

    size: Dim
    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int

    def output(self) -> Dim:
        """PyTorch's (W − 1)·S − 2P + D·(F − 1) + OP + 1, may be ≤ 0."""
        if self.size is None:
            return None
        spread = (self.size - 1) * self.stride + self.dilation * (self.kernel - 1)
        return spread - 2 * self.padding + self.output_padding + 1

    def formula(self, name: str) -> str:
        """The arithmetic, e.g. ``H_out = (4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 8``."""
        size = "?" if self.size is None else str(self.size)
        out = self.output()
        return (
            f"{name}_out = ({size} − 1)·{self.stride} − 2·{self.padding} + "
            f"{self.dilation}·({self.kernel} − 1) + {self.output_padding} + 1 = "
            f"{'?' if out is None else out}"
        )

    def output_padding_fits(self) -> bool:
        # PyTorch's rule (slow_conv_transpose shape checks): smaller than stride OR dilation.
        return self.output_padding < self.stride or self.output_padding < self.dilation


class _ConvTransposeNd(LayerKind[ConvTransposeArgs]):
    family = "conv"
    main_arg = None
    torch_positional = ("in_channels", "out_channels")
    spatial_dims: int
    shape_rule = (
        "C_out = out_channels; each spatial size (W − 1)·S − 2P + D·(F − 1) + OP + 1 must be "
        "≥ 1, with output_padding OP < stride S or < dilation D. Params: "
        "in·(out/groups)·∏F + out (bias). MACs: in·(out/groups)·∏F · ∏(input spatial sizes)."
    )

    def infer(
        self, args: ConvTransposeArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        dims = self.spatial_dims
        _check_out_channels(args, report)
        windows = self.windows(args, (None,) * dims)
        self._check_output_padding(windows, report)
        if x is None or not expect_rank(x, {dims + 1: LAYOUTS[dims]}, report):
            return UNKNOWN
        channels = _input_channels(args, x, report)
        windows = self.windows(args, x.dims[1:])
        shape = Shape((args.out_channels, *window_outputs(windows, report, arg="padding")))

        if channels is None:
            return Inferred(shape, None, None)
        kernel = expand(args.kernel_size, dims)
        per_input = args.out_channels // args.groups * prod(kernel)
        weights = weight_and_bias(
            (channels, args.out_channels // args.groups, *kernel),
            args.out_channels if args.bias else None,
        )
        positions = Shape(x.dims[1:]).numel()  # every input position scatters one kernel
        macs = None if positions is None else channels * positions * per_input
        return Inferred(shape, weights, macs)

    def windows(self, args: ConvTransposeArgs, sizes: Sequence[Dim]) -> list[TransposedWindow]:
        """One ``TransposedWindow`` per spatial dim of an input of these sizes."""
        dims = self.spatial_dims
        return [
            TransposedWindow(size, *arguments)
            for size, *arguments in zip(
                sizes,
                expand(args.kernel_size, dims),
                expand(args.stride, dims),
                expand(args.padding, dims),
                expand(args.output_padding, dims),
                expand(args.dilation, dims),
                strict=True,
            )
        ]

    def _check_output_padding(self, windows: list[TransposedWindow], report: Reporter) -> None:
        too_big = [
            f"{w.output_padding} ({name}) must be smaller than stride {w.stride} "
            f"or dilation {w.dilation}"
            for w, name in zip(windows, SPATIAL_NAMES[self.spatial_dims], strict=True)
            if not w.output_padding_fits()
        ]
        if too_big:
            report.error("output_padding " + "; ".join(too_big), arg="output_padding")

    def describe(self, args: ConvTransposeArgs, inputs: Sequence[Shape | None]) -> str:
        dims = self.spatial_dims
        kernel = format_dims(expand(args.kernel_size, dims))
        parts = [f"{kernel} → {args.out_channels} ch", *window_text(args, dims)]
        output_padding = expand(args.output_padding, dims)
        if any(output_padding):
            same = len(set(output_padding)) == 1
            parts.append(f"output pad {output_padding[0] if same else format_dims(output_padding)}")
        if args.groups != 1:
            parts.append(f"groups {args.groups}")
        return ", ".join(parts)

    def torch_values(self, args: ConvTransposeArgs, inputs: Sequence[Shape]) -> dict[str, Value]:
        return {**args.model_dump(), "in_channels": inputs[0].dims[0]}


class ConvTranspose1d(_ConvTransposeNd):
    name = "convtranspose1d"
    summary = "1-D transposed convolution over a C×L input (learned upsampling)"
    torch_class = "ConvTranspose1d"
    spatial_dims = 1
    aliases = ("Conv1DTranspose",)
    Args = _conv_transpose_args(1)
    examples = (
        valid({"out_channels": 4, "kernel_size": 3}, (2, 10)),
        valid(
            {"out_channels": 6, "kernel_size": 4, "stride": 2, "padding": 1, "groups": 2},
            (4, 7),
        ),
        valid({"out_channels": 2, "kernel_size": 3, "dilation": 3, "output_padding": 2}, (1, 5)),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 2},
            (2, 10),
            error="output_padding 2 (L) must be smaller than stride 2 or dilation 1",
        ),
        # Sizes that reach exactly 0 are avoided: PyTorch returns an empty tensor for them.
        invalid(
            {"out_channels": 4, "kernel_size": 1, "stride": 2, "padding": 1},
            (2, 1),
            error="L_out = (1 − 1)·2 − 2·1 + 1·(1 − 1) + 0 + 1 = -1, must be ≥ 1",
        ),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "groups": 2},
            (3, 10),
            error="in_channels (3) must be divisible by groups (2)",
        ),
    )


class ConvTranspose2d(_ConvTransposeNd):
    name = "convtranspose2d"
    summary = "2-D transposed convolution over a C×H×W input (learned upsampling)"
    torch_class = "ConvTranspose2d"
    spatial_dims = 2
    aliases = ("Conv2DTranspose",)
    Args = _conv_transpose_args(2)
    examples = (
        valid({"out_channels": 64, "kernel_size": 4, "stride": 2, "padding": 1}, (128, 8, 8)),
        valid(
            {
                "out_channels": 3,
                "kernel_size": [3, 2],
                "stride": [2, 1],
                "output_padding": [1, 0],
                "bias": False,
            },
            (2, 5, 6),
        ),
        valid({"in_channels": 2, "out_channels": 4, "kernel_size": 1, "groups": 2}, (2, 3, 3)),
        invalid(
            {"out_channels": 4, "kernel_size": 2, "stride": 3, "padding": 2},
            (1, 1, 3),
            error="H_out = (1 − 1)·3 − 2·2 + 1·(2 − 1) + 0 + 1 = -2, must be ≥ 1",
        ),
        invalid(
            {"in_channels": 3, "out_channels": 4, "kernel_size": 3},
            (1, 8, 8),
            error="in_channels is 3 but the input has 1 channel",
        ),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "padding_mode": "reflect"},
            (1, 8, 8),
            error="padding_mode:",
        ),
        invalid(
            {"out_channels": 4, "kernel_size": 3, "padding": "same"},
            (1, 8, 8),
            error="padding: expected an integer ≥ 0",
        ),
        invalid({"out_channels": 4, "kernel_size": 3}, (8, 8), error="expects a C×H×W input"),
    )


class ConvTranspose3d(_ConvTransposeNd):
    name = "convtranspose3d"
    summary = "3-D transposed convolution over a C×D×H×W input (learned upsampling)"
    torch_class = "ConvTranspose3d"
    spatial_dims = 3
    aliases = ("Conv3DTranspose",)
    Args = _conv_transpose_args(3)
    examples = (
        valid({"out_channels": 2, "kernel_size": 2, "stride": 2}, (4, 2, 3, 3)),
        valid(
            {"out_channels": 3, "kernel_size": [1, 3, 3], "padding": [0, 1, 1], "dilation": 2},
            (1, 2, 4, 4),
        ),
        invalid(
            {"out_channels": 2, "kernel_size": 3, "stride": [1, 2, 2], "output_padding": 1},
            (1, 2, 4, 4),
            error="output_padding 1 (D) must be smaller than stride 1 or dilation 1",
        ),
        invalid(
            {"out_channels": 3, "kernel_size": 3, "groups": 2},
            (4, 2, 4, 4),
            error="out_channels (3) must be divisible by groups (2)",
        ),
    )
