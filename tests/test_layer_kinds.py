"""One test every layer kind passes, in the spirit of Keras' ``run_layer_test``.

Each kind declares its own examples (``examples`` in its file). For a valid example the kind's
inferred output shape and parameter tensors must be exactly those of the real PyTorch module
built from the kind's own call and run on a tensor; the JSON Schema must accept the arguments;
and the compiled file must hold the module ``netspec.build`` makes. For an invalid one netspec
must refuse with the declared message, and so must PyTorch (for arguments: the JSON Schema).
The kinds come from the registry: a new kind is tested without editing this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from jsonschema import Draft202012Validator
from test_codegen_names import assert_runs_like_build
from torch_oracle import run_layer, run_layer_outputs

import netspec
from netspec.layers import all_kinds
from netspec.layers.args import LayerArgs
from netspec.layers.base import Example, LayerKind
from netspec.shapes import Shape
from netspec.spec.entries import Findings
from netspec.spec.expand import validate_args
from netspec.spec.schema import spec_schema
from netspec.spec.source import parse_yaml

SCHEMA = Draft202012Validator(spec_schema())
CASES = [
    pytest.param(
        kind, example, id=f"{kind.name}-{index}-{'ok' if example.error is None else 'bad'}"
    )
    for kind in all_kinds()
    for index, example in enumerate(kind.examples)
]


class Recorder:
    """A shape rule's reporter that keeps what it is told."""

    def __init__(self, count: int) -> None:
        self.input_names = tuple(f"in{i}" for i in range(count))
        self.errors: list[str] = []

    def error(self, message: str, arg: str | None = None) -> None:
        self.errors.append(message)

    def warning(self, message: str, arg: str | None = None) -> None:
        pass


def entry(kind: LayerKind[Any], example: Example) -> dict[str, Any]:
    """The example as a layer entry of a spec, reading the network's input as often as the
    kind takes inputs."""
    layer: dict[str, Any] = {kind.name: example.args}
    if len(example.inputs) > 1:
        layer["from"] = ["input"] * len(example.inputs)
    return layer


def input_dtype(kind: LayerKind[Any]) -> str:
    """What the example's inputs hold: floats, or token ids for a kind reading only those."""
    return "float32" if "float32" in kind.input_dtypes else "long"


def spec_of(kind: LayerKind[Any], example: Example) -> dict[str, Any]:
    size = list(example.inputs[0])
    written = size if input_dtype(kind) == "float32" else {"shape": size, "dtype": "long"}
    return {"name": "t", "input": written, "layers": [entry(kind, example)]}


def validated(kind: LayerKind[Any], example: Example) -> tuple[LayerArgs | None, list[str]]:
    """The arguments checked as a spec's are: (args or None, the problems' messages)."""
    doc, problems = parse_yaml(json.dumps({"layers": [entry(kind, example)]}), "t.yaml")
    assert doc is not None and not problems
    args, _, found = validate_args(kind, example.args, ("layers", 0, kind.name), Findings(doc))
    return args, [message for message, *_ in found]


def torch_inputs(kind: LayerKind[Any], example: Example) -> list[torch.Tensor]:
    torch.manual_seed(0)
    if input_dtype(kind) == "long":
        return [torch.randint(0, 10, (2, *shape)) for shape in example.inputs]
    return [torch.randn(2, *shape) for shape in example.inputs]


@pytest.mark.parametrize(("kind", "example"), CASES)
def test_kind_agrees_with_pytorch(kind: LayerKind[Any], example: Example) -> None:
    args, problems = validated(kind, example)
    schema_accepts = SCHEMA.is_valid(spec_of(kind, example))
    if args is None or problems:  # refused for its arguments: so must the schema be
        assert example.error is not None, problems
        assert any(example.error in problem for problem in problems), problems
        assert not schema_accepts
        return
    if example.error is None:  # the schema may refuse more than the argument model, never less
        assert schema_accepts

    recorder = Recorder(len(example.inputs))
    dtype = input_dtype(kind)
    inferred = kind.infer(args, [Shape(shape, dtype=dtype) for shape in example.inputs], recorder)
    tensors = torch_inputs(kind, example)
    if example.error is not None:
        assert any(example.error in error for error in recorder.errors), recorder.errors
        with pytest.raises((RuntimeError, ValueError, IndexError, TypeError, AssertionError)):
            run_layer(kind, args, tensors)
        return

    assert recorder.errors == []
    outputs, module = run_layer_outputs(kind, args, tensors)
    assert inferred.shape is not None
    shapes = [shape.dims if shape else None for shape in (inferred.shape, *inferred.more)]
    assert shapes == [tuple(output.shape[1:]) for output in outputs]
    assert len(outputs) == kind.output_count(args)
    parameters = {} if module is None else dict(module.named_parameters())
    assert inferred.weights == {name: tuple(p.shape) for name, p in parameters.items()}


@pytest.mark.parametrize(
    ("kind", "example"),
    [
        case
        for case in CASES
        if case.values[1].error is None and len(set(case.values[1].inputs)) == 1  # type: ignore[union-attr]
    ],
)
def test_compiled_equals_built(kind: LayerKind[Any], example: Example) -> None:
    checked = netspec.check_text(json.dumps(spec_of(kind, example)), "t.yaml")
    assert checked.ok, checked.errors
    assert_runs_like_build(checked)


@pytest.mark.parametrize("kind", all_kinds(), ids=lambda kind: kind.name)
def test_every_kind_has_valid_and_invalid_examples(kind: LayerKind[Any]) -> None:
    assert any(example.error is None for example in kind.examples)
    assert any(example.error is not None for example in kind.examples)
