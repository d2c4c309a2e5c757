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
            "repeat": {"$ref": "#/$defs/repeat"},
        },
        "required": [kind.name],
        "additionalProperties": False,
    }


SIBLINGS = {
    "name": {"$ref": "#/$defs/layerName"},
    "from": {"$ref": "#/$defs/from"},
    "repeat": {"$ref": "#/$defs/repeat"},
}


def _block_schemas(kind_names: list[str]) -> dict[str, Any]:
    """Blocks are named by the spec, so their uses are checked loosely here (netspec check
    does it fully); arguments inside a block may be expressions of its parameters."""
    loose_entry = {
        "description": "a layer or block use inside a block; arguments may be expressions",
        "anyOf": [
            {"type": "string"},
            {"type": "object", "minProperties": 1, "properties": SIBLINGS},
        ],
    }
    return {
        "repeat": {
            "description": "stack this many copies, named name.0, name.1, …",
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}],
        },
        "block": {
            "type": "object",
            "description": "a named sub-network with parameters, used like a layer kind",
            "properties": {
                "params": {
                    "type": "object",
                    "description": "parameter → default value (null: every use must give it)",
                    "additionalProperties": {"type": ["number", "null"]},
                },
                "layers": {"type": "array", "minItems": 1, "items": loose_entry},
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
        "blockUse": {
            "type": "object",
            "description": "a use of a block: - block_name: {param: value}",
            "minProperties": 1,
            "properties": SIBLINGS,
            "propertyNames": {"not": {"enum": kind_names}},
            "additionalProperties": {"type": ["object", "number", "string", "null"]},
        },
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
    defs.update(_block_schemas(sorted(k.name for k in all_kinds)))
    properties = header["properties"]
    properties["name"] = _name_schema("identifier of the network; names the generated class")
    properties["blocks"] = {
        "type": "object",
        "description": "reusable sub-networks with parameters, used like layer kinds",
        "propertyNames": {"pattern": f"^{IDENTIFIER.pattern}$"},
        "additionalProperties": {"$ref": "#/$defs/block"},
    }
    properties["layers"] = {
        "type": "array",
        "minItems": 1,
        "description": "the layers in order; each reads the previous one unless it has from:",
    }
    # Without blocks every entry must be a known kind; with blocks, entries may use them.
    strict = {"properties": {"layers": {"items": {"$ref": "#/$defs/layer"}}}}
    with_blocks = {
        "properties": {
            "layers": {
                "items": {"anyOf": [{"$ref": "#/$defs/layer"}, {"$ref": "#/$defs/blockUse"}]}
            }
        }
    }
    return {
        "$schema": SCHEMA_URI,
        "title": "netspec network spec",
        "description": "A neural network for PyTorch, declared layer by layer (netspec).",
        "type": "object",
        "properties": properties,
        "required": header.get("required", []),
        "additionalProperties": False,
        "if": {"required": ["blocks"]},
        "then": with_blocks,
        "else": strict,
        "$defs": defs,
    }
