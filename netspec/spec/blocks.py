"""The ``blocks:`` section: named sub-networks with parameters, used like layer kinds.

    blocks:
      basic_block:
        params: {channels: null, stride: 1}      # null: the use must give it
        layers:
          - conv2d: {out_channels: channels, kernel_size: 3, stride: stride, padding: 1}
          - batchnorm2d
          - add:
            from: [batchnorm2d_1, input]         # `input` is what the block receives

A block may use other blocks, never itself, directly or through others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from netspec import layers as kinds
from netspec.diagnostics import Position, did_you_mean
from netspec.layers.args import describe_value
from netspec.names import name_problem
from netspec.spec.entries import Entry, Findings, read_entries

BLOCK_KEYS = ("params", "layers")
# The generated class of a block takes its input's channels first, under this name.
INPUT_CHANNELS = "in_channels"
# The sizes of its input a block may read in expressions: dim 1 (channels, or the features of
# a vector) and the last dim (a sequence's features).
INPUT_FEATURES = "in_features"
INPUT_SIZES = (INPUT_CHANNELS, INPUT_FEATURES)
_READS_INPUT = re.compile(rf"\b({'|'.join(INPUT_SIZES)}|{INPUT_CHANNELS}_[1-9]\d*)\b")


def channels_of_input(index: int) -> str:
    """What a block calls the channels of its input ``index``: in_channels, in_channels_1…"""
    return INPUT_CHANNELS if index == 0 else f"{INPUT_CHANNELS}_{index}"


@dataclass(frozen=True)
class BlockDef:
    name: str
    params: dict[str, int | float | None]  # default value, or None when a use must give it
    entries: tuple[Entry, ...]
    position: Position | None
    param_positions: dict[str, Position | None] = field(default_factory=dict)
    reads: frozenset[str] = frozenset()  # the INPUT_SIZES its expressions read
    inputs: int = 1  # tensors it receives: `input`, and `input.1`… where its layers read them

    def uses(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.block is not None]


def read_blocks(raw: Any, found: Findings) -> tuple[dict[str, BlockDef], set[str]]:
    """The block definitions, and the names of blocks caught in a cycle (not to expand)."""
    if raw is None:
        return {}, set()
    if not isinstance(raw, dict):
        found.error(
            f"blocks: expected a mapping from block names to blocks, got {describe_value(raw)}",
            ("blocks",),
        )
        return {}, set()
    names = [name for name in raw if isinstance(name, str)]
    blocks = {}
    for name, body in raw.items():
        block = _read_block(str(name), body, found, names)
        if block is not None:
            blocks[block.name] = block
    return blocks, _cycles(blocks, found)


def _read_block(name: str, body: Any, found: Findings, names: list[str]) -> BlockDef | None:
    path = ("blocks", name)
    problem = name_problem(name, what="block name")
    if problem is None and kinds.get(name) is not None:
        problem = f"block name '{name}' is a layer kind; choose another name"
    if problem:
        found.error(problem, path, key=True)
        return None
    if not isinstance(body, dict):
        found.error(
            f"block '{name}': expected a mapping with params and layers, got "
            f"{describe_value(body)}",
            path,
        )
        return None
    for key in body:
        if key not in BLOCK_KEYS:
            hint = did_you_mean(str(key), BLOCK_KEYS)
            found.error(
                f"block '{name}': unknown key '{key}'{hint}; a block has params and layers",
                (*path, key),
                key=True,
            )
    errors_before = len(found.diagnostics)
    params, param_positions = _read_params(name, body.get("params"), found)
    params_ok = len(found.diagnostics) == errors_before
    layers = body.get("layers")
    if not isinstance(layers, list) or not layers:
        found.error(
            f"block '{name}': expected a non-empty list of layers, got {describe_value(layers)}",
            (*path, "layers") if "layers" in body else path,
            key="layers" not in body,
        )
        return None
    entries = read_entries(layers, (*path, "layers"), found, names)
    if not params_ok:  # its uses would be judged against the wrong parameters
        return None
    reads = frozenset(
        word
        for entry in entries
        for text in _strings((entry.raw_args, entry.repeat))
        for word in _READS_INPUT.findall(text)
    )
    position = found.at(path, key=True)
    inputs = 1 + max(
        (
            int(source[len("input.") :])
            for entry in entries
            for source in entry.sources or ()
            if re.fullmatch(r"input\.[1-9]\d{0,2}", source)
        ),
        default=0,
    )
    return BlockDef(name, params, tuple(entries), position, param_positions, reads, inputs)


def _strings(value: Any) -> list[str]:
    """Every string in a YAML value (where expressions are written)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


def _read_params(
    block: str, raw: Any, found: Findings
) -> tuple[dict[str, int | float | None], dict[str, Position | None]]:
    path = ("blocks", block, "params")
    if raw is None:
        return {}, {}
    if not isinstance(raw, dict):
        found.error(
            f"block '{block}': params: expected a mapping from names to default values "
            f"(null: no default), got {describe_value(raw)}",
            path,
        )
        return {}, {}
    params: dict[str, int | float | None] = {}
    positions: dict[str, Position | None] = {}
    for name, default in raw.items():
        problem = name_problem(name, what="parameter name")
        if problem is None and name in INPUT_SIZES:
            problem = f"parameter name '{name}' is reserved: it is the size of the block's input"
        if problem:
            found.error(f"block '{block}': {problem}", (*path, name), key=True)
            continue
        if default is not None and (
            not isinstance(default, int | float) or isinstance(default, bool)
        ):
            found.error(
                f"block '{block}': parameter '{name}': expected a number or null (no "
                f"default), got {describe_value(default)}",
                (*path, name),
            )
            continue
        params[name] = default
        positions[name] = found.at((*path, name), key=True)
    return params, positions


def _cycles(blocks: dict[str, BlockDef], found: Findings) -> set[str]:
    """Report every cycle of blocks using blocks; return the blocks on one."""
    on_cycle: set[str] = set()
    state: dict[str, str] = {}  # "active" while on the path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "active"
        for entry in blocks[name].uses():
            target = entry.block
            assert target is not None
            if target not in blocks:
                continue
            if state.get(target) == "active":
                names = [*path, name]
                cycle = [*names[names.index(target) :], target]
                on_cycle.update(cycle)
                found.error(
                    f"block cycle: {' → '.join(cycle)}; a block cannot contain itself",
                    entry.kind_path,
                    key=True,
                )
            elif target not in state:
                visit(target, [*path, name])
        state[name] = "done"

    for name in blocks:
        if name not in state:
            visit(name, [])
    return on_cycle
