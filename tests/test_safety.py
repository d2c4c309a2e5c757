"""Generated code is safe: nothing from a spec reaches it but validated names and numbers."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SPECS, check

import netspec
from netspec.pysource import literal

HOSTILE_NAMES = [
    'a"; import os; os.system("echo pwned"); "',
    "a'b",
    "conv\nimport os",
    "__import__",
    "_private",
    "class",
    "match",
    "self",
    "forward",
    "state_dict",
    "torch",
    "x",
    "input",
    "сonv1",  # Cyrillic с
    "conv１",  # full-width digit
    "a.b",
    "a b",
    "a" * 33,
    "",
    "1abc",
    "os.system",
    "eval(1)",
]


def spec_with(layer_name: object = "fc", spec_name: object = "net", description: str = "x") -> str:
    return json.dumps(
        {
            "name": spec_name,
            "description": description,
            "input": [4],
            "layers": [{"linear": 2, "name": layer_name}],
        }
    )


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_hostile_layer_names_fail_validation(hostile: str) -> None:
    checked = netspec.check_text(spec_with(layer_name=hostile))
    assert not checked.ok
    assert len(checked.errors) == 1
    with pytest.raises(netspec.SpecError):
        netspec.compile_source(checked)


@pytest.mark.parametrize("hostile", [*HOSTILE_NAMES, "OrderedDict", "ordered_dict", "main"])
def test_hostile_spec_names_fail_validation(hostile: str) -> None:
    checked = netspec.check_text(spec_with(spec_name=hostile))
    assert [d.message for d in checked.errors] != []
    with pytest.raises(netspec.SpecError):
        netspec.compile_source(checked)


def test_compile_writes_nothing_for_a_hostile_spec(tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text(spec_with(layer_name=HOSTILE_NAMES[0]))
    out = tmp_path / "model.py"
    result = subprocess.run(
        [sys.executable, "-m", "netspec", "compile", str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "is not allowed" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [spec]


def test_free_text_never_reaches_the_source() -> None:
    payload = '"""\nimport os\nos.system("echo pwned")\n"""'
    checked = netspec.check_text(spec_with(description=payload))
    assert checked.ok
    source = netspec.compile_source(checked)
    assert "os.system" not in source and "pwned" not in source


def test_yaml_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = tmp_path / "tagged.yaml"
    spec.write_text(
        f"name: !!python/object/apply:os.system ['touch {marker}']\ninput: [4]\nlayers: [relu]\n"
    )
    checked = netspec.check_file(spec)
    assert not checked.ok
    assert not marker.exists()


def _strings_and_names(source: str) -> tuple[set[str], set[str]]:
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }
    identifiers = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    identifiers |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    identifiers |= {
        node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword) if node.arg
    }
    return strings, identifiers


FIXED_IDENTIFIERS = {
    # imports, module-level names and what main() and forward() use
    "torch",
    "nn",
    "OrderedDict",
    "INPUT_SHAPE",
    "OUTPUT_SHAPE",
    "main",
    "model",
    "print",
    "eval",
    "no_grad",
    "output",
    "zeros",
    "shape",
    "tuple",
    "Tensor",
    "input",
    "x",
    "self",
    "super",
    "__init__",
    "__name__",
    "cat",
    "dim",
    "Sequential",
    "Module",
    "int",  # block classes' constructor arguments
    "in_channels",
}


@pytest.mark.parametrize("as_module", [False, True])
def test_generated_source_holds_only_layer_names_kinds_and_numbers(as_module: bool) -> None:
    """An audit of every identifier and string in the generated files of all shipped specs."""
    from netspec.layers import all_kinds

    torch_names = {k.torch_class for k in all_kinds() if k.torch_class}
    argument_names = {f for k in all_kinds() for f in k.Args.model_fields}
    option_words = {word for kind in all_kinds() for word in kind.option_words}
    for path in SPECS:
        checked = netspec.load(path)
        assert checked.graph is not None and checked.spec is not None
        layer_names = {part for node in checked.graph.layers() for part in node.name.split(".")}
        layer_names |= {part for group in checked.graph.groups for part in group.split(".")}
        for block, params in checked.graph.block_params.items():  # classes and parameters
            layer_names |= {netspec.names.class_name(block), *params}
        strings, identifiers = _strings_and_names(netspec.compile_source(checked, as_module))
        allowed = (
            FIXED_IDENTIFIERS
            | torch_names
            | argument_names
            | layer_names
            | {checked.spec.name, netspec.names.class_name(checked.spec.name)}
        )
        assert identifiers <= allowed, identifiers - allowed
        assert strings <= option_words | {"__main__", "ok: output shape "}, strings


def test_literal_refuses_anything_but_plain_values() -> None:
    assert literal((3, 5)) == "(3, 5)"
    assert literal((3,)) == "(3,)"
    assert literal(1e-05) == "1e-05"
    assert literal("reflect") == '"reflect"'
    for bad in ['a"b', "import os", "Zeros", "a b", float("nan"), object(), [1, 2], {"a": 1}]:
        with pytest.raises((ValueError, TypeError)):
            literal(bad)  # type: ignore[arg-type]


def test_check_reports_hostile_names_with_position() -> None:
    errors = [
        str(d) for d in check('name: t\ninput: [4]\nlayers:\n  - relu:\n    name: "a;b"\n').errors
    ]
    assert errors == [
        "spec.yaml:5:11: layer name 'a;b' is not allowed: use ASCII letters, digits and _, "
        "starting with a letter"
    ]
