"""From a YAML document to a validated ``Spec``, reporting every problem with its position.

A layer entry is one of::

    - relu                                   # a bare kind
    - linear: 120                            # a kind and its main argument
    - conv2d: {out_channels: 6, kernel_size: 5}
      name: conv1                            # optional siblings: name, from
      from: input
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netspec import layers as kinds
from netspec.diagnostics import Diagnostic, Position, did_you_mean
from netspec.layers.args import LayerArgs, describe_value
from netspec.layers.base import LayerKind
from netspec.names import name_problem
from netspec.spec.messages import explain
from netspec.spec.model import (
    SIBLING_KEYS,
    TOP_LEVEL_KEYS,
    LayerDecl,
    Spec,
    SpecHeader,
    TrainConfig,
)
from netspec.spec.source import PathKey, SourceDoc


class _Findings:
    """Diagnostics for one document, positioned by the YAML path they concern."""

    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []

    def at(self, path: PathKey, *, key: bool = False) -> Position | None:
        return self.doc.key_position(path) if key else self.doc.position(path)

    def error(
        self,
        message: str,
        path: PathKey = (),
        *,
        key: bool = False,
        layer: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(message, self.doc.file, self.at(path, key=key), layer, kind)
        )


def parse_spec(doc: SourceDoc) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a document. Returns a ``Spec`` whenever its layers could be read at all."""
    found = _Findings(doc)
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
    decls = _parse_layers(raw_layers, found)

    good = {k: v for k, v in header_data.items() if k not in bad_fields}
    input_size = tuple(good["input"]) if "input" in good else None
    spec = Spec(
        file=doc.file,
        name=good.get("name") or _fallback_name(doc.file),
        input_size=input_size,  # type: ignore[arg-type]
        layers=tuple(decls),
        train=TrainConfig.model_validate(good.get("train", {})),
        description=good.get("description"),
        input_position=found.at(("input",)),
    )
    return spec, found.diagnostics


def _fallback_name(file: str) -> str:
    stem = Path(file).stem
    return stem if name_problem(stem) is None else "spec"


def _validate_header(data: dict[str, Any], found: _Findings) -> set[str]:
    """Report header errors; return the top-level keys that were invalid."""
    try:
        SpecHeader.model_validate(data)
    except ValidationError as error:
        bad = set()
        for problem in error.errors(include_url=False):
            loc = tuple(problem["loc"])
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


def _model_fields_at(loc: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(TrainConfig.model_fields) if loc == ("train",) else TOP_LEVEL_KEYS


def _dotted(loc: tuple[Any, ...]) -> str:
    text = str(loc[0])
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _header_message(problem: dict[str, Any]) -> str:
    list_problem = problem["type"] in ("list_type", "too_short", "too_long")
    if problem["loc"] == ("input",) and list_problem:
        return (
            "expected a list of 1 to 3 sizes without the batch ([C, H, W], [C, L] or "
            f"[features]), got {describe_value(problem['input'])}"
        )
    if problem["loc"] == ("layers",) and list_problem:
        return f"expected a list of at least one layer, got {describe_value(problem['input'])}"
    return explain(problem)


# --- layers ------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """One layer entry while it is being read; becomes a ``LayerDecl``."""

    index: int
    path: PathKey
    position: Position | None
    kind: LayerKind | None = None  # None: unusable, already reported
    raw_args: Any = None
    kind_path: PathKey = ()
    name: str | None = None  # as written; auto names come later
    name_position: Position | None = None
    sources: tuple[str, ...] | None = None
    sources_positions: tuple[Position | None, ...] = ()


def _parse_layers(raw_layers: list[Any], found: _Findings) -> list[LayerDecl]:
    entries = [_parse_entry(item, index, found) for index, item in enumerate(raw_layers)]
    names = _assign_names(entries, found)
    decls = []
    for entry, name in zip(entries, names, strict=True):
        args, arg_positions = None, {}
        if entry.kind is not None:
            args, arg_positions = _validate_args(
                entry.kind, entry.raw_args, entry.kind_path, name, found
            )
        decls.append(
            LayerDecl(
                index=entry.index,
                name=name,
                kind=entry.kind,
                args=args,
                sources=entry.sources,
                position=entry.position,
                arg_positions=arg_positions,
                sources_positions=entry.sources_positions,
                name_position=entry.name_position,
            )
        )
    return decls


def _parse_entry(item: Any, index: int, found: _Findings) -> _Entry:
    """Read the structure of one layer entry: its kind, raw arguments, name and ``from``."""
    path: PathKey = ("layers", index)
    entry = _Entry(index=index, path=path, position=found.at(path), kind_path=path)
    if isinstance(item, str):
        kind_key = item
    elif isinstance(item, dict):
        kind_key = _kind_key(item, path, found)
        _read_siblings(item, entry, found)
        if kind_key is None:
            return entry
        entry.raw_args = _with_strays(item, kind_key)
        entry.kind_path = (*path, kind_key)
        entry.position = found.at(entry.kind_path, key=True)
    else:
        found.error(
            "a layer is a kind (`- relu`) or a one-key mapping (`- linear: 120`), "
            f"got {describe_value(item)}",
            path,
        )
        return entry

    entry.kind = kinds.get(kind_key)
    if entry.kind is None:
        found.error(
            f"unknown layer kind '{kind_key}'{_kind_hint(kind_key)}",
            entry.kind_path,
            key=isinstance(item, dict),
        )
    return entry


def _kind_key(item: dict[Any, Any], path: PathKey, found: _Findings) -> str | None:
    candidates = [k for k in item if k not in SIBLING_KEYS]
    if not candidates:
        only = " and ".join(f"'{k}'" for k in item)
        found.error(f"this layer has no kind{', only ' + only if only else ''}", path)
        return None
    first = candidates[0]
    if not isinstance(first, str):
        found.error(f"a layer kind must be a name, got {describe_value(first)}", path)
        return None
    if len(candidates) > 1:
        kind = kinds.get(first)
        strays = [str(k) for k in candidates[1:]]
        if kind is not None and all(k in kind.Args.model_fields for k in strays):
            listed = ", ".join(f"'{k}'" for k in strays)
            found.error(
                f"{listed} {'is an argument' if len(strays) == 1 else 'are arguments'} of "
                f"{first}: indent {'it' if len(strays) == 1 else 'them'} under '{first}:'",
                (*path, strays[0]),
                key=True,
            )
        else:
            listed = ", ".join(f"'{k}'" for k in candidates)
            found.error(
                f"a layer has one kind plus optional name and from, found {listed}",
                (*path, candidates[1]),
                key=True,
            )
    return first


def _with_strays(item: dict[str, Any], kind_key: str) -> Any:
    """The kind's arguments, plus arguments written beside the kind instead of under it.

    That indentation slip is reported by ``_kind_key``; reading the arguments anyway keeps it
    from also causing "missing argument" errors.
    """
    raw = item[kind_key]
    kind = kinds.get(kind_key)
    strays = {k: v for k, v in item.items() if k not in SIBLING_KEYS and k != kind_key}
    if kind is None or not strays or not all(k in kind.Args.model_fields for k in strays):
        return raw
    if raw is None:
        return strays
    if isinstance(raw, dict):
        return {**raw, **strays}
    return raw


def _kind_hint(word: str) -> str:
    hint = did_you_mean(word, [k.name for k in kinds.all_kinds()])
    if hint:
        return hint
    aliases = kinds.alias_table()
    folded = {a.lower(): kind for a, kind in aliases.items()}
    if word.lower() in folded:
        return f" (did you mean '{folded[word.lower()]}'?)"
    return ""


def _read_siblings(item: dict[str, Any], entry: _Entry, found: _Findings) -> None:
    path = entry.path
    if "name" in item:
        entry.name_position = found.at((*path, "name"))
        if problem := name_problem(item["name"]):
            found.error(problem, (*path, "name"))
        else:
            entry.name = item["name"]
    if "from" in item:
        raw = item["from"]
        sources = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(sources, list)
            or not sources
            or not all(isinstance(s, str) for s in sources)
        ):
            found.error(
                f"from: expected a layer name or a list of them, got {describe_value(raw)}",
                (*path, "from"),
            )
            return
        entry.sources = tuple(sources)
        if isinstance(raw, list):
            entry.sources_positions = tuple(
                found.at((*path, "from", i)) for i in range(len(sources))
            )
        else:
            entry.sources_positions = (found.at((*path, "from")),)


def _validate_args(
    kind: LayerKind, raw: Any, kind_path: PathKey, layer: str, found: _Findings
) -> tuple[LayerArgs | None, dict[str, Position]]:
    fields = kind.Args.model_fields

    def report(message: str, path: PathKey = kind_path, key: bool = False) -> None:
        found.error(message, path, key=key, kind=kind.name, layer=layer)

    if raw is None:
        values: dict[str, Any] = {}
        positions: dict[str, Position] = {}
    elif isinstance(raw, dict):
        values, positions = {}, {}
        for key, value in raw.items():
            if key in SIBLING_KEYS:
                report(
                    f"'{key}' goes beside '{kind.name}:', not among its arguments",
                    (*kind_path, key),
                    key=True,
                )
                continue
            if key not in fields:
                known = ", ".join(fields) or "none"
                hint = did_you_mean(str(key), fields)
                report(
                    f"unknown argument '{key}'{hint}; {kind.name} takes: {known}",
                    (*kind_path, key),
                    key=True,
                )
                continue
            values[key] = value
            positions[key] = found.at((*kind_path, key), key=True)  # type: ignore[assignment]
    elif kind.main_arg is not None:
        values = {kind.main_arg: raw}
        positions = {kind.main_arg: found.at(kind_path)}  # type: ignore[dict-item]
    else:
        takes = f"arguments as a mapping ({', '.join(fields)})" if fields else "no arguments"
        report(f"takes {takes}, got {describe_value(raw)}")
        return None, {}

    try:
        args = kind.Args.model_validate(values)
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            loc = problem["loc"]
            arg = str(loc[0]) if loc else None
            if problem["type"] == "missing":
                example = f"`- {kind.name}: {{{arg}: …}}`"
                report(f"missing required argument '{arg}', e.g. {example}", key=True)
            else:
                path = (*kind_path, arg) if isinstance(raw, dict) and arg else kind_path
                report(f"{arg}: {explain(problem)}", path)
        return None, positions
    return args, positions


def _assign_names(entries: list[_Entry], found: _Findings) -> list[str]:
    """Explicit names are checked for duplicates; other layers get ``kind_k``."""
    taken: dict[str, Position | None] = {}
    for entry in entries:
        if entry.name is None:
            continue
        if entry.name in taken:
            first = taken[entry.name]
            where = f" (first used at line {first.line})" if first else ""
            found.diagnostics.append(
                Diagnostic(
                    f"duplicate layer name{where}",
                    found.doc.file,
                    entry.name_position,
                    entry.name,
                    entry.kind.name if entry.kind else "layer",
                )
            )
        else:
            taken[entry.name] = entry.name_position

    counts: dict[str, int] = {}
    names = []
    for entry in entries:
        kind_name = entry.kind.name if entry.kind else "layer"
        counts[kind_name] = counts.get(kind_name, 0) + 1
        if entry.name is not None:
            names.append(entry.name)
            continue
        number = counts[kind_name]
        while f"{kind_name}_{number}" in taken:
            number += 1
        name = f"{kind_name}_{number}"
        taken[name] = None
        names.append(name)
    return names
