"""The structure of one layer entry, at the top level or in a block's body.

An entry is one of::

    - relu                                   # a bare kind
    - linear: 120                            # a kind and its main argument
    - conv2d: {out_channels: 6, kernel_size: 5}
      name: conv1                            # optional siblings: name, from, repeat
      from: input
    - basic_block: {channels: 64}            # a block, used like a kind
      repeat: 2

Reading an entry records what it says and where; arguments are validated later, once block
parameters are known (see ``expand``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from netspec import layers as kinds
from netspec.diagnostics import Diagnostic, Position
from netspec.layers.args import describe_value
from netspec.layers.base import LayerKind
from netspec.names import name_problem
from netspec.spec.model import SIBLING_KEYS
from netspec.spec.source import PathKey, SourceDoc


class Findings:
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
        self.add(Diagnostic(message, self.doc.file, self.at(path, key=key), layer, kind))

    def add(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)


@dataclass
class Entry:
    """One layer entry as written. Exactly one of ``kind`` and ``block`` is set when usable."""

    index: int
    path: PathKey
    position: Position | None
    kind: LayerKind | None = None
    block: str | None = None  # the name of a block this entry uses
    raw_args: Any = None
    kind_path: PathKey = ()
    name: str | None = None  # as written; automatic names come later
    name_position: Position | None = None
    sources: tuple[str, ...] | None = None  # `from:` as written; None: the entry before
    sources_positions: tuple[Position | None, ...] = ()
    repeat: Any = None  # as written: None, a number or (in a block) an expression
    repeat_position: Position | None = None
    unknown_kind: str | None = None  # a kind as written that netspec does not know

    @property
    def written_kind(self) -> str | None:
        return self.kind.name if self.kind else self.block or self.unknown_kind

    @property
    def usable(self) -> bool:
        return self.kind is not None or self.block is not None

    @property
    def label(self) -> str:
        """What automatic names are made of: the kind, or the block's name (an unknown kind
        as written, where it makes a name)."""
        written = self.written_kind
        return written if written is not None and name_problem(written) is None else "layer"


def read_entries(
    raw: list[Any], path: PathKey, found: Findings, blocks: Collection[str]
) -> list[Entry]:
    """Read a list of layer entries found at ``path`` (``("layers",)`` or a block's)."""
    return [
        read_entry(item, (*path, index), index, found, blocks) for index, item in enumerate(raw)
    ]


def read_entry(
    item: Any, path: PathKey, index: int, found: Findings, blocks: Collection[str]
) -> Entry:
    entry = Entry(index=index, path=path, position=found.at(path), kind_path=path)
    kind_key: str | None
    if isinstance(item, str):
        kind_key = item
    elif isinstance(item, dict):
        kind_key = _kind_key(item, path, found, blocks)
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

    if kind_key in blocks:
        entry.block = kind_key
        return entry
    entry.kind = kinds.get(kind_key)
    if entry.kind is None:
        entry.unknown_kind = kind_key
        found.error(
            f"unknown layer kind '{kind_key}'{_kind_hint(kind_key, blocks)}",
            entry.kind_path,
            key=isinstance(item, dict),
        )
    return entry


def _kind_key(
    item: dict[Any, Any], path: PathKey, found: Findings, blocks: Collection[str]
) -> str | None:
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
                f"a layer has one kind plus optional name, from and repeat, found {listed}",
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


def _kind_hint(word: str, blocks: Collection[str]) -> str:
    """A suggestion only where the word spells a kind or block: its name in another case or
    with ``_``/``-`` (``Conv2D``, ``layer_norm``), another tool's name for it (``dense``), or
    a slip of a letter or two that changes no digit and is not a name inside another
    (``lineer``, never ``relu6`` → ``relu`` or ``hardtanh`` → ``tanh``, which compute
    something else)."""
    spellings = {_folded(kind.name): kind.name for kind in kinds.all_kinds()}
    spellings |= {_folded(alias): kind for alias, kind in kinds.alias_table().items()}
    spellings |= {_folded(block): block for block in blocks}
    folded = _folded(word)
    if folded in spellings:
        return f" (did you mean '{spellings[folded]}'?)"
    slips = {name for key, name in spellings.items() if _slip(folded, key)}
    return f" (did you mean '{slips.pop()}'?)" if len(slips) == 1 else ""


def _folded(word: str) -> str:
    return re.sub(r"[_\-\s]", "", word.lower())


def _slip(typed: str, name: str) -> bool:
    """One or two letters wrong, missing, extra or swapped (two only in a long name), the
    digits unchanged, and neither word inside the other."""
    if re.findall(r"\d", typed) != re.findall(r"\d", name) or typed in name or name in typed:
        return False
    allowed = 1 if len(name) < 8 else 2
    return abs(len(typed) - len(name)) <= allowed and _distance(typed, name) <= allowed


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap neighbours) from a to b; short words only."""
    if len(a) > 64 or len(b) > 64:
        return 99
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def _read_siblings(item: dict[str, Any], entry: Entry, found: Findings) -> None:
    path = entry.path
    if "name" in item:
        entry.name_position = found.at((*path, "name"))
        if problem := name_problem(item["name"]):
            found.error(problem, (*path, "name"))
        else:
            entry.name = item["name"]
    if "repeat" in item:
        entry.repeat = item["repeat"]
        entry.repeat_position = found.at((*path, "repeat"))
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


def assign_names(
    entries: list[Entry], report: Callable[[Diagnostic], None], file: str
) -> list[str]:
    """Names within one scope: written ones are checked for duplicates, the others become
    ``kind_k`` (``k`` counts that kind or block in the scope)."""
    taken: dict[str, Position | None] = {}
    for entry in entries:
        if entry.name is None:
            continue
        if entry.name in taken:
            first = taken[entry.name]
            where = f" (first used at line {first.line})" if first else ""
            report(
                Diagnostic(
                    f"duplicate layer name{where}",
                    file,
                    entry.name_position,
                    entry.name,
                    entry.label,
                )
            )
        else:
            taken[entry.name] = entry.name_position

    counts: dict[str, int] = {}
    names = []
    for entry in entries:
        label = entry.label
        counts[label] = counts.get(label, 0) + 1
        if entry.name is not None:
            names.append(entry.name)
            continue
        number = counts[label]
        while f"{label}_{number}" in taken:
            number += 1
        name = f"{label}_{number}"
        taken[name] = None
        names.append(name)
    return names
