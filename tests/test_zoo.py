"""What every spec of the zoo must do, whatever it is: check clean, compile to files ruff
leaves as they are, and draw at every depth (each file test_zoo_*.py proves its specs equal to
their reference models)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from test_compile import ruff
from test_draw import needs_dot
from zoo import ZOO, zoo_spec

import netspec
from netspec.backends.diagram import diagram
from netspec.cli import main

NAMES = sorted(path.stem for path in ZOO.glob("*.yaml"))


def test_the_zoo_holds_the_networks_of_issue_11() -> None:
    assert NAMES == [
        "convnext_tiny",
        "dcgan_generator",
        "densenet121",
        "efficientnet_b0",
        "googlenet",
        "lstm_classifier",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "resnet50",
        "shufflenet_v2_x1_0",
        "transformer_classifier",
        "unet",
        "vit_b_16",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_checks_clean(name: str) -> None:
    checked = zoo_spec(name)
    assert checked.warnings == []


def test_compiled_files_pass_ruff_lint_and_format(tmp_path: Path) -> None:
    for name in NAMES:
        (tmp_path / f"{name}.py").write_text(netspec.compile_source(zoo_spec(name)))
    lint = ruff("check", str(tmp_path))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = ruff("format", "--check", "--diff", str(tmp_path))
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr


@needs_dot
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("depth", [None, 0])
def test_draws(name: str, depth: int | None, tmp_path: Path) -> None:
    svg = tmp_path / f"{name}.svg"
    args = ["draw", str(ZOO / f"{name}.yaml"), "-o", str(svg)]
    assert main([*args, "--depth", str(depth)] if depth is not None else args) == 0
    text = "".join(ElementTree.parse(svg).getroot().itertext())
    assert f"{zoo_spec(name).valid_graph().total_params:,} params" in text


@pytest.mark.parametrize("depth", [None, 0, 1])
@pytest.mark.parametrize("name", NAMES)
def test_diagram_has_no_edge_from_a_node_to_itself(name: str, depth: int | None) -> None:
    """Drawn with every layer, or with blocks collapsed to one node each (depth 0, 1)."""
    source = diagram(zoo_spec(name), depth=depth).source
    edges = re.findall(r'^\t+("[^"]+"|\w+) -> ("[^"]+"|\w+) ', source, re.M)
    assert edges
    assert [(a, b) for a, b in edges if a == b] == []
