"""The language beyond chains of single tensors: token-id inputs, layers with several outputs
(``from: name.1``), blocks that read their input's sizes or take several inputs, and errors
that say what was meant without suggesting something that computes differently."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import check, error_lines
from test_codegen_names import assert_runs_like_build
from test_compile import ruff

import netspec
from netspec.cli import main
from netspec.report import to_json
from netspec.spec.source import parse_yaml

# --- inputs that hold token ids ---------------------------------------------------------------

LSTM_CLASSIFIER = """
name: lstm_classifier
input: {shape: [32], dtype: long}
layers:
  - embedding: {num_embeddings: 1000, embedding_dim: 64}
  - lstm: {hidden_size: 128, num_layers: 2, bidirectional: true}
    name: lstm
  - select: {dim: 1, index: -1}
    from: lstm.1
  - linear: 4
"""


def test_token_ids_flow_through_an_embedding_and_an_lstm() -> None:
    checked = check(LSTM_CLASSIFIER)
    assert checked.ok, checked.errors
    graph = checked.valid_graph()
    assert graph.input_shape is not None and graph.input_shape.dtype == "long"
    lstm = next(layer for layer in graph.layers() if layer.name == "lstm")
    # the sequence, then h_n and c_n batch first: (2 layers · 2 directions, hidden)
    assert [s.dims for s in lstm.outputs if s] == [(32, 256), (4, 128), (4, 128)]
    assert graph.output_shape is not None and graph.output_shape.dims == (4,)
    source = assert_runs_like_build(checked)
    assert "torch.zeros(2, *INPUT_SHAPE, dtype=torch.long)" in source
    assert "_, (lstm_1, _) = self.lstm(x)" in source
    assert "lstm_1 = lstm_1.transpose(0, 1)  # batch first" in source


def test_the_lstm_output_selected_is_pytorchs_last_layer_state() -> None:
    checked = check(LSTM_CLASSIFIER)
    model = netspec.build(checked).eval()
    tokens = torch.randint(0, 1000, (3, 32))
    with torch.no_grad():
        _, (h_n, _) = model.lstm(model.embedding_1(tokens))
        expected = model.linear_1(h_n[-1])  # the last layer's backward direction
        assert torch.allclose(model(tokens), expected)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "name: t\ninput: [8]\nlayers:\n  - embedding: {num_embeddings: 10, embedding_dim: 4}\n",
            "spec.yaml:4:5: embedding 'embedding_1': expects token ids (an input with dtype: "
            "long), but 'input' holds float32 values",
        ),
        (
            "name: t\ninput: {shape: [8], dtype: long}\nlayers:\n  - linear: 4\n",
            "spec.yaml:4:5: linear 'linear_1': expects a float tensor, but 'input' holds token "
            "ids (long); an embedding turns them into vectors",
        ),
        (
            "name: t\ninput: {shape: [8], dtype: int8}\nlayers:\n  - relu\n",
            "spec.yaml:2:28: input.dtype: expected 'float32' or 'long', got 'int8' (a string)",
        ),
        (
            "name: t\ninput: {shape: [8], dtyp: long}\nlayers:\n  - relu\n",
            "spec.yaml:2:21: input: unknown key 'dtyp' (did you mean 'dtype'?)",
        ),
    ],
)
def test_dtype_errors(spec: str, message: str) -> None:
    assert error_lines(spec) == [message]


# --- several outputs --------------------------------------------------------------------------


def test_split_outputs_are_read_by_index() -> None:
    checked = check(
        """
        name: halves
        input: [8, 4]
        layers:
          - chunk: 2
            name: parts
          - mul:
            from: [parts, parts.1]
          - flatten
        """
    )
    assert checked.ok, checked.errors
    source = assert_runs_like_build(checked)
    assert "parts, parts_1 = torch.chunk(input, 2, dim=1)" in source


def test_reading_an_output_that_does_not_exist() -> None:
    assert error_lines(
        """
        name: t
        input: [8, 4]
        layers:
          - split: [3, 5]
            name: parts
          - add:
            from: [parts.0, parts.2]
          - linear: 2
            from: relu.1
        """
    ) == [
        "spec.yaml:7:21: add 'add_1': from: 'parts.2': 'parts' has 2 outputs: parts.0, parts.1",
        "spec.yaml:9:11: linear 'linear_1': from: 'relu.1': 'relu' is not a layer of this spec",
    ]


# --- blocks: their input's sizes, several inputs, counted repeats -----------------------------

UNET = """
name: unet_small
input: [1, 32, 32]
blocks:
  double_conv:
    params: {channels: null}
    layers:
      - conv2d: {out_channels: channels, kernel_size: 3, padding: 1}
      - relu:
      - conv2d: {out_channels: channels, kernel_size: 3, padding: 1}
      - relu:
  up:                       # a decoder stage: the path from below (input) and a skip (input.1)
    params: {channels: null}
    layers:
      - convtranspose2d: {out_channels: in_channels // 2, kernel_size: 2, stride: 2}
      - concat:
        from: [input.1, convtranspose2d_1]
      - double_conv: channels
layers:
  - double_conv: 16
    name: enc1
  - maxpool2d: 2
  - double_conv: 32
    name: enc2
  - maxpool2d: 2
  - double_conv: 64
    name: bottom
  - up: 32
    from: [bottom, enc2]
  - up: 16
    from: [up_1, enc1]
  - conv2d: {out_channels: 2, kernel_size: 1}
"""


def test_a_block_with_two_inputs_is_one_class_taking_both_channels() -> None:
    checked = check(UNET)
    assert checked.ok, checked.errors
    assert checked.valid_graph().output_shape.dims == (2, 32, 32)  # type: ignore[union-attr]
    source = assert_runs_like_build(checked)
    assert "def __init__(self, in_channels: int, in_channels_1: int, channels: int)" in source
    assert "def forward(self, input: torch.Tensor, input_1: torch.Tensor) -> torch.Tensor:" in (
        source
    )
    assert "in_channels_1 + in_channels // 2, channels=channels" in source
    assert "self.up_1 = Up(64, in_channels_1=32, channels=32)" in source


def test_a_block_is_given_as_many_inputs_as_it_reads() -> None:
    assert error_lines(
        """
        name: t
        input: [8, 4]
        blocks:
          b:
            layers:
              - add:
                from: [input, input.1]
        layers:
          - relu
          - b
          - b:
            from: [relu_1, b_1, relu_1]
        """
    ) == [
        "spec.yaml:10:5: b 'b_1': block b reads 2 inputs (input, input.1), got 1; list them "
        "with from: [a, b]",
        "spec.yaml:12:11: b 'b_2': block b reads 2 inputs (input, input.1), got 3 in from:",
    ]


def test_a_block_reads_its_inputs_sizes_in_expressions() -> None:
    checked = check(
        """
        name: inverted
        input: [16, 8, 8]
        blocks:
          expand:
            params: {ratio: 6}
            layers:
              - conv2d: {out_channels: in_channels * ratio, kernel_size: 1}
              - conv2d:
                  out_channels: max(8, in_channels // 4)
                  kernel_size: 1
          tokens:
            layers:
              - linear: in_features * 2
        layers:
          - expand
          - expand: 2
          - flatten: {start_dim: 2}
          - tokens
        """
    )
    assert checked.ok, checked.errors
    shapes = [layer.output.dims for layer in checked.valid_graph().layers()]  # type: ignore[union-attr]
    assert shapes == [(96, 8, 8), (8, 8, 8), (16, 8, 8), (8, 8, 8), (8, 64), (8, 128)]
    source = assert_runs_like_build(checked)
    assert "nn.Conv2d(in_channels, in_channels * ratio, kernel_size=1)" in source
    assert "in_channels * ratio, max(8, in_channels // 4), kernel_size=1" in source
    assert "def __init__(self, in_channels: int, in_features: int) -> None:" in source


def test_an_operation_in_a_block_reads_the_uses_parameter() -> None:
    checked = check(
        """
        name: regroup
        input: [4, 4, 4]
        blocks:
          narrowed:
            params: {width: null}
            layers:
              - narrow: {dim: 1, start: 0, length: width}
              - pad: [width, width]
        layers:
          - narrowed: 2
          - narrowed: 1
        """
    )
    assert checked.ok, checked.errors
    assert checked.valid_graph().output_shape.dims == (1, 4, 10)  # type: ignore[union-attr]
    source = assert_runs_like_build(checked)
    assert "self.width = width" in source
    assert "input.narrow(1, 0, self.width)" in source


# --- errors that do not mislead ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("layer_norm", " (did you mean 'layernorm'?)"),
        ("LayerNorm", " (did you mean 'layernorm'?)"),
        ("Conv2D", " (did you mean 'conv2d'?)"),
        ("dense", " (did you mean 'linear'?)"),
        ("swish", " (did you mean 'silu'?)"),
        ("lineer", " (did you mean 'linear'?)"),
        ("convtranspose2D", " (did you mean 'convtranspose2d'?)"),
        # never a kind that computes something else
        ("relu7", ""),
        ("hardtan", ""),
        ("conv4d", ""),
        ("softmax3d", ""),
    ],
)
def test_did_you_mean_only_offers_spellings_of_the_same_kind(written: str, hint: str) -> None:
    spec = f"name: t\ninput: [4]\nlayers:\n  - {written}\n"
    assert error_lines(spec) == [f"spec.yaml:4:5: unknown layer kind '{written}'{hint}"]


def test_an_unknown_kind_keeps_its_name_in_the_table() -> None:
    checked = check("name: t\ninput: [4]\nlayers:\n  - dense: 3\n")
    (layer,) = checked.graph.layers()  # type: ignore[union-attr]
    assert (layer.name, layer.kind_name) == ("dense_1", "dense")


def test_a_bare_kind_followed_by_its_name_says_to_add_a_colon() -> None:
    text = "name: t\ninput: [4]\nlayers:\n  - relu\n    name: act\n"
    _, problems = parse_yaml(text, "spec.yaml")
    assert [str(p) for p in problems] == [
        "spec.yaml:5:9: invalid YAML: mapping values are not allowed in this context; a bare "
        "'- relu' is complete on its line: to give it a name, from or repeat, write '- relu:' "
        "(with a colon) and put those keys under it"
    ]


def test_yaml_cutting_an_expression_at_a_comma_is_explained() -> None:
    errors = error_lines(
        """
        name: t
        input: [4]
        blocks:
          b:
            params: {channels: 64}
            layers:
              - linear: {out_features: max(8, channels // 4)}
        layers:
          - b
        """
    )
    assert errors == [
        "spec.yaml:7:32: linear 'b_1.linear_1': out_features: missing ')' after the arguments "
        "of max in 'max(8' (in a {…} mapping a comma ends the value: quote it) (in b 'b_1', "
        "used at line 9)"
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "abs(channels)",
            "unknown function 'abs' in 'abs(channels)': expressions have numbers, parameter "
            "names, + - * / //, parentheses and min, max, round, int(…)",
        ),
        (
            "channels * 1.5",
            "out_features: expected an integer, got 96.0; an expression gave a decimal here: "
            "round it with round(…) or int(…)",
        ),
    ],
)
def test_expression_errors_say_what_expressions_support(expression: str, message: str) -> None:
    errors = error_lines(
        f"""
        name: t
        input: [4]
        blocks:
          b:
            params: {{channels: 64}}
            layers:
              - linear: {expression}
        layers:
          - b
        """
    )
    assert len(errors) == 1 and message in errors[0], errors


def test_a_decimal_block_parameter_reaches_the_class_by_name() -> None:
    checked = check(
        """
        name: drops
        input: [16]
        blocks:
          head:
            params: {p: 0.5, width: 8}
            layers:
              - dropout: p * 0.5
              - linear: width
        layers:
          - head
          - head: {p: 0.2, width: 4}
        """
    )
    assert checked.ok, checked.errors
    rates = [
        layer.args.p for layer in checked.valid_graph().layers() if layer.kind_name == "dropout"
    ]  # type: ignore[union-attr]
    assert rates == [0.25, 0.1]
    source = assert_runs_like_build(checked)
    assert "def __init__(self, in_channels: int, p: float = 0.5, width: int = 8) -> None:" in source
    assert "nn.Dropout(p=p * 0.5)" in source
    assert "Head(8, p=0.2, width=4)" in source


TAPPED = """
name: tapped
input: [1, 32, 32]
blocks:
  down:
    params: {channels: null}
    layers:
      - conv2d: {out_channels: channels, kernel_size: 3, padding: 1}
        name: conv
      - relu:
        name: act
      - maxpool2d: 2
  up:
    layers:
      - upsample: 2
      - concat:
        from: [input.1, upsample_1]
layers:
  - down: 8
    name: enc1
  - down: 16
    name: enc2
  - up:
    from: [enc2, enc2.act]
  - up:
    from: [up_1, enc1.act]
  - conv2d: {out_channels: 2, kernel_size: 1}
"""


def test_from_reads_a_layer_inside_an_earlier_block_use() -> None:
    checked = check(TAPPED)
    assert checked.ok, checked.errors
    up = checked.valid_graph().groups["up_2"]
    assert up.inputs == ("up_1.concat_1", "enc1.act")
    assert checked.valid_graph().groups["enc1"].taps == ("enc1.act",)
    source = assert_runs_like_build(checked)
    # the block returns what is read inside it after its output, in every use
    assert "def forward(self, input: torch.Tensor) -> tuple[torch.Tensor, ...]:" in source
    assert "        return x, act" in source
    assert "enc1, enc1_act = self.enc1(input)" in source
    assert "x = self.up_2(up_1, enc1_act)" in source


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "enc1.actt",
            "from: 'enc1.actt': 'enc1' is a use of block down; it has no layer 'actt' (did you "
            "mean 'act'?)",
        ),
        ("enc1.act.1", "from: 'enc1.act.1': the outputs of 'enc1.act' are enc1.act"),
        ("enc1.1", "from: 'enc1.1': 'enc1' has one output; read it as 'enc1'"),
    ],
)
def test_reading_inside_a_block_use_names_what_is_there(source: str, message: str) -> None:
    spec = TAPPED.replace("from: [up_1, enc1.act]", f"from: [up_1, {source}]")
    errors = error_lines(spec)
    assert len(errors) == 1 and errors[0].endswith(message), errors


def test_a_compile_refusal_names_the_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "r.yaml"
    spec.write_text(
        "name: r\ninput: [4]\nblocks:\n  tower:\n    params: {n: 1}\n    layers:\n"
        "      - linear: 4\n        repeat: n\nlayers:\n  - tower\n"
    )
    assert main(["compile", str(spec)]) == 1
    assert capsys.readouterr().err.startswith(f"{spec}:7:9: not compiled: block tower: repeat: n")


def test_a_long_size_expression_is_split_as_ruff_splits_it(tmp_path: Path) -> None:
    width = (
        "max(8, (in_channels // 4 + 4) // 8 * 8) + 8 * min(1, max(0, 9 * (in_channels // 4) "
        "- 10)) - in_channels // 64"
    )
    checked = check(
        f"""
        name: long_expr
        input: [64, 8, 8]
        blocks:
          reduce_width:
            layers:
              - conv2d:
                  out_channels: {width}
                  kernel_size: 1
        layers:
          - reduce_width
        """
    )
    source = assert_runs_like_build(checked)
    assert (
        "            max(8, (in_channels // 4 + 4) // 8 * 8)\n"
        "            + 8 * min(1, max(0, 9 * (in_channels // 4) - 10))\n"
        "            - in_channels // 64,\n"
    ) in source
    path = tmp_path / "long_expr.py"
    path.write_text(source)
    assert ruff("format", "--check", str(path)).returncode == 0


def test_json_lists_every_output_of_a_layer() -> None:
    spec = "name: t\ninput: {shape: [6], dtype: long}\nlayers:\n"
    spec += "  - embedding: {num_embeddings: 9, embedding_dim: 4}\n  - gru: 5\n"
    checked = check(spec)
    assert checked.ok, checked.errors
    report = to_json(checked)  # what check --json prints
    assert report["input_dtype"] == "long"
    assert report["layers"][1]["output_shapes"] == [["N", 6, 5], ["N", 1, 5]]


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("sub:", "sub 'sub_1': takes 2 inputs, got 3 in from:"),
        (
            "multiheadattention: 2",
            "multiheadattention 'multiheadattention_1': takes 1 to 3 inputs, got 4 in from:",
        ),
    ],
)
def test_too_many_inputs_is_an_error(layer: str, message: str) -> None:
    sources = ", ".join(["input"] * (3 if layer == "sub:" else 4))
    errors = error_lines(f"name: t\ninput: [4, 8]\nlayers:\n  - {layer}\n    from: [{sources}]\n")
    assert errors == [f"spec.yaml:5:12: {message}"]
