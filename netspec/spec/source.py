"""Reading YAML while keeping where every key and value was written, within fixed bounds.

A spec is read from ruamel.yaml's event stream (libyaml's parser when ruamel.yaml.clib is
installed) by a small composer of our own, so that every limit is enforced as the file is read,
never after: the file's size, its nesting depth, and the number of values it holds with aliases
counted at their expanded size (an alias is shared, never copied). Values come out as plain
Python data (no ruamel scalar subclasses; a boolean is never an int); positions go into a side
table keyed by path. Everything wrong with the YAML itself is reported with its line and column,
all of it in one pass where the reading can go on.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.resolver import VersionedResolver

from netspec.diagnostics import Diagnostic, Position
from netspec.limits import INT64_MAX, INT64_MIN, MAX_NESTING, MAX_SPEC_BYTES, MAX_VALUES

PathKey = tuple[Hashable, ...]


_TAG = "tag:yaml.org,2002:"
# What YAML allows in a file (YAML 1.2, 5.1); anything else is refused before parsing, with its
# place, rather than reaching a terminal or a diagram.
# Written as the complement (what is refused): the same set, compiled in a fraction of the time.
_NOT_PRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)
_CONTROL_NAMES = {0: "\\0", 7: "\\a", 8: "\\b", 11: "\\v", 12: "\\f", 27: "\\e"}


@dataclass
class SourceDoc:
    """A parsed YAML document: plain data plus the position of every node."""

    file: str
    data: Any
    value_positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)

    def position(self, path: PathKey) -> Position | None:
        """Where the value at ``path`` was written (falls back to its nearest ancestor: inside
        an alias, the place the alias is used)."""
        while True:
            if path in self.value_positions:
                return self.value_positions[path]
            if not path:
                return None
            path = path[:-1]

    def key_position(self, path: PathKey) -> Position | None:
        """Where the key of the mapping entry at ``path`` was written."""
        return self.key_positions.get(path) or self.position(path)


class SpecFileError(OSError):
    """A spec path that names something other than a readable regular file."""


def _position(mark: Any) -> Position | None:
    if mark is None or getattr(mark, "line", None) is None:
        return None
    return Position(mark.line + 1, mark.column + 1)


def _text(text: str) -> str:
    """YAML escapes like "\\ud800\\udc00" give UTF-16 surrogates, which no encoder accepts:
    join the pairs into their character and replace lone ones."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return str(text)


def _describe_number(text: str) -> str:
    return text if len(text) <= 40 else f"a number written with {len(text):,} characters"


class _Collection:
    """A mapping or list being composed: its value, where it sits, and what it holds so far."""

    def __init__(self, event: CollectionStartEvent, path: PathKey, value: dict | list) -> None:
        self.event = event
        self.path = path
        self.value = value
        self.size = 1  # values inside, aliases at their expanded size
        self.pending_key: Any = None  # a mapping's key, while its value is being read
        self.key_event: Any = None
        self.skip_value = False  # the key was unusable: read the value, keep nothing
        self.merges: list[tuple[Any, Position | None]] = []


class _Composer:
    """Plain data and positions from YAML events; problems collected, limits enforced."""

    def __init__(self, file: str) -> None:
        self.doc = SourceDoc(file=file, data=None, value_positions={(): Position(1, 1)})
        self.problems: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # value, expanded size
        self.stack: list[_Collection] = []
        self.total = 0
        self.documents = 0

    def problem(self, message: str, mark: Any) -> None:
        self.problems.append(Diagnostic(f"invalid YAML: {message}", self.doc.file, _position(mark)))

    # --- events -------------------------------------------------------------------------------

    def feed(self, event: Any) -> bool:
        """Take one event; False when reading must stop (a limit was reached)."""
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.problem(
                    "a spec file holds one YAML document; a second one starts here",
                    event.start_mark,
                )
                return False
        elif isinstance(event, ScalarEvent):
            value = self.scalar(event)
            return self.add(value, 1, event, event.anchor)
        elif isinstance(event, AliasEvent):
            if event.anchor not in self.anchors:
                self.problem(f"alias *{event.anchor} names no anchor above it", event.start_mark)
                return self.add(None, 1, event, None)
            value, size = self.anchors[event.anchor]
            return self.add(value, size, event, None)
        elif isinstance(event, SequenceStartEvent | MappingStartEvent):
            return self.open(event)
        elif isinstance(event, SequenceEndEvent | MappingEndEvent):
            return self.close(event)
        return True

    def open(self, event: CollectionStartEvent) -> bool:
        if len(self.stack) >= MAX_NESTING:
            self.problem(
                f"nested deeper than {MAX_NESTING} levels of mappings and lists", event.start_mark
            )
            return False
        is_mapping = isinstance(event, MappingStartEvent)
        expected = "map" if is_mapping else "seq"
        if event.tag is not None and str(event.tag) not in (f"{_TAG}{expected}", "!"):
            self.problem(f"unknown tag '{event.tag}' on a {_NOUN[expected]}", event.start_mark)
        path = self.locate(event)
        self.stack.append(_Collection(event, path, {} if is_mapping else []))
        return True

    def close(self, event: Any) -> bool:
        collection = self.stack.pop()
        if collection.merges:
            self.merge(collection)
        self.total -= collection.size - 1  # its contents are counted already
        return self.add(
            collection.value, collection.size, collection.event, collection.event.anchor
        )

    def locate(self, event: Any) -> PathKey:
        """The path of the value an event starts, with its position recorded (not for a key,
        nor for a value that is not kept)."""
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            path = (*parent.path, len(parent.value))
        elif parent.key_event is None or parent.skip_value or parent.pending_key is _MERGE:
            return (*parent.path, _KEY)
        else:
            path = (*parent.path, parent.pending_key)
        position = _position(event.start_mark)
        if position is not None:
            self.doc.value_positions[path] = position
        return path

    def add(self, value: Any, size: int, event: Any, anchor: str | None) -> bool:
        """Place a finished value in its parent (or as the document)."""
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        self.total += size
        if self.total > MAX_VALUES:
            self.problem(
                f"the spec holds more than {MAX_VALUES:,} values (aliases counted at their "
                "expanded size), more than any network needs",
                event.start_mark,
            )
            return False
        if not self.stack:
            self.doc.data = value
            return True
        if not isinstance(event, CollectionStartEvent):  # a collection was located on opening
            self.locate(event)
        parent = self.stack[-1]
        parent.size += size
        if isinstance(parent.value, list):
            parent.value.append(value)
            return True
        if parent.key_event is None:  # this value is a key
            parent.key_event = event
            parent.skip_value = not self.usable_key(parent, value, event)
            parent.pending_key = value
            return True
        key, key_event = parent.pending_key, parent.key_event
        parent.key_event = None
        if parent.skip_value:
            return True
        if key is _MERGE:
            parent.merges.append((value, _position(event.start_mark)))
            return True
        key_position = _position(key_event.start_mark)
        if key_position is not None:
            self.doc.key_positions[(*parent.path, key)] = key_position
        parent.value[key] = value
        return True

    def usable_key(self, parent: _Collection, key: Any, event: Any) -> bool:
        if isinstance(key, dict | list):
            noun = "mapping" if isinstance(key, dict) else "list"
            self.problem(f"a key must be a word or a number, not a {noun}", event.start_mark)
            return False
        if key is _MERGE:
            return True
        if key in parent.value:
            first = self.doc.key_positions.get((*parent.path, key))
            where = f" (first at line {first.line})" if first else ""
            self.problem(f"duplicate key '{_text(str(key))}'{where}", event.start_mark)
            return False
        return True

    def merge(self, collection: _Collection) -> None:
        """``<<: *defaults``: the keys of merged mappings that the mapping does not set."""
        target = collection.value
        for value, position in collection.merges:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    self.problems.append(
                        Diagnostic(
                            "invalid YAML: '<<' merges a mapping or a list of mappings",
                            self.doc.file,
                            position,
                        )
                    )
                    continue
                assert isinstance(target, dict)  # only mappings have merge keys
                for key, item in source.items():
                    target.setdefault(key, item)

    # --- scalars ------------------------------------------------------------------------------

    def scalar(self, event: ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or str(tag) == "!":
            # a quoted or block scalar is a string
            tag = _implicit_tag(event.value) if event.implicit[0] else f"{_TAG}str"
        tag = str(tag)
        kind = tag[len(_TAG) :] if tag.startswith(_TAG) else None
        text = event.value
        if kind in ("str", "timestamp"):  # a date stays the text it was written as
            return _text(text)
        if kind == "null":
            if text not in ("", "~", "null", "Null", "NULL"):
                self.problem(f"!!null: '{_text(text)}' is not null", event.start_mark)
            return None
        if kind == "bool":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                self.problem(f"!!bool: '{_text(text)}' is not true or false", event.start_mark)
                return None
            return lowered == "true"
        if kind == "int":
            return self.integer(event)
        if kind == "float":
            return self.real(event)
        if kind == "merge":
            return _MERGE
        self.problem(f"unknown tag '{_text(tag)}'", event.start_mark)
        return _text(text)

    def integer(self, event: ScalarEvent) -> int | None:
        text = event.value
        digits = text.lstrip("+-").replace("_", "")
        # Converting thousands of digits is slow (Python refuses over 4,300), and no int64 is
        # written with more than 66 characters (in binary): a longer number is out of range.
        if len(digits) > 66 and re.fullmatch(r"(0[xXoObB])?[0-9a-fA-F]+", digits):
            value = None
        else:
            try:
                value = _yaml_int(text)
            except (ValueError, TypeError, IndexError):
                self.problem(f"!!int: '{_text(text[:40])}' is not an integer", event.start_mark)
                return None
        if value is None or not INT64_MIN <= value <= INT64_MAX:
            self.problem(
                f"integer out of range: sizes and counts are 64-bit (at most {INT64_MAX:,}), "
                f"got {_describe_number(text)}",
                event.start_mark,
            )
            return None
        return int(value)

    def real(self, event: ScalarEvent) -> float | None:
        text = event.value
        try:
            if len(text) > 400:
                raise ValueError(text)
            return _yaml_float(text)
        except (ValueError, TypeError, OverflowError):
            self.problem(
                f"!!float: '{_text(_describe_number(text))}' is not a number", event.start_mark
            )
            return None


_IMPLICIT_TAGS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {
    first: list(resolvers)
    for first, resolvers in VersionedResolver(version=(1, 2)).versioned_resolver.items()
}


@functools.lru_cache(maxsize=4096)
def _implicit_tag(text: str) -> str:
    """The tag YAML 1.2 gives a plain scalar (ruamel.yaml's table; memoised, as the same words
    recur through a spec)."""
    for tag, pattern in (*_IMPLICIT_TAGS.get(text[:1], ()), *_IMPLICIT_TAGS.get(None, ())):
        if pattern.match(text):
            return str(tag)
    return f"{_TAG}str"


def _yaml_int(text: str) -> int:
    """YAML 1.2's integers (as ruamel.yaml reads them: ``_`` separators allowed)."""
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits[1:] if digits[:1] in ("+", "-") else digits
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits, 10)


def _yaml_float(text: str) -> float:
    """YAML 1.2's floats, with ``.inf`` and ``.nan``."""
    digits = text.replace("_", "").lower()
    sign = -1.0 if digits.startswith("-") else 1.0
    digits = digits[1:] if digits[:1] in ("+", "-") else digits
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


class _MergeKey:
    """The ``<<`` key, before its mapping is merged."""


_MERGE = _MergeKey()
_KEY = object()  # path step of a value that is being used as a key
_NOUN = {"map": "mapping", "seq": "list"}


def _control_characters(text: str, file: str) -> list[Diagnostic]:
    """Characters YAML does not allow in a file, each with its place (the first few)."""
    found = []
    for match in _NOT_PRINTABLE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        code = ord(match.group())
        escape = _CONTROL_NAMES.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        found.append(
            Diagnostic(
                f"invalid YAML: control character U+{code:04X} is not allowed in a YAML file "
                f'(inside double quotes, write it as "{escape}")',
                file,
                Position(line, column),
            )
        )
        if len(found) == 5:
            break
    return found


_BARE_KIND = re.compile(r"\s*-\s+([A-Za-z_][A-Za-z0-9_]*)\s*(#.*)?")
_SIBLING_LINE = re.compile(r"\s*(name|from|repeat)\s*:")


def _bare_kind_hint(text: str, position: Position | None) -> str:
    """``- relu`` then ``name: act`` below it: the kind needs a colon to take siblings."""
    if position is None or position.line < 2:
        return ""
    lines = text.splitlines()
    if position.line > len(lines) or not _SIBLING_LINE.match(lines[position.line - 1]):
        return ""
    above = _BARE_KIND.fullmatch(lines[position.line - 2])
    if above is None:
        return ""
    kind = above.group(1)
    return (
        f"; a bare '- {kind}' is complete on its line: to give it a name, from or repeat, "
        f"write '- {kind}:' (with a colon) and put those keys under it"
    )


def _within(position: Position | None, text: str) -> Position | None:
    """A place past the end of a file without a final newline (where the parser reads one)
    moved back to the end of its last line, so that an editor can go there."""
    lines = text.split("\n")
    if position is None or position.line <= len(lines):
        return position
    return Position(len(lines), len(lines[-1]) + 1)


def _yaml_error(error: YAMLError, file: str, text: str) -> Diagnostic:
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        problem = str(problem).strip()
        if problem.startswith(("did not find expected", "could not find expected")):
            # libyaml says what it wanted; say what it found too
            problem = problem.split(" ", 3)[3]
            found = text[mark.index : mark.index + 1] if mark is not None else ""
            problem += f", but got {found!r}" if found.strip() else ", but the line ends"
        position = _within(_position(mark), text)
        return Diagnostic(
            f"invalid YAML: {problem}{_bare_kind_hint(text, position)}", file, position
        )
    message = str(error)
    # Some errors carry only a character offset: turn it into a line and column.
    offset = re.search(r'in "[^"]*", position (\d+)', message)
    position = None
    if offset:
        index = min(int(offset.group(1)), len(text))
        line = text.count("\n", 0, index) + 1
        position = Position(line, index - (text.rfind("\n", 0, index) + 1) + 1)
        message = message[: offset.start()].strip()
    return Diagnostic(f"invalid YAML: {message}", file, position)


def parse_yaml(text: str, file: str) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Parse one YAML document. Every problem is a diagnostic, never an exception; the
    document is returned only when its YAML is sound."""
    if bad := _control_characters(text, file):
        return None, bad
    composer = _Composer(file)
    try:
        for event in YAML(typ="safe", pure=False).parse(text):
            if not composer.feed(event):
                break
    except YAMLError as error:
        composer.problems.append(_yaml_error(error, file, text))
    except RecursionError:  # the pure-Python parser, where ruamel.yaml.clib is missing
        composer.problem(f"nested deeper than {MAX_NESTING} levels of mappings and lists", None)
    if composer.problems:
        return None, composer.problems
    return composer.doc, []


def read_spec_bytes(path: str | Path) -> bytes:
    """A spec file's bytes, refusing what is not a regular file and reading at most one byte
    more than the size limit. Raises ``SpecFileError`` (an OSError) with the reason."""
    name = str(path)
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SpecFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SpecFileError(f"{name}: is a directory, not a spec file") from None
    except OSError as error:
        raise SpecFileError(f"{name}: cannot read: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as stream:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise SpecFileError(f"{name}: is a directory, not a spec file")
        if not stat.S_ISREG(mode):
            raise SpecFileError(f"{name}: is {describe_file_type(mode)}, not a spec file")
        try:
            return stream.read(MAX_SPEC_BYTES + 1)
        except OSError as error:
            raise SpecFileError(f"{name}: cannot read: {error.strerror or error}") from None


def describe_file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def decode_spec(raw: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """The text of a spec's bytes, or why it is not a spec's text."""
    if len(raw) > MAX_SPEC_BYTES:
        message = (
            f"the file is larger than {MAX_SPEC_BYTES // 1024 // 1024} MiB, the most netspec "
            "reads of a spec"
        )
        return None, [Diagnostic(message, file, Position(1, 1))]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        line = raw.count(b"\n", 0, error.start) + 1
        column = len(raw[line_start : error.start].decode("utf-8", "replace")) + 1
        message = f"not UTF-8 text: byte 0x{raw[error.start]:02x} cannot start a character here"
        return None, [Diagnostic(message, file, Position(line, column))]


def read_yaml(path: str | Path) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Read and parse a spec file. Raises ``SpecFileError`` (an OSError) when the path is not a
    readable regular file; everything about its content is a diagnostic."""
    text, problems = decode_spec(read_spec_bytes(path), str(path))
    if text is None:
        return None, problems
    return parse_yaml(text, str(path))
