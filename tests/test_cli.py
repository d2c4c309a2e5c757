"""The command line: output, exit codes, JSON, usage errors, and no torch on the check path."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DATA, ROOT, SPECS, heavy_modules_after

from netspec.cli import main

BROKEN = DATA / "fashion_cnn_tutorial.yaml"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    script = Path(sys.executable).parent / "netspec"
    return subprocess.run(
        [str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_check_all_shipped_specs_exits_0() -> None:
    result = run("check", *(str(p.relative_to(ROOT)) for p in SPECS))
    assert result.returncode == 0, result.stderr
    for path in SPECS:
        assert f"specs/{path.name}: ok" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_prints_the_layer_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "specs" / "lenet.yaml")]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert ["conv2d_1", "conv2d", "(N,", "6,", "28,", "28)", "156", "117,600"] in rows
    assert ["maxpool2d_2", "maxpool2d", "(N,", "16,", "5,", "5)"] in rows
    assert ["flatten_1", "flatten", "(N,", "400)"] in rows
    assert ["linear_3", "linear", "(N,", "10)", "850", "840"] in rows
    assert ["Total", "61,706", "416,520"] in rows
    assert "lenet: 12 layers, 61,706 params (241.0 KiB as float32), 416.5 K MACs per sample" in out


def test_graph_table_shows_inputs_of_branches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "specs" / "residual_cnn.yaml")]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["residual", "add", "res_bn,", "stem_out", "(N,", "16,", "28,", "28)"] in rows
    assert ["branch3x3", "conv2d", "pool", "(N,", "16,", "14,", "14)", "2,320", "451,584"] in rows


def test_broken_spec_exits_1_with_the_diagnostic() -> None:
    result = run("check", str(BROKEN.relative_to(ROOT)))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tests/data/fashion_cnn_tutorial.yaml:16:14: linear 'fc1': in_features is 800 but the "
        "input has 128 features (32×2×2)",
        "tests/data/fashion_cnn_tutorial.yaml: 1 error",
    ]
    assert "fc1" in result.stdout  # the table is still shown, the failing row marked


def test_quiet_prints_only_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-q", str(ROOT / "specs" / "lenet.yaml"), str(BROKEN)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{BROKEN}:16:14: linear 'fc1': in_features is 800 but the input has 128 features (32×2×2)",
        f"{BROKEN}: 1 error",
    ]


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json", str(ROOT / "specs" / "lenet.yaml"), str(BROKEN)]) == 1
    report = json.loads(capsys.readouterr().out)
    lenet, broken = report["specs"]
    assert lenet["ok"] is True and lenet["name"] == "lenet"
    assert lenet["input_shape"] == ["N", 1, 28, 28]
    assert lenet["input_dtype"] == "float32"
    assert lenet["output_shape"] == ["N", 10]
    assert lenet["total_params"] == 61_706
    assert lenet["layers"][0] == {
        "name": "conv2d_1",
        "kind": "conv2d",
        "inputs": ["input"],
        "output_shape": ["N", 6, 28, 28],
        "output_shapes": [["N", 6, 28, 28]],
        "params": 156,
        "macs": 117_600,
        "ok": True,
        "line": 6,
        "groups": [],
    }
    assert broken["ok"] is False
    assert broken["diagnostics"] == [
        {
            "severity": "error",
            "file": str(BROKEN),
            "line": 16,
            "column": 14,
            "layer": "fc1",
            "kind": "linear",
            "message": "in_features is 800 but the input has 128 features (32×2×2)",
            "note": None,
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "nope.yaml"], "netspec check: error: nope.yaml: no such file"),
        (["check", "specs"], "netspec check: error: specs: is a directory, not a spec file"),
        (["check"], "netspec check: error: the following arguments are required: SPEC"),
        (["check", "--colour", "specs/lenet.yaml"], "unrecognized arguments: --colour"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_does_not_stop_the_others() -> None:
    result = run("check", "-q", "nope.yaml", "specs/lenet.yaml", str(BROKEN.relative_to(ROOT)))
    assert result.returncode == 2
    assert "tests/data/fashion_cnn_tutorial.yaml: 1 error" in result.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff\xfe binary",
        b"name: [unclosed",
        b"{{{{",
        b"name: t\ninput: [1]\nlayers: *alias\n",
        b"name: t\ninput: [1]\nlayers: [relu: {inplace: [1, {a: b}]}]\n",
        b"name: t\ninput: [1]\nlayers: [{? [a, b] : c}]\n",
        b"!!python/object:os.system {}\n",
        b"name: t\ninput: [1, 8, 8]\nlayers:\n  - conv2d: {out_channels: 1, kernel_size: 1e400}\n",
    ],
)
def test_garbage_never_gives_a_traceback(tmp_path: Path, content: bytes) -> None:
    spec = tmp_path / "garbage.yaml"
    spec.write_bytes(content)
    result = run("check", str(spec))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{spec}")


def test_internal_errors_are_reported_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import netspec.check

    def broken(path: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(netspec.check, "check_file", broken)
    monkeypatch.delenv("NETSPEC_DEBUG", raising=False)
    assert main(["check", str(ROOT / "specs" / "lenet.yaml")]) == 3
    err = capsys.readouterr().err
    assert "netspec: internal error: ZeroDivisionError: boom" in err
    assert "Traceback" not in err


def test_python_dash_m_and_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "netspec", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == "netspec 0.1.0"


def test_check_and_schema_do_not_import_torch(tmp_path: Path) -> None:
    report = heavy_modules_after(
        ["check", "-q", "specs/lenet.yaml", "specs/residual_cnn.yaml", "specs/resnet18.yaml"],
        ["schema", "-o", str(tmp_path / "schema.json")],
    )
    assert report == "[0, 0] []"


def test_compile_to_stdout_and_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lenet = str(ROOT / "specs" / "lenet.yaml")
    assert main(["compile", lenet]) == 0
    source = capsys.readouterr().out
    assert source.startswith('"""lenet: generated by netspec')
    assert "def lenet() -> nn.Sequential:" in source

    out = tmp_path / "model.py"
    assert main(["compile", lenet, "-o", str(out)]) == 0
    assert out.read_text() == source
    assert capsys.readouterr().err == f"wrote {out}: lenet() -> nn.Sequential\n"

    assert main(["compile", lenet, "--module", "-o", str(out)]) == 0
    assert "class Lenet(nn.Module):" in out.read_text()
    assert capsys.readouterr().err == f"wrote {out}: class Lenet(nn.Module)\n"


def test_compile_refuses_a_broken_spec(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    result = run("compile", str(BROKEN.relative_to(ROOT)), "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tests/data/fashion_cnn_tutorial.yaml:16:14: linear 'fc1': in_features is 800 but the "
        "input has 128 features (32×2×2)",
        "tests/data/fashion_cnn_tutorial.yaml: not compiled: 1 error",
    ]
    assert not out.exists()


def test_compile_does_not_import_torch(tmp_path: Path) -> None:
    report = heavy_modules_after(
        ["compile", "specs/residual_cnn.yaml", "-o", str(tmp_path / "m.py")]
    )
    assert report == "[0] []"


def test_compile_usage_errors() -> None:
    assert run("compile", "nope.yaml").returncode == 2
    assert run("compile").returncode == 2
    result = run("compile", "specs/lenet.yaml", "-o", "/nonexistent/dir/model.py")
    assert result.returncode == 2
    assert "cannot write /nonexistent/dir/model.py" in result.stderr


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers for the words typed so far (the last one being completed)."""
    line = " ".join(shlex.quote(word) for word in ("netspec", *words))
    probe = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _netspec\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    return sorted(set(done.stdout.split()))


def test_bash_completion_offers_commands_flags_choices_and_examples(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    assert _complete(script, "tr") == ["train"]
    assert _complete(script, "train", "--opt") == ["--optimizer"]
    assert _complete(script, "train", "--optimizer", "ad") == ["adam", "adamw"]
    assert "lenet_tutorial" in _complete(script, "check", "lenet")
    assert "zoo/vit_b_16" in _complete(script, "draw", "zoo/vi")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_completion_scripts_name_every_command(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for command in ("check", "compile", "draw", "train", "eval", "data", "schema", "completion"):
        assert command in script
    assert "--batch-size" in script or "-l batch-size" in script


def test_every_flag_has_help() -> None:
    from netspec.cli import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {' '.join(action.option_strings) or action.dest}"
        for name, command in subcommands.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert missing == []
