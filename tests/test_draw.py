"""netspec draw: a Graphviz diagram with the tensor size on every edge."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from helpers import DATA, ROOT, check, heavy_modules_after
from torch_oracle import run_graph

import netspec
from netspec.backends.diagram import INPUT_NODE, OUTPUT_NODE, diagram
from netspec.cli import main
from netspec.ir import INPUT

HAVE_DOT = shutil.which("dot") is not None
# CI installs Graphviz and sets this, so rendering is tested there and never silently skipped.
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("NETSPEC_REQUIRE_GRAPHVIZ"),
    reason="Graphviz's dot is not installed (apt-get install graphviz)",
)

EDGE = re.compile(r'^\t("[^"]+"|\w+) -> ("[^"]+"|\w+) \[label=" (.*?) "(.*)\]$', re.M)
NODE = re.compile(r'^\t+("[^"]+"|\w+) \[label=<(.*)>(.*)\]$', re.M)  # any cluster depth


def edges_of(dot_source: str) -> set[tuple[str, str, str]]:
    return {(a.strip('"'), b.strip('"'), label) for a, b, label, _ in EDGE.findall(dot_source)}


def nodes_of(dot_source: str) -> dict[str, str]:
    return {name.strip('"'): label for name, label, _ in NODE.findall(dot_source)}


def size(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def test_edges_carry_the_sizes_pytorch_computes(spec_path: Path) -> None:
    """Every edge label equals the size of the tensor PyTorch itself passes along it."""
    checked = netspec.load(spec_path)
    assert checked.graph is not None and checked.spec is not None
    torch_run = run_graph(checked.graph)
    sizes = {**torch_run.outputs, INPUT: tuple(checked.spec.input_size)}
    ids = {INPUT: INPUT_NODE}
    expected = {
        (ids.get(source, source), node.name, size(sizes[source]))
        for node in checked.graph.layers()
        for source in node.inputs
    }
    last = list(checked.graph.layers())[-1].name
    expected.add((last, OUTPUT_NODE, size(torch_run.outputs[last])))
    assert edges_of(diagram(checked).source) == expected


def test_nodes_show_kind_name_hyperparameters_and_params(spec_path: Path) -> None:
    checked = netspec.load(spec_path)
    assert checked.graph is not None
    nodes = nodes_of(diagram(checked).source)
    assert set(nodes) == {r.name for r in checked.graph.layers()} | {INPUT_NODE, OUTPUT_NODE}
    for result in checked.graph.layers():
        label = nodes[result.name]
        assert label.startswith(f"<B>{result.kind_name}</B>")
        assert result.local in label  # a cluster shows the rest of the name
        if result.params:
            assert f"{result.params:,} params" in label


def test_lenet_labels() -> None:
    nodes = nodes_of(diagram(netspec.load(ROOT / "specs" / "lenet.yaml")).source)
    assert "5×5 → 6 ch, pad 2<BR/>" in nodes["conv2d_1"]
    assert "156 params" in nodes["conv2d_1"]
    assert "400 → 120<BR/>" in nodes["linear_1"]
    assert nodes[INPUT_NODE] == "<B>input</B><BR/>(N, 1, 28, 28)"
    assert nodes[OUTPUT_NODE] == "<B>output</B><BR/>(N, 10)"
    source = diagram(netspec.load(ROOT / "specs" / "lenet.yaml")).source
    assert "<B>lenet</B>" in source and "61,706 params · 416.5 K MACs" in source


def test_colours_follow_layer_families() -> None:
    from netspec.layers.base import FAMILIES

    source = diagram(netspec.load(ROOT / "specs" / "residual_cnn.yaml")).source
    for node, family in [
        ("stem", "conv"),
        ("pool", "pool"),
        ("res_bn", "norm"),
        ("stem_out", "activation"),
        ("classifier", "linear"),
        ("residual", "merge"),
        ("merged", "merge"),
    ]:
        line = next(line for line in source.splitlines() if line.startswith(f"\t{node} ["))
        assert f'fillcolor="{FAMILIES[family].fill}"' in line, node


def test_a_broken_spec_is_drawn_with_the_failing_layer_in_red() -> None:
    checked = check(
        """
        name: broken
        input: [1, 28, 28]
        layers:
          - conv2d: {out_channels: 16, kernel_size: 3}
          - maxpool2d: 2
          - conv2d: {out_channels: 32, kernel_size: 15}
            name: conv3
          - relu
          - flatten
          - linear: 10
        """
    )
    source = diagram(checked).source
    conv3 = next(line for line in source.splitlines() if line.startswith("\tconv3 ["))
    assert 'fillcolor="#fee2e2"' in conv3 and 'color="#dc2626"' in conv3
    assert "H_out = ⌊(13 − 15 + 2·0)/1⌋ + 1 = -1" in conv3
    assert edges_of(source) >= {
        ("maxpool2d_1", "conv3", "16×13×13"),
        ("conv3", "relu_1", "32×?×?"),
        ("relu_1", "flatten_1", "32×?×?"),
        ("flatten_1", "linear_1", "?"),
        ("linear_1", OUTPUT_NODE, "10"),
    }
    dashed = [line for line in source.splitlines() if "->" in line and "dashed" in line]
    assert len(dashed) == 3
    assert "1 error" in source


def test_text_from_the_spec_is_escaped() -> None:
    checked = check(
        """
        name: t
        input: [4]
        layers:
          - relu:
            from: "<script>alert(1)</script>"
        """
    )
    source = diagram(checked).source
    assert "<script>" not in source
    assert "&lt;script&gt;" in source


def test_blocks_are_clusters_and_depth_collapses_them() -> None:
    checked = netspec.load(ROOT / "specs" / "resnet_cifar.yaml")
    source = diagram(checked).source
    for group in ("stage1", "stage1.0", "stage2", "stage2.down", "stage3.block"):
        assert (
            f'subgraph "cluster_{group}" {{' in source or f"subgraph cluster_{group} {{" in source
        )
    assert "<B>stage2.down</B>" in source and "down_block(channels=32)" in source

    collapsed = diagram(netspec.load(ROOT / "specs" / "resnet18.yaml"), depth=0).source
    assert "subgraph" not in collapsed
    nodes = nodes_of(collapsed)
    assert set(nodes) == {
        INPUT_NODE, OUTPUT_NODE, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2_0",
        "layer2_1", "layer3_0", "layer3_1", "layer4_0", "layer4_1", "avgpool", "flatten_1", "fc",
    }  # fmt: skip
    assert nodes["layer2_0"].startswith("<B>down_block</B>")
    assert "channels=128, stride=2<BR/>" in nodes["layer2_0"]
    assert "9 layers · 230,144 params" in nodes["layer2_0"]
    assert "<B>basic_block ×2</B>" in nodes["layer1"]
    assert edges_of(collapsed) >= {
        ("maxpool", "layer1", "64×56×56"),
        ("layer1", "layer2_0", "64×56×56"),
        ("layer2_0", "layer2_1", "128×28×28"),
        ("layer4_1", "avgpool", "512×7×7"),
    }


def test_rankdir() -> None:
    assert "rankdir=LR" in diagram(netspec.load(ROOT / "specs" / "lenet.yaml"), "LR").source


# --- the command -------------------------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT):
    return subprocess.run(
        [sys.executable, "-m", "netspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@needs_dot
def test_renders_svg_and_png(tmp_path: Path) -> None:
    svg, png = tmp_path / "lenet.svg", tmp_path / "graph.png"
    assert main(["draw", str(ROOT / "specs" / "lenet.yaml"), "-o", str(svg)]) == 0
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    for word in ("conv2d_1", "5×5 → 6 ch, pad 2", "6×28×28", "61,706 params"):
        assert word in text
    assert main(["draw", str(ROOT / "specs" / "residual_cnn.yaml"), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_default_output_is_next_to_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "lenet.yaml"
    shutil.copy(ROOT / "specs" / "lenet.yaml", spec)
    result = run("draw", str(spec))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote {tmp_path / 'lenet.svg'}\n"
    assert (tmp_path / "lenet.svg").read_text().lstrip().startswith("<?xml")


@needs_dot
def test_broken_spec_is_written_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "broken.svg"
    result = run("draw", str(DATA / "fashion_cnn_tutorial.yaml"), "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{DATA / 'fashion_cnn_tutorial.yaml'}:16:14: linear 'fc1': in_features is 800 but the "
        "input has 128 features (32×2×2)",
        f"wrote {out} (1 layer in red: see the errors above)",
    ]
    assert "in_features is 800" in "".join(ElementTree.parse(out).getroot().itertext())


def test_without_graphviz_the_dot_source_is_written(tmp_path: Path) -> None:
    # The venv's bin directory holds python and netspec but no `dot`.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    out = tmp_path / "lenet.svg"
    result = run("draw", "specs/lenet.yaml", "-o", str(out), env=env)
    assert result.returncode == 1
    assert not out.exists()
    dot_file = tmp_path / "lenet.dot"
    assert dot_file.read_text().startswith("digraph lenet {")
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"wrote {dot_file}, but not {out}: Graphviz's `dot` program was not found."
    assert "sudo apt-get install graphviz" in result.stderr
    assert "brew install graphviz" in result.stderr
    assert "conda install -c conda-forge graphviz" in result.stderr
    assert lines[-1] == f"then run this command again, or: dot -Tsvg {dot_file} -o {out}"


def test_dot_format_needs_no_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "residual.dot"
    assert main(["draw", str(ROOT / "specs" / "residual_cnn.yaml"), "-o", str(out)]) == 0
    assert edges_of(out.read_text()) >= {("branch1x1", "merged", "16×14×14")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.jpg"], "cannot tell the format of x.jpg"),
        (["-o", "x.png", "--format", "svg"], "-o x.png does not end in .svg (--format)"),
        (["--format", "gif"], "invalid choice: 'gif'"),
        (["--rankdir", "BT"], "invalid choice: 'BT'"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = run("draw", "specs/lenet.yaml", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_unreadable_spec_draws_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: [unclosed\n")
    result = run("draw", str(spec))
    assert result.returncode == 1
    assert "nothing to draw" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_draw_does_not_import_torch(tmp_path: Path) -> None:
    report = heavy_modules_after(["draw", "specs/residual_cnn.yaml", "-o", str(tmp_path / "r.dot")])
    assert report == "[0] []"
