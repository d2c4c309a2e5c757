"""Property: for random chains and input sizes, the checker's verdict is PyTorch's: the same
output shape and parameters at every layer, or an error exactly when PyTorch raises one.

Two sources of layers: hand-written strategies that explore the convolution, pooling and linear
arguments deeply, and the layer registry itself (every kind, with the arguments of its own
examples), so a new kind is covered without editing this file.

The examples are derandomized so CI is repeatable; set NETSPEC_PROPERTY_EXAMPLES to run more.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch_oracle import run_graph

from netspec import check_text
from netspec.layers import all_kinds
from netspec.layers.base import LayerKind

EXAMPLES = int(os.environ.get("NETSPEC_PROPERTY_EXAMPLES", "400"))
REGISTRY_EXAMPLES = int(os.environ.get("NETSPEC_PROPERTY_EXAMPLES", "200"))


def sizes(dims: int, low: int, high: int) -> st.SearchStrategy[Any]:
    """An int, or a list of one int per spatial dim (as a spec may write either)."""
    one = st.integers(low, high)
    return st.one_of(one, st.lists(one, min_size=dims, max_size=dims))


def conv(dims: int) -> st.SearchStrategy[dict[str, Any]]:
    args = st.fixed_dictionaries(
        {
            "out_channels": st.integers(1, 8),
            "kernel_size": sizes(dims, 1, 6),
        },
        optional={
            "stride": sizes(dims, 1, 3),
            "padding": st.one_of(sizes(dims, 0, 3), st.sampled_from(["same", "valid"])),
            "dilation": sizes(dims, 1, 3),
            "groups": st.sampled_from([1, 2, 3]),
            "bias": st.booleans(),
            "padding_mode": st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
            "in_channels": st.integers(1, 6),
        },
    )
    return args.map(lambda a: {f"conv{dims}d": a})


def max_pool(dims: int) -> st.SearchStrategy[dict[str, Any]]:
    args = st.fixed_dictionaries(
        {"kernel_size": sizes(dims, 1, 5)},
        optional={
            "stride": sizes(dims, 1, 3),
            "padding": sizes(dims, 0, 2),
            "dilation": sizes(dims, 1, 3),
            "ceil_mode": st.booleans(),
        },
    )
    return args.map(lambda a: {f"maxpool{dims}d": a})


def avg_pool(dims: int) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "stride": sizes(dims, 1, 3),
        "padding": sizes(dims, 0, 2),
        "ceil_mode": st.booleans(),
        "count_include_pad": st.booleans(),
    }
    if dims == 2:
        optional["divisor_override"] = st.integers(1, 4)
    args = st.fixed_dictionaries({"kernel_size": sizes(dims, 1, 5)}, optional=optional)
    return args.map(lambda a: {f"avgpool{dims}d": a})


def adaptive(dims: int) -> st.SearchStrategy[dict[str, Any]]:
    item = st.integers(1, 5) if dims == 1 else st.one_of(st.integers(1, 5), st.none())
    target = st.one_of(st.integers(1, 5), st.lists(item, min_size=dims, max_size=dims))
    kind = st.sampled_from([f"adaptiveavgpool{dims}d", f"adaptivemaxpool{dims}d"])
    return st.builds(lambda k, t: {k: t}, kind, target)


def head() -> st.SearchStrategy[list[Any]]:
    """Optionally flatten (any dims) and one or two linears with a written size or not."""
    flatten = st.fixed_dictionaries(
        {},
        optional={
            "start_dim": st.sampled_from([1, 2, 3, -1, -2, -3]),
            "end_dim": st.sampled_from([1, 2, 3, -1, -2, 5]),
        },
    ).map(lambda a: {"flatten": a})
    linear = st.fixed_dictionaries(
        {"out_features": st.integers(1, 12)},
        optional={"in_features": st.integers(1, 400), "bias": st.booleans()},
    ).map(lambda a: {"linear": a})
    return st.one_of(
        st.just([]),
        st.tuples(flatten, st.lists(linear, min_size=0, max_size=2)).map(lambda t: [t[0], *t[1]]),
    )


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    dims = draw(st.sampled_from([1, 2]))
    input_size = [draw(st.integers(1, 6))] + [draw(st.integers(1, 24)) for _ in range(dims)]
    body = draw(
        st.lists(
            st.one_of(conv(dims), max_pool(dims), avg_pool(dims), adaptive(dims)),
            min_size=1,
            max_size=4,
        )
    )
    return {"name": "random", "input": input_size, "layers": [*body, *draw(head())]}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(chains())
def test_checker_verdict_equals_pytorch(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)  # JSON is YAML
    checked = check_text(text, "random.yaml")
    assert checked.graph is not None and checked.graph is not None, checked.diagnostics
    # netspec rejects on purpose what PyTorch allows: flattening the batch away.
    assume(not any("would merge the batch" in d.message for d in checked.errors))

    try:
        torch_run = run_graph(checked.graph)
    except (RuntimeError, ValueError, IndexError, AssertionError) as error:
        assert not checked.ok, f"PyTorch raised {error!r} but netspec accepted:\n{text}"
        return
    errors = [str(d) for d in checked.errors]
    assert checked.ok, f"PyTorch ran but netspec rejected:\n{text}\n{errors}"
    for layer in checked.graph.layers():
        name = layer.name
        assert layer.output is not None
        assert layer.output.dims == torch_run.outputs[name], (name, text)
        assert list(layer.weights.items()) == torch_run.params.get(name, []), (name, text)


def _accepted_args(kind: LayerKind[Any]) -> list[Any]:
    """The arguments of a kind's examples that validate (whatever inputs they were for)."""
    found = []
    for example in kind.examples:
        raw = example.args
        values = raw if isinstance(raw, dict) else {} if raw is None else {kind.main_arg: raw}
        try:
            if None not in values:
                kind.Args.model_validate(values)
                found.append(raw)
        except ValueError:
            continue
    return found


REGISTRY_LAYERS = [(kind, args) for kind in all_kinds() for args in _accepted_args(kind)]


@st.composite
def registry_chains(draw: st.DrawFn) -> dict[str, Any]:
    rank = draw(st.integers(1, 3))
    input_size = [draw(st.integers(1, 9)) for _ in range(rank)]
    layers = []
    for index in range(draw(st.integers(1, 4))):
        kind, args = draw(st.sampled_from(REGISTRY_LAYERS))
        layer: dict[str, Any] = {kind.name: args, "name": f"l{index}"}
        if kind.max_inputs != 1:  # a merge joins the layer before with itself
            layer["from"] = [f"l{index - 1}" if index else "input"] * 2
        layers.append(layer)
    return {"name": "random", "input": input_size, "layers": layers}


@settings(
    max_examples=REGISTRY_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(registry_chains())
def test_registry_chains_agree_with_pytorch(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    checked = check_text(text, "random.yaml")
    assert checked.graph is not None, checked.diagnostics
    assert all(layer.args is not None for layer in checked.graph.layers()), checked.errors
    try:
        torch_run = run_graph(checked.graph)
    except (RuntimeError, ValueError, IndexError, AssertionError) as error:
        assert not checked.ok, f"PyTorch raised {error!r} but netspec accepted:\n{text}"
        return
    # netspec always has a batch dim, where PyTorch's modules also take unbatched inputs (and
    # so run on a rank netspec refuses); and it never lets the batch be flattened away, moved,
    # padded, indexed or reduced.
    by_design = (
        "(batch excluded)",
        "would merge the batch",
        "is the batch",
        "would move the batch",
        "the batch is never padded",
        "returns fewer chunks than asked",  # the spec reads as many outputs as it asked for
        "squeeze removes only dims of size 1",  # PyTorch silently keeps a larger dim
    )
    assume(not any(any(p in d.message for p in by_design) for d in checked.errors))
    assert checked.ok, f"PyTorch ran but netspec rejected:\n{text}\n{checked.errors}"
    for layer in checked.graph.layers():
        assert layer.output is not None and layer.weights is not None
        assert layer.output.dims == torch_run.outputs[layer.name], (layer.name, text)
        assert list(layer.weights.items()) == torch_run.params.get(layer.name, []), text


def test_every_kind_reaches_the_registry_chains() -> None:
    assert {kind.name for kind, _ in REGISTRY_LAYERS} == {kind.name for kind in all_kinds()}
