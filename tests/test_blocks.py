"""Blocks, repeat and parameter expressions: expansion, errors, depth, compile."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT, check, error_lines
from hypothesis import given, settings
from hypothesis import strategies as st
from test_codegen_names import assert_runs_like_build

import netspec
from netspec.backends.codegen import CompileError
from netspec.cli import main
from netspec.spec import expr

RESIDUAL = """
name: res
input: [3, 16, 16]
blocks:
  basic_block:
    params: {channels: null, stride: 1}
    layers:
      - conv2d: {out_channels: channels, kernel_size: 3, stride: stride, padding: 1}
        name: conv1
      - relu
      - conv2d: {out_channels: channels, kernel_size: 3, padding: 1}
        name: conv2
      - add:
        from: [conv2, input]
  stage:
    params: {channels: null}
    layers:
      - basic_block: {channels: channels}
        name: first
      - basic_block: channels
        repeat: 2
        name: rest
layers:
  - conv2d: {out_channels: 8, kernel_size: 1}
    name: stem
  - basic_block: {channels: 8}
    repeat: 2
    name: layer1
  - stage: 8
    name: layer2
  - basic_block: 8
"""


def names(yaml: str) -> list[str]:
    checked = check(yaml)
    assert checked.graph is not None
    return [node.name for node in checked.graph.layers()]


def test_expansion_names_and_wiring() -> None:
    checked = check(RESIDUAL)
    assert checked.ok, checked.errors
    assert checked.graph is not None
    layer_names = [node.name for node in checked.graph.layers()]
    assert layer_names[:5] == [
        "stem",
        "layer1.0.conv1",
        "layer1.0.relu_1",
        "layer1.0.conv2",
        "layer1.0.add_1",
    ]
    assert "layer2.rest.1.conv2" in layer_names
    # automatic names count a kind or block within its level: the 2nd basic_block use here
    assert layer_names[-1] == "basic_block_2.add_1"
    nodes = {node.name: node for node in checked.graph.layers()}
    # `input` inside a block is what the block receives; copies read the copy before.
    assert nodes["layer1.0.add_1"].inputs == ("layer1.0.conv2", "stem")
    assert nodes["layer1.1.conv1"].inputs == ("layer1.0.add_1",)
    assert nodes["layer2.rest.0.add_1"].inputs == ("layer2.rest.0.conv2", "layer2.first.add_1")
    groups = checked.graph.groups
    assert (groups["layer1"].block, groups["layer1"].count) == (None, 2)
    assert groups["layer1.1"].block == "basic_block"
    assert groups["layer2"].parameters == {"channels": 8}
    assert groups["layer2.first"].parameters == {"channels": 8, "stride": 1}


def test_parameters_reach_the_layers() -> None:
    yaml = """
    name: p
    input: [4, 32, 32]
    blocks:
      down:
        params: {width: null, factor: 2}
        layers:
          - conv2d: {out_channels: width * factor, kernel_size: [3, 3], stride: factor, padding: 1}
          - linear: {out_features: (width + 1) // 2}
    layers:
      - down: {width: 6}
      - down: {width: 5, factor: 1}
    """
    checked = check(yaml)
    assert checked.ok, checked.errors
    assert checked.graph is not None
    assert [r.output.dims for r in checked.graph.layers()] == [
        (12, 16, 16),  # conv: 6·2 channels, stride 2
        (12, 16, 3),  # linear on the last dim: (6 + 1) // 2
        (5, 16, 3),  # conv: 5·1 channels, stride 1
        (5, 16, 3),  # linear: (5 + 1) // 2
    ]


def test_errors_in_a_block_point_at_the_block_and_the_use() -> None:
    yaml = """
    name: e
    input: [3, 8, 8]
    blocks:
      basic_block:
        params: {channels: null}
        layers:
          - conv2d: {out_channels: channels, kernel_size: 3, stride: 2, padding: 1}
          - add:
            from: [conv2d_1, input]
    layers:
      - basic_block: 3
        name: first
    """
    assert error_lines(yaml) == [
        "spec.yaml:8:9: add 'first.add_1': cannot broadcast 3×4×4 ('first.conv2d_1') with "
        "3×8×8 ('input'): dim 2 is 4 vs 8 (in basic_block 'first', used at line 11)"
    ]


def test_a_problem_in_a_block_is_reported_once_for_all_its_uses() -> None:
    yaml = """
    name: e
    input: [3, 8, 8]
    blocks:
      b:
        params: {c: null}
        layers:
          - conv2d: {out_channels: c, kernel_size: 3, padding: "1"}
    layers:
      - b: 4
      - b: 4
        repeat: 3
    """
    assert error_lines(yaml) == [
        "spec.yaml:7:60: conv2d 'b_1.conv2d_1': padding: expected an integer ≥ 0, a list of "
        "them, 'valid' or 'same', got '1' (a string) (in b 'b_1', used at line 9)"
    ]


@pytest.mark.parametrize(
    ("body", "uses", "message"),
    [
        (
            "params: {channels: null}\n    layers:\n      - linear: {out_features: chanels}",
            "- blk: 4",
            "spec.yaml:7:32: linear 'blk_1.linear_1': out_features: expected an integer, got "
            "'chanels' (a string); 'chanels' is not a parameter of blk (did you mean "
            "'channels'?) (in blk 'blk_1', used at line 9)",
        ),
        (
            "params: {n: 0}\n    layers:\n      - linear: 10 // n",
            "- blk",
            "spec.yaml:7:17: linear 'blk_1.linear_1': out_features: division by zero in "
            "'10 // n' (in blk 'blk_1', used at line 9)",
        ),
        (
            "params: {n: 3}\n    layers:\n      - linear: 10 / n",
            "- blk",
            "spec.yaml:7:17: linear 'blk_1.linear_1': out_features: 10 / 3 is not a whole "
            "number in '10 / n' (use // to round down) (in blk 'blk_1', used at line 9)",
        ),
        (
            "params: {n: 3}\n    layers:\n      - linear: n + m",
            "- blk",
            "spec.yaml:7:17: linear 'blk_1.linear_1': out_features: undefined parameter 'm'; "
            "the block has: n (in blk 'blk_1', used at line 9)",
        ),
        (
            "params: {n: null}\n    layers:\n      - linear: n",
            "- blk",
            "spec.yaml:9:5: blk 'blk_1': missing parameter 'n' of block blk",
        ),
        (
            "params: {n: 1}\n    layers:\n      - linear: n",
            "- blk: {m: 2}",
            "spec.yaml:9:11: blk 'blk_1': unknown parameter 'm'; blk takes: n",
        ),
        (
            "params: {n: 1}\n    layers:\n      - linear: n",
            "- blk: {n: wide}",
            "spec.yaml:9:14: blk 'blk_1': n: expected a number, got 'wide' (a string)",
        ),
        (
            "layers:\n      - linear: 3\n        from: outside",
            "- relu:\n    name: outside\n  - blk",
            "spec.yaml:7:15: linear 'blk_1.linear_1': from: 'outside' is not a layer of block "
            "blk (in blk 'blk_1', used at line 11)",
        ),
        (
            "layers:\n      - linear: 3\n        repeat: 0",
            "- blk",
            "spec.yaml:7:17: repeat: must be ≥ 1, got 0 (in blk 'blk_1', used at line 9)",
        ),
    ],
)
def test_block_errors(body: str, uses: str, message: str) -> None:
    yaml = f"name: e\ninput: [4]\nblocks:\n  blk:\n    {body}\nlayers:\n  {uses}\n"
    assert error_lines(yaml) == [message]


def test_block_cycles_are_found_even_when_unused() -> None:
    yaml = """
    name: c
    input: [4]
    blocks:
      a:
        layers: [b]
      b:
        layers:
          - relu
          - c: {}
      c:
        layers: [a]
      self_loop:
        layers: [self_loop]
    layers: [relu]
    """
    assert error_lines(yaml) == [
        "spec.yaml:11:14: block cycle: a → b → c → a; a block cannot contain itself",
        "spec.yaml:13:14: block cycle: self_loop → self_loop; a block cannot contain itself",
    ]


def test_block_definitions_are_checked() -> None:
    yaml = """
    name: d
    input: [4]
    blocks:
      relu:
        layers: [relu]
      b:
        params: {in_channels: 1, width: wide}
        layer: []
    layers: [relu]
    """
    assert error_lines(yaml) == [
        "spec.yaml:4:3: block name 'relu' is a layer kind; choose another name",
        "spec.yaml:6:3: block 'b': expected a non-empty list of layers, got nothing (null)",
        "spec.yaml:7:14: block 'b': parameter name 'in_channels' is reserved: it is the "
        "size of the block's input",
        "spec.yaml:7:37: block 'b': parameter 'width': expected a number or null (no "
        "default), got 'wide' (a string)",
        "spec.yaml:8:5: block 'b': unknown key 'layer' (did you mean 'layers'?); a block has "
        "params and layers",
    ]


def test_repeat_bounds() -> None:
    assert error_lines("name: r\ninput: [4]\nlayers:\n  - relu:\n    repeat: 200000\n") == [
        "spec.yaml:5:13: repeat: 200,000 copies is more than the 2,000 layers a network may have"
    ]
    # copies of copies: the cap stops the expansion, whatever the counts multiply to
    nested = (
        "name: r\ninput: [4]\nblocks:\n  b:\n    layers:\n      - relu:\n        repeat: 1500\n"
        "layers:\n  - b:\n    repeat: 1500\n"
    )
    assert error_lines(nested) == [
        "spec.yaml:6:9: the expanded network has more than 2,000 layers; check repeat: (in b "
        "'b_1.1', used at line 9)"
    ]
    assert error_lines("name: r\ninput: [4]\nlayers:\n  - relu:\n    repeat: two\n") == [
        "spec.yaml:5:13: repeat: expected a whole number, got 'two' (a string)"
    ]
    assert names("name: r\ninput: [4]\nlayers:\n  - relu:\n    repeat: 3\n") == [
        "relu_1.0",
        "relu_1.1",
        "relu_1.2",
    ]


def test_depth_collapses_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "specs" / "resnet18.yaml"), "--depth", "0"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [
        "layer1",
        "basic_block",
        "×2",
        "(N,",
        "64,",
        "56,",
        "56)",
        "147,968",
        "462,422,016",
    ] in rows
    assert ["layer4_0", "down_block", "(N,", "512,", "7,", "7)", "3,673,088", "179,830,784"] in rows
    assert ["Total", "11,689,512", "1,814,073,344"] in rows
    assert main(["check", str(ROOT / "specs" / "resnet18.yaml"), "--depth", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["layer1.0", "basic_block", "(N,", "64,", "56,", "56)", "73,984", "231,211,008"] in rows
    assert any(row[:2] == ["layer2_0.downsample_conv", "conv2d"] for row in rows)
    assert main(["check", "--depth", "-1", str(ROOT / "specs" / "resnet18.yaml")]) == 2


def test_json_lists_groups(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json", str(ROOT / "specs" / "resnet_cifar.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)["specs"][0]
    groups = {g["name"]: g for g in report["groups"]}
    assert groups["stage1"] == {
        "name": "stage1", "block": None, "inputs": ["stem_relu"], "params": {}, "repeat": 2,
        "line": 67,
    }  # fmt: skip
    assert groups["stage2.down"]["params"] == {"channels": 32}
    layer = next(r for r in report["layers"] if r["name"] == "stage2.down.conv1")
    assert layer["groups"] == ["stage2", "stage2.down"]


def test_generated_block_classes_read_like_torchvision() -> None:
    source = netspec.compile_source(ROOT / "specs" / "resnet18.yaml")
    basic_block = source[source.index("class BasicBlock") : source.index("class DownBlock")]
    assert basic_block.splitlines()[:11] == [
        "class BasicBlock(nn.Module):",
        '    """The block basic_block(channels)."""',
        "",
        "    def __init__(self, in_channels: int, channels: int) -> None:",
        "        super().__init__()",
        "        self.conv1 = nn.Conv2d(",
        "            in_channels, channels, kernel_size=3, padding=1, bias=False",
        "        )",
        "        self.bn1 = nn.BatchNorm2d(channels)",
        "        self.relu1 = nn.ReLU()",
        "        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1, bias=False)",
    ]
    assert "        x = bn2 + input  # residual: (N, channels, ·, ·)\n" in basic_block
    assert (
        "    def __init__(self, in_channels: int, channels: int, stride: int = 2) -> None:\n"
        in source
    )
    assert "        self.layer2_0 = DownBlock(64, channels=128)\n" in source
    assert (
        "        self.layer1 = nn.Sequential(\n"
        "            BasicBlock(64, channels=64), BasicBlock(64, channels=64)\n"
        "        )\n"
    ) in source
    assert source.index("class BasicBlock") < source.index("class Resnet18")


def test_a_repeat_counted_by_a_block_parameter_compiles_to_one_class() -> None:
    yaml = """
    name: r
    input: [6]
    blocks:
      tower:
        params: {n: 2}
        layers:
          - linear: 4
            repeat: n
    layers:
      - tower
      - tower: 3
    """
    checked = check(yaml)
    assert checked.ok
    source = assert_runs_like_build(checked)
    # the first copy reads the block's input; the others are one module, made n - 1 times
    assert "nn.Linear(in_channels, 4), *(nn.Linear(4, 4) for _ in range(n - 1))" in source
    assert checked.graph.total_params == (6 * 4 + 4 + 4 * 4 + 4) + (4 * 4 + 4) * 3


def test_compile_refuses_a_counted_repeat_it_cannot_write_as_one_class() -> None:
    yaml = """
    name: r
    input: [4]
    blocks:
      tower:
        params: {n: 1}
        layers:
          - linear: 4
            repeat: n
    layers:
      - tower
    """
    checked = check(yaml)
    assert checked.ok
    with pytest.raises(CompileError, match="this use makes one copy") as refused:
        netspec.compile_source(checked)
    assert str(refused.value.position) == "7:9"  # the layer repeated
    # building and training take it
    model = netspec.build(checked)
    assert sum(p.numel() for p in model.parameters()) == checked.graph.total_params == 20


# --- the expression language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("channels * 2", 128),
        ("(channels + 1) // 2", 32),
        ("channels / 2", 32),
        ("channels × 2 − 1", 127),
        ("channels÷4", 16),
        ("-k + 1", -2),
        ("2 - 3 - 1", -2),
        ("k * (channels // 3)", 63),
        ("  7  ", 7),
    ],
)
def test_expressions(text: str, value: int) -> None:
    assert expr.evaluate(expr.parse(text), {"channels": 64, "k": 3}, text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 +", "expression '3 +' ends too early"),
        ("(1", "missing ')' in expression '(1'"),
        ("1 2", "unexpected '2' in expression '1 2'"),
        ("x ** 2", "unexpected '*' in expression 'x ** 2'"),
        (
            "c.real",
            "unexpected '.' in expression 'c.real': expressions have numbers, parameter "
            "names, + - * / //, parentheses and min, max, round, int(…)",
        ),
        ("__import__('os')", 'unexpected "\'" in expression'),
        ("__import__(os)", "unknown function '__import__' in '__import__(os)'"),
        ("abs(c)", "unknown function 'abs' in 'abs(c)': expressions have numbers"),
        ("min(c)", "min takes at least 2 arguments, got 1 in 'min(c)'"),
        ("round(c, 2)", "round takes 1 argument, got 2 in 'round(c, 2)'"),
        ("", "empty expression"),
    ],
)
def test_malformed_expressions(text: str, message: str) -> None:
    with pytest.raises(expr.ExprError) as error:
        expr.parse(text)
    assert message in str(error.value)


trees = st.recursive(
    st.one_of(st.integers(0, 50).map(expr.Number), st.sampled_from("abc").map(expr.Name)),
    lambda inner: st.one_of(
        st.builds(expr.Negate, inner),
        st.builds(expr.BinOp, st.sampled_from(["+", "-", "*", "//"]), inner, inner),
    ),
    max_leaves=12,
)


@settings(max_examples=300, derandomize=True)
@given(trees, st.integers(-9, 9), st.integers(1, 9), st.integers(-9, 9))
def test_rendering_keeps_the_value(tree: expr.Node, a: int, b: int, c: int) -> None:
    """Rendered Python source parses back to an expression with the same value."""
    env = {"a": a, "b": b, "c": c}
    try:
        expected = expr.evaluate(tree, env)
    except expr.ExprError:
        return  # division by zero
    assert expr.evaluate(expr.parse(expr.render(tree)), env) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("max(8, c // 4)", 16),
        ("min(c, 32, k * 100)", 32),
        ("round(c / 3)", 21),
        ("int(c * 0.25)", 16),
        ("max(1, c * 2 // 3)", 42),
        ("c * 1.5", 96.0),
    ],
)
def test_expression_functions_and_decimals(text: str, value: float) -> None:
    tree = expr.parse(text)
    result = expr.evaluate(tree, {"c": 64, "k": 3}, text)
    assert result == value and type(result) is type(value)
    # the rendered source computes the same in Python, where generated code runs it
    assert eval(expr.render(tree), {}, {"c": 64, "k": 3}) == value


def test_a_decimal_where_a_whole_number_is_needed_says_how_to_round() -> None:
    with pytest.raises(expr.ExprError, match=r"'c \* 1.5' is 96, expected a whole number: round"):
        expr.whole(expr.parse("c * 1.5"), {"c": 64}, "c * 1.5")
