"""Property: for random valid chains and graphs, the compiled file is formatted, lint-clean,
has exactly the checker's shape at every layer and its parameter count, and is the same network
as ``netspec.build``.

Specs are grown layer by layer from random candidates, keeping those the checker accepts, so
the corpus covers every kind, ``from:`` branches, ``add``/``concat`` and long layer names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from generated import compiled_model, import_file, traced_shapes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import netspec
from netspec.names import RESERVED

EXAMPLES = int(os.environ.get("NETSPEC_PROPERTY_EXAMPLES", "120"))

names = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=31).map(
    lambda tail: "l" + tail
)


def sizes(dims: int, low: int, high: int) -> st.SearchStrategy[Any]:
    one = st.integers(low, high)
    return st.one_of(one, st.lists(one, min_size=dims, max_size=dims))


def layer(dims: int, earlier: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    image = f"{dims}d"
    spatial = st.one_of(
        st.fixed_dictionaries(
            {"out_channels": st.integers(1, 6), "kernel_size": sizes(dims, 1, 3)},
            optional={
                "padding": st.one_of(sizes(dims, 0, 1), st.just("same")),
                "bias": st.booleans(),
                "stride": st.just(1),
                "dilation": sizes(dims, 1, 2),
                "padding_mode": st.sampled_from(["zeros", "reflect", "replicate"]),
            },
        ).map(lambda a: {f"conv{image}": a}),
        st.fixed_dictionaries(
            {"kernel_size": sizes(dims, 1, 2)}, optional={"ceil_mode": st.booleans()}
        ).map(lambda a: {f"maxpool{image}": a}),
        st.integers(1, 2).map(lambda k: {f"avgpool{image}": k}),
        st.integers(1, 3).map(lambda k: {f"adaptiveavgpool{image}": k}),
        st.integers(1, 3).map(lambda k: {f"adaptivemaxpool{image}": k}),
        st.just(f"batchnorm{image}" if dims == 2 else "batchnorm1d"),
        st.just(f"dropout{image}"),
    )
    anywhere = st.one_of(
        st.sampled_from(["relu", "gelu", "elu", "silu", "sigmoid", "tanh", "identity", "dropout"]),
        st.floats(0.01, 0.5).map(lambda s: {"leakyrelu": round(s, 3)}),
        st.just({"gelu": "tanh"}),
        st.just({"relu": {"inplace": True}}),
        st.just("flatten"),
        st.integers(1, 12).map(lambda n: {"linear": n}),
        st.just({"linear": {"out_features": 5, "bias": False}}),
        st.just({"softmax": -1}),
        st.just({"logsoftmax": 1}),
    )
    sources = st.sampled_from(["input", *earlier])
    merges = st.one_of(
        st.tuples(sources, sources).map(lambda s: {"add": None, "from": list(s)}),
        st.tuples(sources, sources, st.sampled_from([1, -1])).map(
            lambda s: {"concat": s[2], "from": [s[0], s[1]]}
        ),
    )
    plain = st.one_of(spatial, anywhere)
    branched = st.tuples(plain, sources).map(
        lambda t: {**(t[0] if isinstance(t[0], dict) else {t[0]: None}), "from": t[1]}
    )
    return st.one_of(plain, plain, merges, branched)


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    dims = draw(st.sampled_from([1, 2]))
    spec: dict[str, Any] = {
        "name": "random_net",
        "input": [draw(st.integers(1, 4))] + [draw(st.integers(4, 12)) for _ in range(dims)],
        "layers": [],
    }
    named: list[str] = []
    for _ in range(draw(st.integers(1, 9))):
        candidate = draw(layer(dims, named))
        if isinstance(candidate, str):
            candidate = {candidate: None}
        if draw(st.booleans()):
            layer_name = draw(names)
            if layer_name in RESERVED or layer_name in named:
                continue
            candidate = {**candidate, "name": layer_name}
        trial = {**spec, "layers": [*spec["layers"], candidate]}
        if netspec.check_text(json.dumps(trial)).ok:
            spec = trial
            if "name" in candidate:
                named.append(candidate["name"])
    assume(spec["layers"])
    return spec


def assert_same_outputs(
    compiled: torch.nn.Module, built: torch.nn.Module, input_dims: list[int]
) -> None:
    """With the same weights, the generated source and netspec.build compute the same tensor."""
    built.load_state_dict(compiled.state_dict())
    compiled.eval()
    built.eval()
    batch = torch.randn(2, *input_dims)
    with torch.no_grad():
        assert torch.equal(compiled(batch), built(batch))


class Batch:
    """The files a test generates, kept to be checked by ruff at once: one `ruff check` and one
    `ruff format --check` per batch instead of two processes per example."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.specs: dict[str, str] = {}

    def write(self, source: str, spec: dict[str, Any]) -> Path:
        path = self.directory / f"generated_{len(self.specs)}.py"
        path.write_text(source)
        self.specs[path.name] = json.dumps(spec)
        return path

    def assert_ruff_clean(self) -> None:
        assert self.specs, "nothing was generated"
        folder = str(self.directory)
        for args in (["check", "--isolated", folder], ["format", "--isolated", "--check", folder]):
            result = subprocess.run(
                [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, check=False
            )
            named = [
                f"{name}: {spec}" for name, spec in self.specs.items() if name in result.stdout
            ]
            assert result.returncode == 0, "\n".join([result.stdout, result.stderr, *named])


@pytest.mark.slow
def test_compiled_random_networks_match_the_checker(tmp_path: Path) -> None:
    batch = Batch(tmp_path)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(valid_specs(), st.booleans())
    def compiled_matches(spec: dict[str, Any], as_module: bool) -> None:
        compiled_network_matches(spec, as_module, batch)

    compiled_matches()
    batch.assert_ruff_clean()


def compiled_network_matches(spec: dict[str, Any], as_module: bool, batch: Batch) -> None:
    checked = netspec.check_text(json.dumps(spec), "random.yaml")
    assert checked.ok and checked.graph is not None
    source = netspec.compile_source(checked, module=as_module)
    compiled = compiled_model(import_file(batch.write(source, spec)), checked, as_module)
    assert traced_shapes(compiled, checked) == {
        r.name: r.output.dims for r in checked.graph.layers()
    }
    assert sum(p.numel() for p in compiled.parameters()) == checked.graph.total_params

    built = netspec.build(checked, module=as_module)
    assert_same_outputs(compiled, built, spec["input"])


@st.composite
def block_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A block with parameters, its layers' sizes written as expressions of them, used a few
    times with different values (and repeated); grown like ``valid_specs``."""
    channel_sizes = st.sampled_from(["c", "c * 2", "c + k", "2 * k", 4])
    menu = st.one_of(
        st.fixed_dictionaries(
            {"out_channels": channel_sizes, "kernel_size": st.sampled_from(["k", 1, 3])},
            optional={"padding": st.sampled_from(["same", "k // 2", 0]), "bias": st.booleans()},
        ).map(lambda a: {"conv2d": a}),
        st.just({"batchnorm2d": None}),
        st.just({"relu": None}),
        st.just({"maxpool2d": {"kernel_size": 2, "ceil_mode": True}}),
        st.just({"add": None, "from": ["PREVIOUS", "input"]}),
        st.just({"concat": None, "from": ["PREVIOUS", "input"]}),
        st.just({"dropout2d": "0.1"}).map(lambda _: {"dropout2d": 0.1}),
    )
    body: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 4))):
        layer = dict(draw(menu))
        layer["name"] = f"l{index}"
        if "from" in layer:
            layer["from"] = [body[-1]["name"] if body else "input", "input"]
        body.append(layer)
    uses = []
    for use in range(draw(st.integers(1, 3))):
        entry: dict[str, Any] = {"blk": {"c": draw(st.integers(1, 6))}, "name": f"use{use}"}
        if draw(st.booleans()):
            entry["blk"]["k"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            entry["repeat"] = draw(st.integers(1, 2))
        uses.append(entry)
    return {
        "name": "blocky",
        "input": [draw(st.integers(1, 4)), 8, 8],
        "blocks": {"blk": {"params": {"c": None, "k": 1}, "layers": body}},
        "layers": [
            {"conv2d": {"out_channels": draw(st.integers(1, 4)), "kernel_size": 1}},
            *uses,
            "flatten",
            {"linear": 3},
        ],
    }


@pytest.mark.slow
def test_compiled_blocks_match_the_checker(tmp_path: Path) -> None:
    batch = Batch(tmp_path)

    @settings(
        max_examples=max(EXAMPLES // 2, 20),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(block_specs())
    def compiled_matches(spec: dict[str, Any]) -> None:
        compiled_blocks_match(spec, batch)

    compiled_matches()
    batch.assert_ruff_clean()


def compiled_blocks_match(spec: dict[str, Any], batch: Batch) -> None:
    checked = netspec.check_text(json.dumps(spec), "blocks.yaml")
    assume(checked.ok)
    assert checked.graph is not None
    source = netspec.compile_source(checked)
    assert "class Blk(nn.Module):" in source
    compiled = compiled_model(import_file(batch.write(source, spec)), checked, as_module=True)
    assert traced_shapes(compiled, checked) == {
        r.name: r.output.dims for r in checked.graph.layers()
    }
    built = netspec.build(checked)
    assert list(built.state_dict()) == list(compiled.state_dict())
    assert_same_outputs(compiled, built, spec["input"])


def test_a_ruff_finding_in_a_batch_names_its_spec(tmp_path: Path) -> None:
    batch = Batch(tmp_path)
    batch.write("print(1)\n", {"name": "clean"})
    batch.write("import os\nx=1\n", {"name": "unused_import"})
    with pytest.raises(AssertionError) as failure:
        batch.assert_ruff_clean()
    assert 'generated_1.py: {"name": "unused_import"}' in str(failure.value)
    assert "clean" not in str(failure.value)
