"""Fuzzing: no input makes netspec raise; whatever it accepts, it compiles to valid Python."""

from __future__ import annotations

import ast
import contextlib
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netspec
from netspec.diagnostics import printable
from netspec.layers import all_kinds

KINDS = [k.name for k in all_kinds()]
KEYS = sorted({f for k in all_kinds() for f in k.Args.model_fields} | {"name", "from"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "zeros", "reflect", "tanh", "input", "x", "relu_1"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=8,
)
layers = st.one_of(
    st.sampled_from(KINDS),
    st.builds(lambda kind, arg: {kind: arg}, st.sampled_from(KINDS), values),
    st.builds(
        lambda kind, arg, extra: {kind: arg, **extra},
        st.sampled_from(KINDS),
        values,
        st.dictionaries(st.sampled_from(["name", "from", *KEYS[:5]]), values, max_size=2),
    ),
    values,
)
specs = st.fixed_dictionaries(
    {"layers": st.lists(layers, max_size=8)},
    optional={
        "name": st.one_of(st.just("net"), values),
        "input": st.one_of(st.lists(st.integers(-1, 12), max_size=4), values),
        "train": st.one_of(st.just({}), values),
        "extra": values,
    },
)

SETTINGS = settings(
    max_examples=int(os.environ.get("NETSPEC_FUZZ_EXAMPLES", "300")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(specs)
def test_structured_garbage_is_reported_never_raised(spec: dict[str, Any]) -> None:
    checked = netspec.check_text(json.dumps(spec), "fuzz.yaml")
    for diagnostic in checked.diagnostics:
        assert str(diagnostic).startswith("fuzz.yaml")
    if checked.ok:
        ast.parse(netspec.compile_source(checked))
        ast.parse(netspec.compile_source(checked, module=True))


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("name:input[]{},-&*!|>'\"#\n 0123relu"))))
def test_random_yaml_text_is_reported_never_raised(text: str) -> None:
    checked = netspec.check_text(text, "fuzz.yaml")
    lines = text.count("\n") + 1
    for diagnostic in checked.diagnostics:
        assert str(diagnostic).startswith("fuzz.yaml")
        # nothing printed that would garble a terminal, and every place is in the text
        assert printable(str(diagnostic), newlines=True) == str(diagnostic)
        if diagnostic.position is not None:
            assert 1 <= diagnostic.position.line <= lines, diagnostic
            assert diagnostic.position.column >= 1, diagnostic


def test_surrogate_escapes_are_reported_not_raised() -> None:
    # libyaml refuses escapes of UTF-16 surrogates, which no encoder could print
    text = 'name: t\ninput: [1, 8]\nlayers:\n  - conv1d: {stride: "\\ud800\\udc00"}\n'
    checked = netspec.check_text(text, "fuzz.yaml")
    assert [str(d) for d in checked.errors] == [
        "fuzz.yaml:4:25: invalid YAML: found invalid Unicode character escape code"
    ]


block_names = st.sampled_from(["blk", "inner", "outer"])
expressions = st.sampled_from(["c", "c * 2", "c // 0", "c / 3", "k + c", "zz", "(c", "2", "-c"])
block_values = st.one_of(values, expressions, st.integers(-2, 6))
block_layers = st.one_of(
    layers,
    st.builds(lambda name, arg: {name: arg}, block_names, st.one_of(block_values, st.none())),
    st.builds(
        lambda kind, arg, repeat: {kind: arg, "repeat": repeat},
        st.sampled_from([*KINDS[:6], "blk", "inner"]),
        st.dictionaries(st.sampled_from([*KEYS[:8], "c", "k"]), block_values, max_size=3),
        st.one_of(st.integers(-1, 3), expressions),
    ),
)
block_documents = st.fixed_dictionaries(
    {
        "name": st.just("fuzz"),
        "input": st.just([3, 8, 8]),
        "blocks": st.dictionaries(
            block_names,
            st.fixed_dictionaries(
                {"layers": st.lists(block_layers, min_size=1, max_size=4)},
                optional={
                    "params": st.dictionaries(
                        st.sampled_from(["c", "k", "in_channels"]),
                        st.one_of(st.none(), st.integers(0, 4), st.just("x")),
                        max_size=2,
                    )
                },
            ),
            max_size=3,
        ),
        "layers": st.lists(block_layers, min_size=1, max_size=5),
    }
)


@SETTINGS
@given(block_documents)
def test_blocks_garbage_is_reported_never_raised(spec: dict[str, Any]) -> None:
    checked = netspec.check_text(json.dumps(spec), "fuzz.yaml")
    for diagnostic in checked.diagnostics:
        assert str(diagnostic).startswith("fuzz.yaml")
    if checked.ok:
        from netspec.backends.codegen import CompileError

        # a documented limit (e.g. an expression as repeat count) is said clearly
        with contextlib.suppress(CompileError):
            ast.parse(netspec.compile_source(checked))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[", "fuzz.yaml:1:2: invalid YAML: expected node content, but the line ends"),
        (
            "name: x\nlayers: [relu",
            "fuzz.yaml:2:14: invalid YAML: expected ',' or ']', but the line ends",
        ),
    ],
)
def test_an_error_at_the_end_of_a_file_without_a_newline_points_into_the_file(
    text: str, error: str
) -> None:
    # the parser reads a final newline that is not there, and reported the line after it
    assert [str(d) for d in netspec.check_text(text, "fuzz.yaml").errors] == [error]
