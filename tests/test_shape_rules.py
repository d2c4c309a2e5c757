"""PyTorch's size rules, one by one, with the exact messages a user sees."""

from __future__ import annotations

import pytest
from helpers import check, error_lines, shapes_of, warning_lines


def chain(input_size: str, *layers: str) -> str:
    body = "\n".join(f"  - {layer}" for layer in layers)
    return f"name: t\ninput: {input_size}\nlayers:\n{body}\n"


def output(input_size: str, *layers: str) -> tuple[int | None, ...] | None:
    return list(shapes_of(chain(input_size, *layers)).values())[-1]


# --- convolution -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ("conv2d: {out_channels: 6, kernel_size: 5}", (6, 24, 24)),
        ("conv2d: {out_channels: 6, kernel_size: 5, padding: 2}", (6, 28, 28)),
        ("conv2d: {out_channels: 6, kernel_size: 3, stride: 2}", (6, 13, 13)),
        ("conv2d: {out_channels: 6, kernel_size: 3, dilation: 2}", (6, 24, 24)),
        ("conv2d: {out_channels: 6, kernel_size: [3, 5], padding: [1, 0]}", (6, 28, 24)),
        ("conv2d: {out_channels: 6, kernel_size: 4, padding: same}", (6, 28, 28)),
        ("conv2d: {out_channels: 6, kernel_size: 4, padding: same, dilation: 3}", (6, 28, 28)),
        ("conv2d: {out_channels: 6, kernel_size: 3, padding: valid}", (6, 26, 26)),
        ("conv2d: {out_channels: 4, kernel_size: 3, groups: 1}", (4, 26, 26)),
    ],
)
def test_conv2d_output_sizes(layer: str, expected: tuple[int, ...]) -> None:
    assert output("[1, 28, 28]", layer) == expected


def test_conv_too_small_shows_the_arithmetic() -> None:
    assert error_lines(chain("[16, 4, 4]", "conv2d: {out_channels: 8, kernel_size: 5}")) == [
        "spec.yaml:4:5: conv2d 'conv2d_1': "
        "H_out = ⌊(4 − 5 + 2·0)/1⌋ + 1 = 0, must be ≥ 1; "
        "W_out = ⌊(4 − 5 + 2·0)/1⌋ + 1 = 0, must be ≥ 1"
    ]


def test_conv_with_dilation_shows_the_dilated_formula() -> None:
    layers = ("conv2d: {out_channels: 8, kernel_size: 3, dilation: [1, 5]}",)
    assert error_lines(chain("[1, 10, 10]", *layers)) == [
        "spec.yaml:4:5: conv2d 'conv2d_1': "
        "W_out = ⌊(10 + 2·0 − 5·(3 − 1) − 1)/1⌋ + 1 = 0, must be ≥ 1"
    ]


def test_conv1d() -> None:
    assert output("[3, 100]", "conv1d: {out_channels: 8, kernel_size: 7, stride: 3}") == (8, 32)
    assert error_lines(chain("[3, 4]", "conv1d: {out_channels: 8, kernel_size: 7}")) == [
        "spec.yaml:4:5: conv1d 'conv1d_1': L_out = ⌊(4 − 7 + 2·0)/1⌋ + 1 = -2, must be ≥ 1"
    ]


def test_groups_must_divide_channels() -> None:
    grouped = "conv2d: {out_channels: 4, kernel_size: 3, groups: 2}"
    assert error_lines(chain("[3, 8, 8]", grouped)) == [
        "spec.yaml:4:47: conv2d 'conv2d_1': in_channels (3) must be divisible by groups (2)"
    ]
    grouped = "conv2d: {out_channels: 6, kernel_size: 3, groups: 4}"
    assert error_lines(chain("[4, 8, 8]", grouped)) == [
        "spec.yaml:4:47: conv2d 'conv2d_1': out_channels (6) must be divisible by groups (4)"
    ]


def test_grouped_conv_parameters() -> None:
    checked = check(chain("[4, 8, 8]", "conv2d: {out_channels: 8, kernel_size: 3, groups: 4}"))
    assert checked.graph is not None
    assert next(checked.graph.layers()).weights == {"weight": (8, 1, 3, 3), "bias": (8,)}


def test_same_padding_needs_stride_1() -> None:
    layers = ("conv2d: {out_channels: 4, kernel_size: 3, padding: same, stride: 2}",)
    assert error_lines(chain("[3, 8, 8]", *layers)) == [
        "spec.yaml:4:47: conv2d 'conv2d_1': padding 'same' needs stride 1 "
        "(PyTorch rejects strided 'same' convolutions), got stride 2"
    ]


def test_written_in_channels_is_checked() -> None:
    layers = ("conv2d: {in_channels: 3, out_channels: 4, kernel_size: 3}",)
    assert error_lines(chain("[1, 8, 8]", *layers)) == [
        "spec.yaml:4:14: conv2d 'conv2d_1': in_channels is 3 but the input has 1 channel"
    ]


def test_reflect_padding_must_fit_the_input() -> None:
    layers = ("conv2d: {out_channels: 1, kernel_size: 3, padding: 2, padding_mode: reflect}",)
    assert error_lines(chain("[3, 2, 5]", *layers)) == [
        "spec.yaml:4:47: conv2d 'conv2d_1': reflect padding must be less than the input size, "
        "got 2 ≥ H = 2"
    ]


def test_conv_needs_an_image() -> None:
    conv = "conv2d: {out_channels: 4, kernel_size: 3}"
    assert error_lines(chain("[3, 8, 8]", "flatten", conv)) == [
        "spec.yaml:5:5: conv2d 'conv2d_1': expects a C×H×W input (batch excluded), got 192"
    ]


# --- pooling -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "size", "expected"),
    [
        ("maxpool2d: 2", 28, 14),
        ("maxpool2d: 2", 13, 6),  # floors
        ("maxpool2d: {kernel_size: 2, ceil_mode: true}", 13, 7),
        ("maxpool2d: {kernel_size: 3, stride: 2, padding: 1}", 28, 14),
        ("maxpool2d: {kernel_size: 3, stride: 1, dilation: 2}", 10, 6),
        # ceil_mode's last-window rule: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but the 4th window would start
        # at 6 ≥ 5 + 1, inside the right padding, so PyTorch drops it.
        ("maxpool2d: {kernel_size: 2, stride: 2, padding: 1, ceil_mode: true}", 5, 3),
        ("avgpool2d: {kernel_size: 2, stride: 3, padding: 1, ceil_mode: true}", 2, 1),
        ("avgpool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}", 5, 3),
        ("avgpool2d: {kernel_size: 2, stride: 2}", 28, 14),
    ],
)
def test_pool_output_sizes(layer: str, size: int, expected: int) -> None:
    assert output(f"[2, {size}, {size}]", layer) == (2, expected, expected)


def test_ceil_mode_formula_explains_the_dropped_window() -> None:
    from netspec.shapes import Window

    window = Window(size=5, kernel=2, stride=2, padding=1, ceil_mode=True)
    assert window.output() == 3
    assert window.formula("H") == (
        "H_out = ⌈(5 − 2 + 2·1)/2⌉ + 1 − 1 = 3 (ceil_mode drops a last window that starts "
        "in the padding)"
    )


def test_pool_padding_at_most_half_the_kernel() -> None:
    assert error_lines(chain("[1, 8, 8]", "maxpool2d: {kernel_size: 3, padding: 2}")) == [
        "spec.yaml:4:33: maxpool2d 'maxpool2d_1': padding 2 must be at most half the kernel "
        "size (3 // 2 = 1)"
    ]


def test_pool_too_small() -> None:
    assert error_lines(chain("[1, 3, 8]", "maxpool2d: 4")) == [
        "spec.yaml:4:5: maxpool2d 'maxpool2d_1': H_out = ⌊(3 − 4 + 2·0)/4⌋ + 1 = 0, must be ≥ 1"
    ]


def test_adaptive_pools() -> None:
    assert output("[8, 7, 9]", "adaptiveavgpool2d: 1") == (8, 1, 1)
    assert output("[8, 7, 9]", "adaptivemaxpool2d: [3, null]") == (8, 3, 9)
    assert output("[8, 3, 3]", "adaptiveavgpool2d: 5") == (8, 5, 5)  # may grow, as PyTorch
    assert output("[8, 30]", "adaptiveavgpool1d: 4") == (8, 4)


# --- flatten, linear, batch norm, activations, dropout -----------------------------------------


def test_flatten_dims() -> None:
    assert output("[16, 5, 5]", "flatten") == (400,)
    assert output("[16, 5, 5]", "flatten: {start_dim: 2}") == (16, 25)
    assert output("[16, 5, 5]", "flatten: {start_dim: 1, end_dim: 2}") == (80, 5)
    assert output("[16, 5, 5]", "flatten: {start_dim: -2}") == (16, 25)


def test_flatten_bad_dims() -> None:
    assert error_lines(chain("[16, 5, 5]", "flatten: {start_dim: 2, end_dim: 1}")) == [
        "spec.yaml:4:15: flatten 'flatten_1': start_dim 2 comes after end_dim 1 for a 4-D "
        "tensor (N, 16, 5, 5)"
    ]
    assert error_lines(chain("[16, 5, 5]", "flatten: {end_dim: 4}")) == [
        "spec.yaml:4:15: flatten 'flatten_1': end_dim 4 is out of range for a 4-D tensor "
        "(N, 16, 5, 5): expected -4 … 3"
    ]
    assert error_lines(chain("[16, 5, 5]", "flatten: 0")) == [
        "spec.yaml:4:14: flatten 'flatten_1': start_dim 0 would merge the batch into the "
        "features; use start_dim ≥ 1"
    ]


def test_linear_acts_on_the_last_dim() -> None:
    yaml = chain("[3, 8, 8]", "linear: 10")
    assert output("[3, 8, 8]", "linear: 10") == (3, 8, 10)
    assert warning_lines(yaml) == [
        "spec.yaml:4:5: warning: linear 'linear_1': linear acts on the last dim of the 3×8×8 "
        "input, not on all of it; add a flatten before it to use every feature (or write "
        "in_features to say the last dim is meant)"
    ]
    # written, it says the last dim is meant: no warning
    assert warning_lines(chain("[3, 8, 8]", "linear: {in_features: 8, out_features: 10}")) == []
    assert error_lines(chain("[16, 5, 5]", "linear: {in_features: 400, out_features: 3}")) == [
        "spec.yaml:4:14: linear 'linear_1': in_features is 400 but the input has 5 features; "
        "linear acts on the last dim of 16×5×5: add a flatten before it"
    ]


def test_batchnorm() -> None:
    assert error_lines(chain("[3, 8, 8]", "batchnorm2d: 4")) == [
        "spec.yaml:4:18: batchnorm2d 'batchnorm2d_1': num_features is 4 but the input has "
        "3 channels"
    ]
    assert error_lines(chain("[3, 8, 8]", "flatten", "batchnorm2d")) == [
        "spec.yaml:5:5: batchnorm2d 'batchnorm2d_1': expects a C×H×W input (batch excluded), "
        "got 192"
    ]
    checked = check(chain("[3, 8]", "batchnorm1d: {affine: false}", "batchnorm1d"))
    assert checked.graph is not None
    assert [r.weights for r in checked.graph.layers()] == [{}, {"weight": (3,), "bias": (3,)}]


def test_softmax_dim() -> None:
    assert error_lines(chain("[10]", "softmax: 2")) == [
        "spec.yaml:4:14: softmax 'softmax_1': dim 2 is out of range for a 2-D tensor (N, 10): "
        "expected -2 … 1"
    ]
    assert "dim 0 is the batch" in warning_lines(chain("[10]", "logsoftmax: 0"))[0]


def test_dropout2d_needs_channels_and_space() -> None:
    assert error_lines(chain("[10]", "dropout2d: 0.2")) == [
        "spec.yaml:4:5: dropout2d 'dropout2d_1': expects a C×H×W input (batch excluded), got 10"
    ]
    assert output("[4, 10]", "dropout1d") == (4, 10)
    assert output("[4, 3, 3]", "dropout: 0.3", "gelu: tanh", "elu", "silu", "leakyrelu: 0.2") == (
        4,
        3,
        3,
    )


# --- graphs ------------------------------------------------------------------------------------

GRAPH = """
name: g
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    name: a
  - conv2d: {out_channels: 4, kernel_size: 1}
    from: input
    name: b
  - MERGE
    from: [a, b]
"""


def graph(merge: str) -> str:
    return GRAPH.replace("MERGE", merge)


def test_add_and_concat_shapes() -> None:
    assert shapes_of(graph("add:"))["add_1"] == (4, 8, 8)
    assert shapes_of(graph("concat:"))["concat_1"] == (8, 8, 8)
    assert shapes_of(graph("concat: -1"))["concat_1"] == (4, 8, 16)


def test_add_of_mismatched_shapes_names_both() -> None:
    yaml = graph("add:").replace("padding: 1", "padding: 0")
    assert error_lines(yaml) == [
        "spec.yaml:9:5: add 'add_1': cannot broadcast 4×6×6 ('a') with 4×8×8 ('b'): dim 2 is 6 vs 8"
    ]


def test_add_and_mul_broadcast_like_pytorch() -> None:
    # squeeze-and-excitation: the C×1×1 gate scales the C×H×W features
    squeezed = graph("mul:").replace("kernel_size: 1", "kernel_size: 8")
    assert shapes_of(squeezed)["b"] == (4, 1, 1)
    assert shapes_of(squeezed)["mul_1"] == (4, 8, 8)
    assert shapes_of(squeezed.replace("mul:", "add:"))["add_1"] == (4, 8, 8)
    wrong = squeezed.replace("out_channels: 4, kernel_size: 8", "out_channels: 2, kernel_size: 8")
    assert error_lines(wrong) == [
        "spec.yaml:9:5: mul 'mul_1': cannot broadcast 4×8×8 ('a') with 2×1×1 ('b'): dim 1 is 4 vs 2"
    ]


def test_broadcasting_needs_one_rank() -> None:
    # (N, 4, 8, 8) + (N, 4) would align N with H: refused, not broadcast
    yaml = graph("add:").replace("conv2d: {out_channels: 4, kernel_size: 1}", "flatten:")
    assert error_lines(yaml) == [
        "spec.yaml:9:5: add 'add_1': cannot broadcast 4×8×8 ('a') with 192 ('b'): their ranks "
        "differ (3 and 1 dims besides the batch), so the batch of one would line up with a "
        "feature dim of the other"
    ]


def test_concat_needs_the_other_dims_equal() -> None:
    yaml = graph("concat:").replace("padding: 1", "padding: 0")
    assert error_lines(yaml) == [
        "spec.yaml:9:5: concat 'concat_1': inputs must agree on every dim but dim 1, "
        "got 4×6×6 ('a'), 4×8×8 ('b')"
    ]
    assert error_lines(graph("concat: 0")) == [
        "spec.yaml:9:13: concat 'concat_1': dim 0 is the batch; join along a feature dim, "
        "e.g. 1 (channels)"
    ]


def test_inference_continues_past_an_error() -> None:
    # conv1 fails; its channel count is still known, so the later linear is still checked.
    yaml = chain(
        "[1, 4, 4]",
        "conv2d: {out_channels: 8, kernel_size: 5}",
        "flatten",
        "linear: {in_features: 7, out_features: 3}",
        "linear: {in_features: 5, out_features: 2}",
    )
    assert error_lines(yaml) == [
        "spec.yaml:4:5: conv2d 'conv2d_1': H_out = ⌊(4 − 5 + 2·0)/1⌋ + 1 = 0, must be ≥ 1; "
        "W_out = ⌊(4 − 5 + 2·0)/1⌋ + 1 = 0, must be ≥ 1",
        "spec.yaml:7:14: linear 'linear_2': in_features is 5 but the input has 3 features",
    ]
    checked = check(yaml)
    assert checked.graph is not None
    # Unknown sizes are not guessed.
    assert [r.output.dims if r.output else None for r in checked.graph.layers()] == [
        (8, None, None),
        (None,),
        (3,),
        (2,),
    ]
    # Parameters stay countable: conv 8·1·5·5 + 8, the written 7·3 + 3, then 3·2 + 2; the
    # conv's MACs depend on its unknown output size.
    assert checked.graph.total_params == 208 + 24 + 8
    assert checked.graph.total_macs is None


# --- tensor operations -------------------------------------------------------------------------


def test_a_transformer_stem_in_tensor_operations() -> None:
    layers = (
        "conv2d: {out_channels: 8, kernel_size: 4, stride: 4}",
        "flatten: 2",
        "transpose: {dim0: 1, dim1: 2}",
        "narrow: {dim: 1, start: 1, length: 63}",
        "reshape: [-1, 9, 8]",
        "permute: [0, 3, 1, 2]",
        "pad: [1, 1, 0, 2]",
        "mean: {dim: [-1, -2], keepdim: true}",
        "unflatten: {dim: 1, sizes: [2, -1]}",
        "select: {dim: 2, index: -1}",
        "amax: 2",
    )
    shapes = list(shapes_of(chain("[3, 32, 32]", *layers)).values())
    assert shapes == [
        (8, 8, 8),
        (8, 64),
        (64, 8),
        (63, 8),
        (7, 9, 8),
        (8, 7, 9),
        (8, 9, 11),
        (8, 1, 1),
        (2, 4, 1, 1),
        (2, 1, 1),
        (2, 1),
    ]


@pytest.mark.parametrize(
    ("input_size", "layer", "message"),
    [
        (
            "[3, 4, 5]",
            "permute: [1, 0, 2, 3]",
            "dims [1, 0, 2, 3] would move the batch; keep 0 first",
        ),
        (
            "[3, 4, 5]",
            "permute: [0, 3, -1, 1]",
            "dims [0, 3, -1, 1] names dim 3 twice (as 3 and -1)",
        ),
        (
            "[3, 4, 5]",
            "permute: [0, 1, 2]",
            "dims [0, 1, 2] leaves out dim 3 of the 4-D tensor (N, 3, 4, 5); name every dim once",
        ),
        (
            "[3, 4, 5]",
            "transpose: {dim0: -4, dim1: 2}",
            "dim0 -4 is the batch; transpose two feature dims (1 or more)",
        ),
        (
            "[196, 768]",
            "reshape: [14, 14, 700]",
            "shape [14, 14, 700] has 137200 elements per sample, the input 196×768 has 150528",
        ),
        (
            "[196, 768]",
            "reshape: [5, -1]",
            "shape [5, -1] cannot hold the input 196×768: its 150528 elements are no multiple of 5",
        ),
        (
            "[16, 3]",
            "unflatten: {dim: 0, sizes: [4, 4]}",
            "dim 0 is the batch; unflatten a feature dim (1 or more)",
        ),
        (
            "[16, 3]",
            "unflatten: {dim: 1, sizes: [5, -1]}",
            "sizes [5, -1] cannot hold dim 1: its 16 elements are no multiple of 5",
        ),
        (
            "[5, 8]",
            "select: {dim: 0, index: 1}",
            "dim 0 is the batch; select from a feature dim (1 or more)",
        ),
        (
            "[5, 8]",
            "select: {dim: 1, index: -6}",
            "index -6 is out of range for dim 1 of size 5: expected -5 … 4",
        ),
        (
            "[5, 8]",
            "narrow: {dim: 2, start: -3, length: 4}",
            "start -3 (5) + length 4 = 9 runs past dim 2 of size 8",
        ),
        (
            "[8, 5, 5]",
            "mean: [0, 2]",
            "dim 0 is the batch; mean over feature dims (1 or more)",
        ),
        (
            "[8, 5, 5]",
            "sum: [1, 1]",
            "dim [1, 1] names dim 1 twice",
        ),
        (
            "[3, 4]",
            "pad: [1, 1, 1, 1, 1, 1]",
            "pad has 3 (left, right) pairs, more than the 2 dims of 3×4 (the batch is never "
            "padded)",
        ),
        (
            "[3, 4]",
            "pad: [-2, -2]",
            "dim 2: 4 − 2 − 2 = 0, must be ≥ 1",
        ),
        (
            "[3, 4]",
            "pad: {pad: [4, 1], mode: reflect}",
            "reflect pads less than the size: 4 at dim 2 of size 4",
        ),
        (
            "[3, 4, 4, 4]",
            "pad: {pad: [1, 1, 1, 1], mode: replicate}",
            "replicate padding of 2 dims needs an H×W or C×H×W input, got 3×4×4×4",
        ),
    ],
)
def test_tensor_operations_refuse_with_the_reason(
    input_size: str, layer: str, message: str
) -> None:
    (line,) = error_lines(chain(input_size, layer))
    kind = layer.split(":")[0]
    assert line.split(f"{kind} '{kind}_1': ", 1)[1] == message
