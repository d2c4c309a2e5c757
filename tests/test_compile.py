"""netspec compile and netspec.build: readable PyTorch that is exactly the checked network."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from generated import compiled_model, import_file, traced_shapes
from helpers import DATA, ROOT, SPECS

import netspec
from netspec.backends.torch_module import SpecModule


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """ruff with its default settings (not the project's)."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated"],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every shipped spec compiled both ways: <stem>.py (default) and <stem>_module.py."""
    directory = tmp_path_factory.mktemp("compiled")
    for spec in SPECS:
        checked = netspec.load(spec)
        (directory / f"{spec.stem}.py").write_text(netspec.compile_source(checked))
        (directory / f"{spec.stem}_module.py").write_text(
            netspec.compile_source(checked, module=True)
        )
    return directory


def test_generated_files_pass_ruff_lint_and_format(compiled_dir: Path) -> None:
    lint = ruff("check", str(compiled_dir))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = ruff("format", "--check", "--diff", str(compiled_dir))
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr


@pytest.mark.parametrize("as_module", [False, True], ids=["default", "module"])
def test_compiled_model_matches_the_checker_at_every_layer(
    spec_path: Path, compiled_dir: Path, as_module: bool
) -> None:
    checked = netspec.load(spec_path)
    assert checked.graph is not None and checked.graph is not None
    file = compiled_dir / f"{spec_path.stem}{'_module' if as_module else ''}.py"
    model = compiled_model(import_file(file), checked, as_module)
    expected_type = (
        torch.nn.Sequential
        if checked.valid_graph().is_chain() and not as_module
        else torch.nn.Module
    )
    assert isinstance(model, expected_type)
    shapes = traced_shapes(model, checked)
    assert shapes == {r.name: r.output.dims for r in checked.graph.layers()}
    assert sum(p.numel() for p in model.parameters()) == checked.graph.total_params


@pytest.mark.parametrize("as_module", [False, True], ids=["default", "module"])
def test_built_and_compiled_models_are_the_same_network(
    spec_path: Path, compiled_dir: Path, as_module: bool
) -> None:
    checked = netspec.load(spec_path)
    assert checked.spec is not None
    file = compiled_dir / f"{spec_path.stem}{'_module' if as_module else ''}.py"
    compiled = compiled_model(import_file(file), checked, as_module)
    built = netspec.build(checked, module=as_module)
    compiled_state, built_state = compiled.state_dict(), built.state_dict()
    assert [(k, tuple(v.shape)) for k, v in built_state.items()] == [
        (k, tuple(v.shape)) for k, v in compiled_state.items()
    ]
    # Same weights in, same numbers out.
    built.load_state_dict(compiled_state)
    compiled.eval()
    built.eval()
    batch = torch.randn(2, *checked.spec.input_size)
    with torch.no_grad():
        assert torch.equal(compiled(batch), built(batch))


def test_every_layer_of_the_built_graph_has_the_checked_shape() -> None:
    checked = netspec.load(ROOT / "specs" / "residual_cnn.yaml")
    assert checked.graph is not None
    model = netspec.build(checked)
    assert isinstance(model, SpecModule)
    assert traced_shapes(model, checked) == {r.name: r.output.dims for r in checked.graph.layers()}


def test_lenet_tutorial_compiles_to_its_ten_tensors_in_order(compiled_dir: Path) -> None:
    checked = netspec.load(ROOT / "specs" / "lenet_tutorial.yaml")
    model = compiled_model(import_file(compiled_dir / "lenet_tutorial.py"), checked, False)
    assert [(name, tuple(p.shape)) for name, p in model.named_parameters()] == [
        ("conv1.weight", (6, 1, 3, 3)),
        ("conv1.bias", (6,)),
        ("conv2.weight", (16, 6, 3, 3)),
        ("conv2.bias", (16,)),
        ("fc1.weight", (120, 576)),
        ("fc1.bias", (120,)),
        ("fc2.weight", (84, 120)),
        ("fc2.bias", (84,)),
        ("fc3.weight", (10, 84)),
        ("fc3.bias", (10,)),
    ]


def test_sequential_source_reads_like_hand_written_pytorch() -> None:
    source = netspec.compile_source(ROOT / "specs" / "lenet.yaml")
    body = source.split("def lenet() -> nn.Sequential:", 1)[1].split("def main", 1)[0]
    assert textwrap.dedent(body).strip().splitlines() == [
        '"""The lenet network."""',
        "return nn.Sequential(",
        "    OrderedDict(",
        "        conv2d_1=nn.Conv2d(1, 6, kernel_size=5, padding=2),  # (N, 6, 28, 28)",
        "        relu_1=nn.ReLU(),  # (N, 6, 28, 28)",
        "        maxpool2d_1=nn.MaxPool2d(2, stride=2),  # (N, 6, 14, 14)",
        "        conv2d_2=nn.Conv2d(6, 16, kernel_size=5),  # (N, 16, 10, 10)",
        "        relu_2=nn.ReLU(),  # (N, 16, 10, 10)",
        "        maxpool2d_2=nn.MaxPool2d(2),  # (N, 16, 5, 5)",
        "        flatten_1=nn.Flatten(),  # (N, 400)",
        "        linear_1=nn.Linear(400, 120),  # (N, 120)",
        "        relu_3=nn.ReLU(),  # (N, 120)",
        "        linear_2=nn.Linear(120, 84),  # (N, 84)",
        "        relu_4=nn.ReLU(),  # (N, 84)",
        "        linear_3=nn.Linear(84, 10),  # (N, 10)",
        "    )",
        ")",
    ]


def test_graph_source_names_branches_and_merges() -> None:
    source = netspec.compile_source(ROOT / "specs" / "residual_cnn.yaml")
    assert "class ResidualCnn(nn.Module):" in source
    assert "        x = res_bn + stem_out  # residual: (N, 16, 28, 28)\n" in source
    assert "        x = torch.cat([branch1x1, branch3x3], dim=1)  # merged: (N, 32, 14, 14)\n" in (
        source
    )
    assert "        return x\n" in source


def test_running_the_file_prints_the_model_and_checks_a_forward_pass(compiled_dir: Path) -> None:
    for stem in ("lenet", "residual_cnn"):
        result = subprocess.run(
            [sys.executable, str(compiled_dir / f"{stem}.py")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.rstrip().endswith("ok: output shape (2, 10)")
        assert "Conv2d(1," in result.stdout


def test_main_of_every_generated_file_passes(compiled_dir: Path, capsys) -> None:
    for file in sorted(compiled_dir.glob("*.py")):
        module = import_file(file)
        module.main()
        expected = f"ok: output shape {(2, *module.OUTPUT_SHAPE)}"
        assert capsys.readouterr().out.rstrip().endswith(expected), file


def test_build_and_compile_refuse_a_broken_spec() -> None:
    broken = DATA / "fashion_cnn_tutorial.yaml"
    with pytest.raises(netspec.SpecError, match="in_features is 800"):
        netspec.build(broken)
    with pytest.raises(netspec.SpecError, match="in_features is 800"):
        netspec.compile_source(broken)
