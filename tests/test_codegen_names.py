"""Whatever `netspec check` accepts compiles to a file that runs: no name made from the spec
(the network's, a block class's, a variable's) clashes with another or with a name the
generated code uses (imports, builtins, main() and its variables, forward's variables).

Each case is compiled, run as ``python model.py`` would run it, and compared with
``netspec.build``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import SPECS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import netspec
from netspec import layers as kinds
from netspec.backends.codegen import entry_name
from netspec.names import class_name, name_problem, spec_name_problem
from netspec.pysource import Namespace, identifiers
from netspec.shapes import Shape
from netspec.spec.blocks import INPUT_CHANNELS

# --- helpers ---------------------------------------------------------------------------------


def checked_spec(spec: dict[str, Any]) -> netspec.CheckedSpec:
    checked = netspec.check_text(json.dumps(spec), "names.yaml")
    assert checked.ok, [str(d) for d in checked.errors]
    return checked


def run_as_main(source: str) -> tuple[dict[str, Any], str]:
    """Execute a generated file as `python model.py` does (``__name__ == "__main__"``, so its
    main() prints the model and checks a forward pass); its globals and what it printed."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "model.py", "exec"), namespace)
    return namespace, printed.getvalue()


def bound_twice(source: str) -> list[str]:
    """Names a file binds more than once at module level (a class hiding another)."""
    bound: list[str] = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            bound.append(statement.name)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            bound += [alias.asname or alias.name.split(".")[0] for alias in statement.names]
        elif isinstance(statement, ast.Assign):
            bound += [target.id for target in statement.targets if isinstance(target, ast.Name)]
    return sorted({n for n in bound if bound.count(n) > 1})


def assert_runs_like_build(checked: netspec.CheckedSpec, as_module: bool = False) -> str:
    """Compile, run the file, and compare its model with netspec.build's; the source."""
    source = netspec.compile_source(checked, module=as_module)
    assert bound_twice(source) == []
    namespace, printed = run_as_main(source)
    layers = checked.valid_graph()
    output_shape = (2, *layers.output_shape.dims)
    assert printed.splitlines()[-1] == f"ok: output shape {output_shape}"

    compiled = namespace[entry_name(layers, as_module)]()
    built = netspec.build(checked, module=as_module)
    assert list(compiled.state_dict()) == list(built.state_dict())
    built.load_state_dict(compiled.state_dict())
    compiled.eval()
    built.eval()
    batch = example_batch(layers.input_shape)
    with torch.no_grad():
        result = compiled(batch)
        assert tuple(result.shape) == output_shape
        assert torch.equal(result, built(batch))
    return source


def example_batch(shape: Shape, batch: int = 2) -> torch.Tensor:
    """Random floats, or token ids (0 … 9) for a long input."""
    torch.manual_seed(0)
    if shape.dtype == "long":
        return torch.randint(0, 10, (batch, *shape.dims))
    return torch.randn(batch, *shape.dims)


def class_names(source: str) -> list[str]:
    return [node.name for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]


def conv(channels: Any) -> dict[str, Any]:
    return {"conv2d": {"out_channels": channels, "kernel_size": 1}}


# --- the allocator ---------------------------------------------------------------------------


def test_namespace_suffixes_a_taken_name() -> None:
    scope = Namespace({"print", "model"})
    claimed = [scope.claim(n) for n in ["BlkA", "BlkA", "BlkA", "Blk1", "Blk1", "print"]]
    claimed += [scope.claim(n) for n in ["model", "model", "class", "lenet"]]
    assert claimed == [
        "BlkA",
        "BlkA2",
        "BlkA3",
        "Blk1",
        "Blk1_2",
        "print_",
        "model_",
        "model_2",
        "class_",
        "lenet",
    ]


def test_a_suffixed_name_never_takes_one_claimed_later() -> None:
    scope = Namespace()
    assert [scope.claim(n) for n in ["BlkA", "BlkA", "BlkA2"]] == ["BlkA", "BlkA2", "BlkA2_2"]


def test_shipped_specs_keep_their_names() -> None:
    """Nothing clashes in the shipped specs, so nothing is renamed (their code is pinned)."""
    for path in SPECS:
        checked = netspec.load(path)
        assert checked.spec is not None
        layers = checked.valid_graph()
        expected = checked.spec.name if layers.is_chain() else class_name(checked.spec.name)
        assert entry_name(layers) == expected, path
        assert entry_name(layers, module=True) == class_name(checked.spec.name), path
        source = netspec.compile_source(checked, module=True)
        blocks = [class_name(block) for block in checked.graph.block_params]
        assert sorted(class_names(source)) == sorted([*blocks, class_name(checked.spec.name)])


def test_the_reserved_names_cover_what_shipped_files_bind_and_read() -> None:
    """What a file binds at module level, and the builtins it reads, are what codegen's
    namespaces hold (harvested from its templates) plus the classes and functions it names."""
    from netspec.backends import codegen

    for path in SPECS:
        checked = netspec.load(path)
        assert checked.spec is not None
        for as_module in (False, True):
            source = netspec.compile_source(checked, module=as_module)
            tree = ast.parse(source)
            bound = {
                node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
            }
            bound |= {
                target.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            fixed = (bound | (read & set(dir(builtins))) | {"__name__"}) - {
                entry_name(checked.valid_graph(), as_module),
                *(class_name(block) for block in checked.graph.block_params),
            }
            uses_classes = as_module or not checked.valid_graph().is_chain()
            reserved = codegen.CLASS_FILE_NAMES if uses_classes else codegen.SEQUENTIAL_FILE_NAMES
            assert fixed <= reserved, (path, fixed - reserved)


# --- regressions -----------------------------------------------------------------------------

TWO_BLOCKS_ONE_CLASS_NAME = {
    "name": "twins",
    "input": [1, 4, 4],
    "blocks": {
        "blk_a": {"params": {"c": None}, "layers": [conv("c")]},
        "blkA": {"layers": [{"gelu": None}]},  # a different block: swapping them would show
    },
    "layers": [{"blk_a": 3}, {"blkA": None}, {"flatten": None}, {"linear": 2}],
}


def test_two_blocks_with_one_class_name_get_two_classes() -> None:
    source = assert_runs_like_build(checked_spec(TWO_BLOCKS_ONE_CLASS_NAME))
    assert class_names(source) == ["BlkA", "BlkA2", "Twins"]
    assert "        self.blk_a_1 = BlkA(1, c=3)\n" in source
    assert "        self.blkA_1 = BlkA2(3)\n" in source


def test_compiled_file_runs_from_the_command_line(tmp_path: Path) -> None:
    """`netspec compile spec.yaml -o model.py; python model.py`, as the fault campaign did."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({**TWO_BLOCKS_ONE_CLASS_NAME, "name": "None_"}))
    model = tmp_path / "model.py"
    compiled = subprocess.run(
        [sys.executable, "-m", "netspec", "compile", str(spec), "-o", str(model)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stderr.strip() == f"wrote {model}: class None2(nn.Module)"
    ran = subprocess.run(
        [sys.executable, str(model)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "ok: output shape (2, 2)"


def test_renamed_files_pass_ruff_lint_and_format(tmp_path: Path) -> None:
    """Suffixed names keep the generated files as tidy as the shipped ones."""
    chain = {"name": "model", "input": [4], "layers": [{"linear": 3}]}
    cases = {
        "twins": (TWO_BLOCKS_ONE_CLASS_NAME, False),
        "keyword": ({**TWO_BLOCKS_ONE_CLASS_NAME, "name": "True_"}, False),
        "print": ({**chain, "name": "print"}, False),
        "model": (chain, False),
        "output": ({**chain, "name": "output"}, True),
    }
    for stem, (spec, as_module) in cases.items():
        source = netspec.compile_source(checked_spec(spec), module=as_module)
        (tmp_path / f"{stem}.py").write_text(source)
    for args in (["check"], ["format", "--check", "--diff"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--isolated", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_block_named_like_the_network_gets_its_own_class() -> None:
    spec = {
        "name": "blk",
        "input": [1, 4, 4],
        "blocks": {"blk": {"layers": [conv(2)]}},
        "layers": [{"blk": None}, {"flatten": None}, {"linear": 2}],
    }
    source = assert_runs_like_build(checked_spec(spec))
    assert class_names(source) == ["Blk2", "Blk"]


@pytest.mark.parametrize(
    "parameter", ["Inner", "Outer", "Names", "INPUT_SHAPE", "main", "int", "print", "tuple"]
)
def test_a_block_parameter_named_like_a_class_or_global(parameter: str) -> None:
    """``outer``'s __init__ builds an ``Inner``: a parameter called ``Inner`` would hide it."""
    spec = {
        "name": "names",
        "input": [1, 4, 4],
        "blocks": {
            "inner": {"params": {"c": None}, "layers": [conv("c")]},
            "outer": {"params": {parameter: 2}, "layers": [{"inner": parameter}, {"relu": None}]},
        },
        "layers": [{"outer": {parameter: 3}}, {"outer": None}, {"flatten": None}, {"linear": 2}],
    }
    source = assert_runs_like_build(checked_spec(spec))
    expected = {
        "Inner": ["Inner2", "Outer", "Names"],
        "Outer": ["Inner", "Outer2", "Names"],  # not read in Outer's own __init__; still kept off
        "Names": ["Inner", "Outer", "Names"],  # the network's class is read by main() only
    }
    assert class_names(source) == expected.get(parameter, ["Inner", "Outer", "Names"])
    assert f"    def __init__(self, in_channels: int, {parameter}: int = 2) -> None:" in source


@pytest.mark.parametrize(
    ("block", "cls"),
    [("True_", "True2"), ("none_", "None2"), ("false", "False2"), ("print", "Print")],
)
def test_block_names_whose_class_name_is_a_keyword(block: str, cls: str) -> None:
    spec = {
        "name": "net",
        "input": [1, 4, 4],
        "blocks": {block: {"layers": [conv(2)]}},
        "layers": [{block: None}, {"flatten": None}, {"linear": 2}],
    }
    assert class_names(assert_runs_like_build(checked_spec(spec))) == [cls, "Net"]


@pytest.mark.parametrize(
    ("spec_name", "function", "main_variables"),
    [
        ("print", "print_", ("model", "output")),
        ("tuple", "tuple_", ("model", "output")),
        ("model", "model", ("model_", "output")),
        ("output", "output", ("model", "output_")),
        ("int", "int", ("model", "output")),  # a sequential file reads no int
    ],
)
def test_spec_names_that_clash_in_a_sequential_file(
    spec_name: str, function: str, main_variables: tuple[str, str]
) -> None:
    spec = {"name": spec_name, "input": [4], "layers": [{"linear": 3}, {"relu": None}]}
    source = assert_runs_like_build(checked_spec(spec))
    assert f"\ndef {function}() -> nn.Sequential:\n" in source
    model, output = main_variables
    assert f"    {model} = {function}()\n" in source
    assert f"        {output} = {model}(torch.zeros(2, *INPUT_SHAPE))\n" in source


@pytest.mark.parametrize("spec_name", ["print", "tuple", "model", "output", "int", "super_"])
def test_spec_names_that_clash_in_a_class_file(spec_name: str) -> None:
    spec = {"name": spec_name, "input": [4], "layers": [{"linear": 3}, {"relu": None}]}
    source = assert_runs_like_build(checked_spec(spec), as_module=True)
    assert class_names(source) == [class_name(spec_name)]


# Names generated code binds or reads; a layer read twice becomes a variable in forward().
CODE_WORDS = [
    "print",
    "tuple",
    "model",
    "output",
    "main",
    "OrderedDict",
    "INPUT_SHAPE",
    "OUTPUT_SHAPE",
    "Net",
    "Blk",
    "int",
    "Tensor",
    "cat",
    "Sequential",
    "Module",
    "zeros",
    "no_grad",
    "dim",
    "in_channels",
]


@pytest.mark.parametrize("layer_name", CODE_WORDS)
def test_layer_names_that_generated_code_uses(layer_name: str) -> None:
    block = [{**conv(4), "name": layer_name}, {"add": None, "from": [layer_name, "input"]}]
    graph = {
        "name": "net",
        "input": [1, 4, 4],
        "blocks": {"blk": {"layers": block}},
        "layers": [
            {**conv(2), "name": layer_name},
            {"relu": None},
            {"concat": None, "from": ["relu_1", layer_name]},
            {"blk": None, "name": "b"},
            {"flatten": None},
            {"linear": 2},
        ],
    }
    source = assert_runs_like_build(checked_spec(graph))
    # The layer keeps its name: it is an attribute (a state_dict key), and a variable.
    assert f"        self.{layer_name} = nn.Conv2d(1, 2, kernel_size=1)\n" in source
    assert f"        x = torch.cat([relu_1, {layer_name}], dim=1)  # concat_1: (N, 4, 4, 4)" in (
        source
    )
    chain = {"name": "net", "input": [4], "layers": [{"linear": 3, "name": layer_name}]}
    for as_module in (False, True):
        assert_runs_like_build(checked_spec(chain), as_module)


# --- property: names drawn from everything that could clash ----------------------------------

KEYWORD_ADJACENT = [
    *"match case type self cls super print tuple model output input".split(),
    *"True_ None_ False_ async_ await_ exec compile globals locals object".split(),
]


def _harvested_names() -> set[str]:
    """Every name in the generated files of the shipped specs, attributes included, so a name
    that codegen starts to use is drawn as soon as a shipped spec shows it."""
    found: set[str] = set()
    for path in SPECS:
        checked = netspec.load(path)
        for as_module in (False, True):
            source = netspec.compile_source(checked, module=as_module)
            found |= identifiers(source)
            found |= {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}
    return found


def spellings(word: str) -> set[str]:
    """``blk_a``, ``blkA``, ``BlkA``…: the ways to write a word that give one class name."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", word).lower()
    camel = class_name(snake)
    variants = {word, snake, camel, camel[:1].lower() + camel[1:], f"{word}_"}
    return {v for v in variants if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", v)}


POOL = sorted(
    {w for w in dir(builtins) if re.fullmatch(r"[A-Za-z]\w*", w)}
    | set(KEYWORD_ADJACENT)
    | _harvested_names()
)


def _first_free(words: list[str | None]) -> list[str | None]:
    """The words with repeats dropped (None: let netspec name that layer)."""
    seen: set[str] = set()
    unique: list[str | None] = []
    for word in words:
        unique.append(word if word not in seen else None)
        if word is not None:
            seen.add(word)
    return unique


def _named(layer: dict[str, Any], layer_name: str | None) -> dict[str, Any]:
    return {**layer, "name": layer_name} if layer_name is not None else layer


@st.composite
def clashing_specs(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A spec whose names (network, blocks, parameters, layers) are drawn from a few words of
    the pool and their spellings, so they clash with each other and with generated code."""
    palette = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=4, unique=True))
    words = sorted({variant for word in palette for variant in spellings(word)})

    def pick(allowed: Any) -> str | None:
        choices = [w for w in words if allowed(w)]
        return draw(st.sampled_from(choices)) if choices else None

    def layer_names(count: int) -> list[str | None]:
        optional = st.one_of(st.none(), st.sampled_from(words))
        drawn = [draw(optional) for _ in range(count)]
        return _first_free([w if w is None or name_problem(w) is None else None for w in drawn])

    spec_name = pick(lambda w: spec_name_problem(w) is None) or "net"
    with_blocks = draw(st.integers(0, 3)) > 0  # mostly: blocks give the most names
    as_module = draw(st.booleans())
    if not with_blocks:
        a, b, c = layer_names(3)
        spec = {
            "name": spec_name,
            "input": [2, 4, 4],
            "layers": [
                _named(conv(3), a),
                _named({"relu": None}, b),
                {"flatten": None},
                _named({"linear": 3}, c),
            ],
        }
        return spec, as_module

    def block_name(w: str) -> bool:
        return name_problem(w, "block name") is None and kinds.get(w) is None

    def parameter(w: str) -> bool:
        return name_problem(w) is None and w != INPUT_CHANNELS

    inner = pick(block_name) or "inner"
    outer = pick(lambda w: block_name(w) and w != inner) or f"{inner}_outer"
    p1 = pick(parameter) or "p"
    p2 = pick(lambda w: parameter(w) and w != p1) or f"{p1}_2"
    p3 = pick(parameter) or "q"
    i1, i2 = layer_names(2)
    i1 = i1 or "first"
    i2 = i2 if i2 != "first" else None
    o1, o2 = layer_names(2)
    t1, t2, t3, t4 = layer_names(4)
    t1 = t1 or "stem"
    t3 = t3 if t3 != "stem" else None
    t3 = t3 or "last"
    inner_layers = [
        {"conv2d": {"out_channels": p1, "kernel_size": 1, "padding": p2}, "name": i1},
        _named({"relu": None}, i2),
        {"maxpool2d": {"kernel_size": 1, "padding": 0}},
        {"conv2d": {"out_channels": p1, "kernel_size": 1, "padding": p2}, "from": i1},
    ]
    spec = {
        "name": spec_name,
        "input": [2, 4, 4],
        "blocks": {
            inner: {"params": {p1: None, p2: 0}, "layers": inner_layers},
            outer: {
                "params": {p3: 2},
                "layers": [_named({inner: {p1: p3}}, o1), _named({inner: p3}, o2)],
            },
        },
        "layers": [
            {**conv(2), "name": t1},
            _named({outer: None}, t2),
            {"relu": None, "name": t3},
            {"concat": None, "from": [t3, t1]},
            _named({inner: 3}, t4),
            {"flatten": None},
            {"linear": 3},
        ],
    }  # fmt: skip
    return spec, as_module


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(clashing_specs())
def test_whatever_checks_clean_compiles_to_a_file_that_runs(case: tuple[dict, bool]) -> None:
    spec, as_module = case
    checked = netspec.check_text(json.dumps(spec), "clashing.yaml")
    assume(checked.ok)
    assert_runs_like_build(checked, as_module)
