"""The JSON Schema editors use: valid, current, and in agreement with the validator."""

from __future__ import annotations

import json
import textwrap

import pytest
from helpers import ROOT, SPECS, check
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from netspec.spec.schema import spec_schema

SCHEMA = spec_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


def load_yaml(text: str) -> object:
    return YAML(typ="safe", pure=True).load(text)


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "docs" / "netspec.schema.json").read_text(encoding="utf-8"))
    assert committed == SCHEMA, "run `make docs` to regenerate docs/netspec.schema.json"


def test_every_kind_is_in_the_schema() -> None:
    from netspec.layers import all_kinds

    layer_refs = {ref["$ref"] for ref in SCHEMA["$defs"]["layer"]["anyOf"][1:]}
    assert layer_refs == {f"#/$defs/layer_{k.name}" for k in all_kinds()}


ZOO = sorted((ROOT / "specs" / "zoo").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS + ZOO, ids=[p.stem for p in SPECS + ZOO])
def test_shipped_specs_validate(path) -> None:
    errors = list(VALIDATOR.iter_errors(load_yaml(path.read_text())))
    assert [e.message for e in errors] == []


AGREEMENT = [
    # (spec body after the header, valid?)
    ("- relu", True),
    ("- linear: 10", True),
    ("- conv2d: {out_channels: 4, kernel_size: [3, 3], padding: same}", True),
    ("- adaptiveavgpool2d: [1, null]", True),
    ("- dropout:\n  name: drop", True),
    ("- relu\n- add:\n  from: [input, relu_1]", True),
    ("- conv2d", False),  # kernel_size and out_channels are required
    ("- conv2d: {out_channels: 4, kernal_size: 3}", False),
    ("- Conv2d: {out_channels: 4, kernel_size: 3}", False),
    ("- linear: 0", False),
    ("- linear: {out_features: 3, bias: 1}", False),
    ("- relu:\n  name: forward", False),
    ("- relu:\n  name: conv-1", False),
    ('- relu:\n  name: "сonv"', False),
    ("- dropout: 1.5", False),
    ("- maxpool2d: {kernel_size: [2, 2, 2]}", False),
    ("- adaptiveavgpool1d: [null]", False),
    ("- gelu: fast", False),
    ("- relu: {}\n  sigmoid:", False),
]


@pytest.mark.parametrize(("layers", "valid"), AGREEMENT)
def test_schema_and_validator_agree(layers: str, valid: bool) -> None:
    text = "name: t\ninput: [4, 8, 8]\nlayers:\n" + textwrap.indent(layers, "  ") + "\n"
    schema_ok = not list(VALIDATOR.iter_errors(load_yaml(text)))
    checked = check(text)
    assert schema_ok == valid
    assert checked.ok == valid, checked.errors
