"""Reading YAML while keeping where every key and value was written.

ruamel.yaml's round-trip loader records line and column for mapping keys, values and sequence
items. We turn its tree into plain Python values (so validation never sees ruamel's scalar
subclasses, e.g. a boolean that is an int) and keep the positions in a side table keyed by path.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat

from netspec.diagnostics import Diagnostic, Position

PathKey = tuple[Hashable, ...]


@dataclass
class SourceDoc:
    """A parsed YAML document: plain data plus the position of every node."""

    file: str
    data: Any
    value_positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)

    def position(self, path: PathKey) -> Position | None:
        """Where the value at ``path`` was written (falls back to its nearest ancestor)."""
        while True:
            if path in self.value_positions:
                return self.value_positions[path]
            if not path:
                return None
            path = path[:-1]

    def key_position(self, path: PathKey) -> Position | None:
        """Where the key of the mapping entry at ``path`` was written."""
        return self.key_positions.get(path) or self.position(path)


def _record(table: dict[PathKey, Position], path: PathKey, line_col: Any) -> None:
    # ruamel has no position for some nodes (e.g. inside tagged ones); their parent's serves.
    if isinstance(line_col, tuple | list) and len(line_col) == 2 and None not in line_col:
        table[path] = Position(line_col[0] + 1, line_col[1] + 1)


def _plain(node: Any, path: PathKey, doc: SourceDoc) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            plain_key = _plain(key, (), doc) if not isinstance(key, str) else _text(key)
            if not isinstance(plain_key, Hashable):
                plain_key = str(plain_key)
            child = (*path, plain_key)
            _record(doc.key_positions, child, node.lc.key(key))
            _record(doc.value_positions, child, node.lc.value(key))
            result[plain_key] = _plain(value, child, doc)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            _record(doc.value_positions, child, node.lc.item(index))
            items.append(_plain(value, child, doc))
        return items
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, bool):
        return node
    if isinstance(node, ScalarFloat):
        return float(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, str):
        return _text(node)
    return node


def _text(text: str) -> str:
    """YAML escapes like "\\ud800\\udc00" give UTF-16 surrogates, which no encoder accepts:
    join the pairs into their character and replace lone ones."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return str(text)


def parse_yaml(text: str, file: str) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Parse one YAML document. YAML syntax errors become diagnostics, never exceptions."""
    yaml = YAML(typ="rt", pure=True)
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        problem = error.problem or error.context or "invalid YAML"
        if "found duplicate key" in str(problem):
            problem = str(problem).replace("found duplicate key", "duplicate key")
        return None, [Diagnostic(f"invalid YAML: {problem.strip()}", file, position)]
    except YAMLError as error:
        return None, [Diagnostic(f"invalid YAML: {error}", file)]
    doc = SourceDoc(file=file, data=None, value_positions={(): Position(1, 1)})
    doc.data = _plain(tree, (), doc)
    return doc, []


def read_yaml(path: str | Path) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Read and parse a spec file. Raises OSError when the file cannot be read."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, [Diagnostic(f"not UTF-8 text (byte {error.start})", str(path))]
    return parse_yaml(text, str(path))
