"""From a YAML document to a validated ``Spec``, reporting every problem with its position.

The header (name, input, train) is checked by its pydantic model; the blocks and layers are
read entry by entry (``entries``, ``blocks``) and expanded into the IR's nested graph
(``expand``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec.diagnostics import Diagnostic, did_you_mean
from netspec.ir import Graph
from netspec.layers.args import describe_value
from netspec.names import name_problem
from netspec.shapes import Shape
from netspec.spec.blocks import read_blocks
from netspec.spec.entries import Findings, read_entries
from netspec.spec.expand import Expander, Scope
from netspec.spec.messages import explain
from netspec.spec.model import TOP_LEVEL_KEYS, InputTensor, Spec, SpecHeader, TrainConfig
from netspec.spec.source import SourceDoc


def parse_spec(doc: SourceDoc) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a document. Returns a ``Spec`` whenever its layers could be read at all."""
    found = Findings(doc)
    data = doc.data
    if not isinstance(data, dict):
        what = {type(None): "is empty", list: "holds a list"}.get(
            type(data), f"holds {describe_value(data)}"
        )
        found.error(f"a spec is a mapping with the keys name, input and layers; the file {what}")
        return None, found.diagnostics

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = did_you_mean(str(key), TOP_LEVEL_KEYS)
            found.error(
                f"unknown key '{key}'{hint}; a spec has {', '.join(TOP_LEVEL_KEYS)}",
                (key,),
                key=True,
            )
    header_data = {k: v for k, v in data.items() if k in TOP_LEVEL_KEYS}
    bad_fields = _validate_header(header_data, found)

    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        return None, found.diagnostics
    blocks, cyclic = read_blocks(data.get("blocks"), found)
    raw_blocks = data.get("blocks")
    block_names = (
        [n for n in raw_blocks if isinstance(n, str)] if isinstance(raw_blocks, dict) else []
    )
    entries = read_entries(raw_layers, ("layers",), found, block_names)  # invalid ones too
    good = {k: v for k, v in header_data.items() if k not in bad_fields}
    written_input = good.get("input")
    tensor = InputTensor.model_validate(
        written_input if isinstance(written_input, dict) else {"shape": written_input or [1]}
    )
    input_size = tuple(tensor.shape) if written_input is not None else None
    input_shape = Shape(input_size, dtype=tensor.dtype) if input_size else None
    expander = Expander(blocks, cyclic, found, input_shape)
    body = expander.expand(entries, Scope(prefix="", env=None, block=None))

    name = good.get("name") or _fallback_name(doc.file)
    block_params = {block.name: dict(block.params) for block in blocks.values()}
    block_reads = {block.name: block.reads for block in blocks.values()}
    spec = Spec(
        file=doc.file,
        name=name,
        input_size=input_size,
        graph=Graph(
            name, input_size, body, doc.file, block_params, tensor.dtype, block_reads=block_reads
        ),
        train=TrainConfig.model_validate(good.get("train", {})),
        description=good.get("description"),
        input_position=found.at(("input",)),
    )
    return spec, found.diagnostics


def _fallback_name(file: str) -> str:
    stem = Path(file).stem
    return stem if name_problem(stem) is None else "spec"


def _validate_header(data: dict[str, Any], found: Findings) -> set[str]:
    """Report header errors; return the top-level keys that were invalid."""
    try:
        SpecHeader.model_validate(data)
    except ValidationError as error:
        bad = set()
        for problem in error.errors(include_url=False):
            loc = _input_branch(problem["loc"], data.get("input"))
            if loc is None:
                continue
            problem["loc"] = loc
            bad.add(str(loc[0]))
            if problem["type"] == "missing":
                if len(loc) == 1:
                    found.error(f"missing required key '{loc[0]}'")
                else:
                    found.error(f"{'.'.join(map(str, loc))}: missing", loc[:-1])
            elif problem["type"] == "extra_forbidden" and len(loc) > 1:
                section, key = loc[0], loc[-1]
                fields = _model_fields_at(loc[:-1])
                hint = did_you_mean(str(key), fields)
                found.error(f"{section}: unknown key '{key}'{hint}", loc, key=True)
            elif problem["type"] == "value_error":
                found.error(str(problem["ctx"]["error"]), loc)  # names the key itself
            else:
                found.error(f"{_dotted(loc)}: {_header_message(problem)}", loc)
        return bad
    return set()


def _input_branch(loc: tuple[Any, ...], written: Any) -> tuple[Any, ...] | None:
    """``input`` is a list of sizes or a mapping: a problem is told for the form written (the
    other form's complaint is dropped), at the key it concerns."""
    if len(loc) < 2 or loc[0] != "input":
        return tuple(loc)
    as_mapping = loc[1] == "InputTensor"
    if as_mapping != isinstance(written, dict):
        return None
    return ("input", *loc[2:])


def _model_fields_at(loc: tuple[Any, ...]) -> tuple[str, ...]:
    if loc == ("input",):
        return tuple(InputTensor.model_fields)
    return tuple(TrainConfig.model_fields) if loc == ("train",) else TOP_LEVEL_KEYS


def _dotted(loc: tuple[Any, ...]) -> str:
    text = str(loc[0])
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _header_message(problem: Mapping[str, Any]) -> str:
    list_problem = problem["type"] in ("list_type", "too_short", "too_long")
    if problem["loc"] == ("input",) and list_problem:
        return (
            "expected a list of 1 to 4 sizes without the batch ([C, H, W], [C, L] or "
            f"[features]) or a mapping {{shape: [...], dtype: long}}, got "
            f"{describe_value(problem['input'])}"
        )
    if problem["loc"] == ("layers",) and list_problem:
        return f"expected a list of at least one layer, got {describe_value(problem['input'])}"
    return explain(problem)
