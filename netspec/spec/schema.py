"""The JSON Schema of a spec, built from the same models that validate it.

Editors use it (yaml-language-server: completion, hover text, underlines); ``netspec schema``
prints it. Because it is generated from the layer registry and the pydantic models, it cannot
drift from what ``netspec check`` accepts.
"""

from __future__ import annotations

from typing import Any

from netspec import layers as kinds
from netspec.layers.base import LayerKind
from netspec.names import IDENTIFIER, MAX_LENGTH, RESERVED
from netspec.spec.model import SpecHeader

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def _name_schema(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": f"^{IDENTIFIER.pattern}$",
        "maxLength": MAX_LENGTH,
        "not": {"enum": sorted(RESERVED)},
        "description": description,
    }


def strip_titles(node: Any) -> Any:
    """pydantic adds a ``title`` to everything; editors show descriptions, titles are noise."""
    if isinstance(node, dict):
        return {k: strip_titles(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [strip_titles(v) for v in node]
    return node


def _kind_value_schema(kind: LayerKind) -> dict[str, Any]:
    args = strip_titles(kind.Args.model_json_schema())
    args.pop("$defs", None)
    choices = [args]
    if kind.main_arg is not None:
        main = dict(args["properties"][kind.main_arg])
        main.pop("default", None)
        choices.append(main)
    if kind.accepts_bare():
        choices.append({"type": "null"})
    return choices[0] if len(choices) == 1 else {"anyOf": choices}


def _kind_entry_schema(kind: LayerKind) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"{kind.name}: {kind.summary} (PyTorch {kind.torch_name})",
        "properties": {
            kind.name: {"description": kind.summary, **_kind_value_schema(kind)},
            "name": {"$ref": "#/$defs/layerName"},
            "from": {"$ref": "#/$defs/from"},
        },
        "required": [kind.name],
        "additionalProperties": False,
    }


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a netspec spec file."""
    header = strip_titles(SpecHeader.model_json_schema(ref_template="#/$defs/{model}"))
    all_kinds = kinds.all_kinds()
    bare = sorted(k.name for k in all_kinds if k.accepts_bare())
    defs: dict[str, Any] = dict(header.pop("$defs", {}))
    defs["layerName"] = _name_schema("layer name: becomes the submodule's attribute name")
    defs["from"] = {
        "description": "the layer(s) this one reads; 'input' is the network's input",
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ],
    }
    entries = []
    for kind in all_kinds:
        defs[f"layer_{kind.name}"] = _kind_entry_schema(kind)
        entries.append({"$ref": f"#/$defs/layer_{kind.name}"})
    defs["layer"] = {
        "description": "a layer: a bare kind (- relu), or a kind with arguments",
        "anyOf": [{"enum": bare, "description": "a layer kind with default arguments"}, *entries],
    }
    properties = header["properties"]
    properties["name"] = _name_schema("identifier of the network; names the generated class")
    properties["layers"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/layer"},
        "description": "the layers in order; each reads the previous one unless it has from:",
    }
    return {
        "$schema": SCHEMA_URI,
        "title": "netspec network spec",
        "description": "A neural network for PyTorch, declared layer by layer (netspec).",
        "type": "object",
        "properties": properties,
        "required": header.get("required", []),
        "additionalProperties": False,
        "$defs": defs,
    }
