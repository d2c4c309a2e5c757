"""Pooling: max, average and power-average pooling (1-D, 2-D, 3-D), and the adaptive max and
average pools."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from netspec.layers.args import (
    SPATIAL_NAMES,
    Bool,
    Float,
    LayerArgs,
    OutputSizes,
    PositiveInt,
    Sizes,
    expand,
)
from netspec.layers.base import (
    NO_OUTPUT,
    Inferred,
    LayerKind,
    Reporter,
    expect_rank,
    invalid,
    valid,
    window_outputs,
    window_text,
)
from netspec.shapes import Shape, Window, format_dims

LAYOUTS = {1: "C×L", 2: "C×H×W", 3: "C×D×H×W"}


class PoolArgs(LayerArgs):
    """What max and average pooling take; each kind's model checks the sizes for its dims."""

    kernel_size: int | tuple[int, ...]
    stride: int | tuple[int, ...] | None
    padding: int | tuple[int, ...]
    if TYPE_CHECKING:  # declared by each model after dilation, in PyTorch's order
        ceil_mode: bool


class AdaptivePoolArgs(LayerArgs):
    output_size: int | tuple[int | None, ...]


def _max_pool_args(dims: int) -> type[PoolArgs]:
    class MaxPoolArgs(PoolArgs):
        kernel_size: Sizes(dims, what="window size")  # type: ignore[valid-type]
        stride: Sizes(dims, what="stride") | None = Field(None, description="default: kernel_size")  # type: ignore[valid-type]
        padding: Sizes(dims, minimum=0, what="implicit -inf padding on each side") = 0  # type: ignore[valid-type]
        dilation: Sizes(dims, what="spacing between window elements") = 1  # type: ignore[valid-type]
        ceil_mode: Bool = Field(False, description="round the output size up, not down")

    MaxPoolArgs.__name__ = MaxPoolArgs.__qualname__ = f"MaxPool{dims}dArgs"
    return MaxPoolArgs


def _avg_pool_args(dims: int) -> type[PoolArgs]:
    class AvgPoolArgs(PoolArgs):
        kernel_size: Sizes(dims, what="window size")  # type: ignore[valid-type]
        stride: Sizes(dims, what="stride") | None = Field(None, description="default: kernel_size")  # type: ignore[valid-type]
        padding: Sizes(dims, minimum=0, what="implicit zero padding on each side") = 0  # type: ignore[valid-type]
        ceil_mode: Bool = Field(False, description="round the output size up, not down")
        count_include_pad: Bool = Field(True, description="count padding zeros in the average")

    # PyTorch's AvgPool1d has no divisor_override; its 2-D and 3-D pools do.
    class AvgPoolDivisorArgs(AvgPoolArgs):
        divisor_override: PositiveInt | None = Field(None, description="divide by this instead")

    model = AvgPoolArgs if dims == 1 else AvgPoolDivisorArgs
    model.__name__ = model.__qualname__ = f"AvgPool{dims}dArgs"
    return model


def _kernel_within_input(name: str, windows: Sequence[Window], report: Reporter) -> bool:
    """PyTorch's avg_pool3d wants each input size ≥ the kernel's, whatever the padding:
    report and return False where one is smaller."""
    too_small = [
        f"{dim} = {w.size} < {w.kernel}"
        for w, dim in zip(windows, SPATIAL_NAMES[len(windows)], strict=True)
        if w.size is not None and w.size < w.kernel
    ]
    if too_small:
        report.error(
            f"{name} needs every input size ≥ its kernel size, padding aside "
            f"(PyTorch's rule), got {', '.join(too_small)}",
            arg="kernel_size",
        )
    return not too_small


class _PoolNd(LayerKind[PoolArgs]):
    family = "pool"
    main_arg = "kernel_size"
    torch_positional = ("kernel_size",)
    spatial_dims: int
    shape_rule = (
        "C unchanged; each spatial size ⌊(W + 2P − D·(F − 1) − 1)/S⌋ + 1 (⌈…⌉ with ceil_mode, "
        "dropping a last window that would start in the right padding), must be ≥ 1; "
        "padding ≤ kernel_size // 2; stride defaults to kernel_size. No params, no MACs."
    )
    # PyTorch's avg_pool3d also wants each input size ≥ the kernel's, whatever the padding.
    kernel_within_input: ClassVar[bool] = False

    def infer(self, args: PoolArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        dims = self.spatial_dims
        kernel = expand(args.kernel_size, dims)
        padding = expand(args.padding, dims)
        stride = expand(args.stride if args.stride is not None else args.kernel_size, dims)
        dilation = expand(getattr(args, "dilation", 1), dims)
        for k, p in zip(kernel, padding, strict=True):
            if p > k // 2:
                report.error(
                    f"padding {p} must be at most half the kernel size ({k} // 2 = {k // 2})",
                    arg="padding",
                )
                return NO_OUTPUT
        if x is None or not expect_rank(x, {dims + 1: LAYOUTS[dims]}, report):
            return NO_OUTPUT
        windows = [
            Window(size, k, s, p, d, args.ceil_mode)
            for size, k, s, p, d in zip(x.dims[1:], kernel, stride, padding, dilation, strict=True)
        ]
        sizes = window_outputs(windows, report)
        checked = self.kernel_within_input and None not in sizes
        if checked and not _kernel_within_input(self.name, windows, report):
            return NO_OUTPUT
        return Inferred(Shape((x.dims[0], *sizes)))

    def describe(self, args: PoolArgs, inputs: Sequence[Shape | None]) -> str:
        kernel = format_dims(expand(args.kernel_size, self.spatial_dims))
        # The stride defaults to the kernel size, so only another stride is news.
        parts = [kernel, *window_text(args, self.spatial_dims, stride_default=args.kernel_size)]
        if args.ceil_mode:
            parts.append("ceil")
        return ", ".join(parts)


class MaxPool1d(_PoolNd):
    name = "maxpool1d"
    summary = "1-D max pooling over a C×L input"
    torch_class = "MaxPool1d"
    spatial_dims = 1
    Args = _max_pool_args(1)
    examples = (
        valid(2, (4, 10)),
        valid({"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2}, (2, 9)),
        invalid({"kernel_size": 2, "padding": 2}, (3, 10), error="padding 2 must be at most half"),
    )


class MaxPool2d(_PoolNd):
    name = "maxpool2d"
    summary = "2-D max pooling over a C×H×W input"
    torch_class = "MaxPool2d"
    spatial_dims = 2
    aliases = ("maxpool", "max_pool", "MaxPooling2D", "pool")
    Args = _max_pool_args(2)
    examples = (
        valid(2, (6, 28, 28)),
        valid({"kernel_size": 3, "stride": 2, "ceil_mode": True}, (4, 8, 8)),
        valid({"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 0]}, (1, 5, 7)),
        invalid(5, (3, 4, 4), error="H_out = ⌊(4 − 5 + 2·0)/5⌋ + 1 = 0, must be ≥ 1"),
    )


class AvgPool1d(_PoolNd):
    name = "avgpool1d"
    summary = "1-D average pooling over a C×L input"
    torch_class = "AvgPool1d"
    spatial_dims = 1
    Args = _avg_pool_args(1)
    examples = (
        valid(3, (4, 10)),
        valid({"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, (2, 8)),
        invalid(2, (3, 4, 4), error="expects a C×L input"),
    )


class AvgPool2d(_PoolNd):
    name = "avgpool2d"
    summary = "2-D average pooling over a C×H×W input"
    torch_class = "AvgPool2d"
    spatial_dims = 2
    aliases = ("avgpool", "avg_pool", "AveragePooling2D")
    Args = _avg_pool_args(2)
    examples = (
        valid({"kernel_size": 2, "stride": 1, "padding": 1}, (3, 5, 5)),
        valid({"kernel_size": 3, "ceil_mode": True, "divisor_override": 2}, (2, 7, 7)),
        invalid(3, (3, 2, 2), error="H_out = ⌊(2 − 3 + 2·0)/3⌋ + 1 = 0"),
    )


class MaxPool3d(_PoolNd):
    name = "maxpool3d"
    summary = "3-D max pooling over a C×D×H×W input"
    torch_class = "MaxPool3d"
    spatial_dims = 3
    aliases = ("MaxPooling3D", "max_pool3d")
    Args = _max_pool_args(3)
    examples = (
        valid(2, (4, 4, 8, 8)),
        valid({"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}, (2, 3, 7, 7)),
        valid({"kernel_size": 2, "stride": 1, "dilation": 2, "ceil_mode": True}, (1, 5, 5, 6)),
        invalid(2, (3, 1, 4, 4), error="D_out = ⌊(1 − 2 + 2·0)/2⌋ + 1 = 0, must be ≥ 1"),
        invalid({"kernel_size": 3, "padding": [0, 2, 0]}, (1, 4, 8, 8), error="padding 2 must"),
        invalid(2, (4, 4), error="expects a C×D×H×W input"),
    )


class AvgPool3d(_PoolNd):
    name = "avgpool3d"
    summary = "3-D average pooling over a C×D×H×W input"
    torch_class = "AvgPool3d"
    spatial_dims = 3
    kernel_within_input = True
    shape_rule = _PoolNd.shape_rule.replace(
        "No params", "Every input size must be ≥ kernel_size, padding aside. No params"
    )
    aliases = ("AveragePooling3D", "avg_pool3d")
    Args = _avg_pool_args(3)
    examples = (
        valid(2, (3, 4, 6, 6)),
        valid(
            {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
            (2, 5, 5, 5),
        ),
        valid({"kernel_size": [2, 2, 3], "ceil_mode": True, "divisor_override": 3}, (1, 3, 5, 4)),
        invalid(3, (1, 2, 5, 4), error="D_out = ⌊(2 − 3 + 2·0)/3⌋ + 1 = 0"),
        invalid(
            {"kernel_size": 3, "padding": 1},
            (1, 2, 5, 5),
            error="avgpool3d needs every input size ≥ its kernel size, padding aside (PyTorch's "
            "rule), got D = 2 < 3",
        ),
        invalid({"kernel_size": 2, "divisor_override": 0}, (1, 4, 4, 4), error="divisor_override:"),
    )


class LPPoolArgs(LayerArgs):
    """What power-average pooling takes; each kind's model checks the sizes for its dims."""

    norm_type: float
    kernel_size: int | tuple[int, ...]
    stride: int | tuple[int, ...] | None
    ceil_mode: bool


_NORM_TYPE = "p of the power average (Σ x^p)^(1/p); not 0 (1: sum pooling)"


class LPPool1dArgs(LPPoolArgs):
    # PyTorch's lp_pool1d takes single ints: it multiplies by kernel_size
    norm_type: Float = Field(description=_NORM_TYPE)
    kernel_size: PositiveInt = Field(description="window size")
    stride: PositiveInt | None = Field(None, description="default: kernel_size")
    ceil_mode: Bool = Field(False, description="round the output size up, not down")


def _lp_pool_args(dims: int) -> type[LPPoolArgs]:
    class LPPoolNdArgs(LPPoolArgs):
        norm_type: Float = Field(description=_NORM_TYPE)
        kernel_size: Sizes(dims, what="window size")  # type: ignore[valid-type]
        stride: Sizes(dims, what="stride") | None = Field(None, description="default: kernel_size")  # type: ignore[valid-type]
        ceil_mode: Bool = Field(False, description="round the output size up, not down")

    LPPoolNdArgs.__name__ = LPPoolNdArgs.__qualname__ = f"LPPool{dims}dArgs"
    return LPPoolNdArgs


class _LPPoolNd(LayerKind[LPPoolArgs]):
    family = "pool"
    torch_positional = ("norm_type", "kernel_size")
    spatial_dims: int
    shape_rule = (
        "C unchanged; each spatial size ⌊(W − F)/S⌋ + 1 (⌈…⌉ with ceil_mode, dropping a last "
        "window that would start past the input), must be ≥ 1; no padding; stride defaults to "
        "kernel_size; norm_type must not be 0. No params, no MACs."
    )
    kernel_within_input: ClassVar[bool] = False  # it pools with avg_pool3d in 3-D

    def infer(self, args: LPPoolArgs, inputs: Sequence[Shape | None], report: Reporter) -> Inferred:
        (x,) = inputs
        dims = self.spatial_dims
        if args.norm_type == 0:
            report.error(
                "norm_type must not be 0: the power average takes the 1/norm_type-th root",
                arg="norm_type",
            )
            return NO_OUTPUT
        if x is None or not expect_rank(x, {dims + 1: LAYOUTS[dims]}, report):
            return NO_OUTPUT
        kernel = expand(args.kernel_size, dims)
        stride = expand(args.stride if args.stride is not None else args.kernel_size, dims)
        windows = [
            Window(size, k, s, 0, 1, args.ceil_mode)
            for size, k, s in zip(x.dims[1:], kernel, stride, strict=True)
        ]
        sizes = window_outputs(windows, report)
        checked = self.kernel_within_input and None not in sizes
        if checked and not _kernel_within_input(self.name, windows, report):
            return NO_OUTPUT
        return Inferred(Shape((x.dims[0], *sizes)))

    def describe(self, args: LPPoolArgs, inputs: Sequence[Shape | None]) -> str:
        kernel = format_dims(expand(args.kernel_size, self.spatial_dims))
        parts = [f"p = {args.norm_type:g}", kernel]
        parts += window_text(args, self.spatial_dims, stride_default=args.kernel_size)
        if args.ceil_mode:
            parts.append("ceil")
        return ", ".join(parts)


class LPPool1d(_LPPoolNd):
    name = "lppool1d"
    summary = "1-D power-average pooling over a C×L input: (Σ x^p)^(1/p) per window"
    torch_class = "LPPool1d"
    spatial_dims = 1
    Args = LPPool1dArgs
    examples = (
        valid({"norm_type": 2.0, "kernel_size": 3}, (4, 10)),
        valid({"norm_type": 1, "kernel_size": 2, "stride": 1, "ceil_mode": True}, (2, 5)),
        invalid({"norm_type": 2.0, "kernel_size": 4}, (3, 3), error="L_out = ⌊(3 − 4 + 2·0)/4⌋"),
        invalid({"norm_type": 0.0, "kernel_size": 2}, (3, 8), error="norm_type must not be 0"),
        invalid({"norm_type": 2.0, "kernel_size": [2]}, (3, 8), error="kernel_size: "),
    )


class LPPool2d(_LPPoolNd):
    name = "lppool2d"
    summary = "2-D power-average pooling over a C×H×W input: (Σ x^p)^(1/p) per window"
    torch_class = "LPPool2d"
    spatial_dims = 2
    Args = _lp_pool_args(2)
    examples = (
        valid({"norm_type": 2.0, "kernel_size": 2}, (3, 8, 8)),
        valid({"norm_type": 4, "kernel_size": [3, 2], "stride": [2, 1]}, (2, 7, 5)),
        valid({"norm_type": 1.0, "kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 2, 6)),
        invalid({"norm_type": 2.0, "kernel_size": 3}, (3, 2, 8), error="H_out = ⌊(2 − 3 + 2·0)/3⌋"),
        invalid({"norm_type": 2.0, "kernel_size": 2}, (8,), error="expects a C×H×W input"),
    )


class LPPool3d(_LPPoolNd):
    name = "lppool3d"
    summary = "3-D power-average pooling over a C×D×H×W input: (Σ x^p)^(1/p) per window"
    torch_class = "LPPool3d"
    spatial_dims = 3
    kernel_within_input = True
    shape_rule = _LPPoolNd.shape_rule.replace(
        "No params", "Every input size must be ≥ kernel_size. No params"
    )
    Args = _lp_pool_args(3)
    examples = (
        valid({"norm_type": 2.0, "kernel_size": 2}, (3, 4, 6, 6)),
        valid({"norm_type": 1, "kernel_size": [1, 2, 3], "stride": 2}, (2, 3, 5, 7)),
        invalid(
            {"norm_type": 2.0, "kernel_size": 3, "stride": 2, "ceil_mode": True},
            (1, 2, 5, 5),
            error="lppool3d needs every input size ≥ its kernel size",
        ),
        invalid({"norm_type": -1.0, "kernel_size": 2}, (4, 4), error="expects a C×D×H×W input"),
    )


def _adaptive_args(dims: int) -> type[AdaptivePoolArgs]:
    class AdaptivePoolNdArgs(AdaptivePoolArgs):
        output_size: OutputSizes(dims)  # type: ignore[valid-type]

    AdaptivePoolNdArgs.__name__ = AdaptivePoolNdArgs.__qualname__ = f"AdaptivePool{dims}dArgs"
    return AdaptivePoolNdArgs


class _AdaptivePoolNd(LayerKind[AdaptivePoolArgs]):
    family = "pool"
    main_arg = "output_size"
    torch_positional = ("output_size",)
    spatial_dims: int
    shape_rule = (
        "C unchanged; spatial sizes = output_size (null keeps the input's size); any input "
        "size ≥ 1 works. No params, no MACs."
    )

    def infer(
        self, args: AdaptivePoolArgs, inputs: Sequence[Shape | None], report: Reporter
    ) -> Inferred:
        (x,) = inputs
        dims = self.spatial_dims
        if x is None or not expect_rank(x, {dims + 1: LAYOUTS[dims]}, report):
            return NO_OUTPUT
        target = args.output_size
        sizes = target if isinstance(target, tuple) else (target,) * dims
        out = [size if want is None else want for size, want in zip(x.dims[1:], sizes, strict=True)]
        return Inferred(Shape((x.dims[0], *out)))

    def describe(self, args: AdaptivePoolArgs, inputs: Sequence[Shape | None]) -> str:
        target = args.output_size
        sizes = target if isinstance(target, tuple) else (target,) * self.spatial_dims
        return "to " + "×".join("·" if s is None else str(s) for s in sizes)


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    name = "adaptiveavgpool1d"
    summary = "average pooling to a fixed length, for C×L inputs"
    torch_class = "AdaptiveAvgPool1d"
    spatial_dims = 1
    Args = _adaptive_args(1)
    examples = (
        valid(4, (3, 10)),
        valid([7], (2, 5)),
        invalid([2, None], (3, 4), error="expected an integer ≥ 1 or a list of 1 integers (L)"),
    )


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    name = "adaptiveavgpool2d"
    summary = "average pooling to a fixed H×W (1 gives global average pooling)"
    torch_class = "AdaptiveAvgPool2d"
    spatial_dims = 2
    aliases = ("globalavgpool", "GlobalAveragePooling2D", "adaptive_avg_pool2d")
    Args = _adaptive_args(2)
    examples = (
        valid(1, (8, 7, 7)),
        valid([2, None], (3, 5, 6)),
        invalid(2, (4,), error="expects a C×H×W input"),
    )


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    name = "adaptivemaxpool1d"
    summary = "max pooling to a fixed length, for C×L inputs"
    torch_class = "AdaptiveMaxPool1d"
    spatial_dims = 1
    Args = _adaptive_args(1)
    examples = (
        valid(2, (3, 9)),
        valid({"output_size": 4}, (1, 4)),
        invalid(0, (3, 4), error="expected an integer ≥ 1"),
    )


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    name = "adaptivemaxpool2d"
    summary = "max pooling to a fixed H×W (1 gives global max pooling)"
    torch_class = "AdaptiveMaxPool2d"
    spatial_dims = 2
    aliases = ("globalmaxpool", "GlobalMaxPooling2D", "adaptive_max_pool2d")
    Args = _adaptive_args(2)
    examples = (
        valid([3, 2], (2, 7, 5)),
        valid(1, (4, 3, 3)),
        invalid(2, (4,), error="expects a C×H×W input"),
    )


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    name = "adaptiveavgpool3d"
    summary = "average pooling to a fixed D×H×W (1 gives global average pooling)"
    torch_class = "AdaptiveAvgPool3d"
    spatial_dims = 3
    aliases = ("GlobalAveragePooling3D", "adaptive_avg_pool3d")
    Args = _adaptive_args(3)
    examples = (
        valid(1, (8, 3, 7, 7)),
        valid([None, 2, 3], (3, 4, 5, 6)),
        invalid(2, (5, 5), error="expects a C×D×H×W input"),
        invalid([2, 2], (4, 2, 5, 5), error="expected an integer ≥ 1 or a list of 3 integers"),
    )


class AdaptiveMaxPool3d(_AdaptivePoolNd):
    name = "adaptivemaxpool3d"
    summary = "max pooling to a fixed D×H×W (1 gives global max pooling)"
    torch_class = "AdaptiveMaxPool3d"
    spatial_dims = 3
    aliases = ("GlobalMaxPooling3D", "adaptive_max_pool3d")
    Args = _adaptive_args(3)
    examples = (
        valid([2, 3, None], (2, 4, 7, 5)),
        valid(1, (4, 3, 3, 3)),
        invalid(2, (5, 5), error="expects a C×D×H×W input"),
        invalid(0, (1, 2, 2, 2), error="expected an integer ≥ 1"),
    )
