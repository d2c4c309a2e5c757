"""Mutated specs for hostile-input fuzzing: the same seed always gives the same bytes.

A mutant starts from a shipped spec (``specs/*.yaml``, ``tests/data/*.yaml``) and applies one
to four mutations at two levels:

- **tree**: the YAML is loaded, changed as data and written back out: a scalar replaced by a
  hostile value (0, -1, 10**30 and 10**5000 written out, ±1e308, .nan, .inf, '', very long
  strings, ``!!int abc``, ``!!float .``, ``!!bool maybe``, ``!foo bar``, aliases and small
  alias bombs, ``? {a: [1]}`` complex keys, ``[[[...]]]`` up to 1000 levels deep), a layer or
  block renamed to a builtin or a name generated code uses (``print``, ``tuple``, ``model``,
  ``self``, ``forward``, ``x``...), a kind swapped, a required key dropped, an unknown key
  added, ``repeat: 1000000000``, a block parameter expression such as ``c * 10**400``;
- **text**: lines deleted, duplicated, swapped or re-indented; characters flipped or inserted
  (control characters ``\\x00``-``\\x1f`` and ``\\x7f``, terminal escape sequences, YAML
  indicators); the file truncated; bytes that are not UTF-8, lone surrogates.

Mutants are bytes (the file a user or an attacker hands to ``netspec``). Used by
``tests/test_fuzz_cli.py`` (a slice in CI) and ``benchmarks/fuzz_cli.py`` (long campaigns)::

    from fuzz.mutate import mutant
    m = mutant(1234)            # Mutant(seed, source, mutations, data)
"""

from __future__ import annotations

import copy
import functools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCES: list[Path] = sorted((ROOT / "specs").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data").glob("*.yaml")
)

KINDS = [
    "relu", "leakyrelu", "gelu", "elu", "silu", "sigmoid", "tanh", "softmax", "logsoftmax",
    "conv1d", "conv2d", "dropout", "dropout1d", "dropout2d", "linear", "add", "concat",
    "batchnorm1d", "batchnorm2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d",
    "adaptiveavgpool1d", "adaptiveavgpool2d", "adaptivemaxpool1d", "adaptivemaxpool2d",
    "flatten", "identity", "conv3d", "lstm", "Conv2d", "RELU", "",
]  # fmt: skip
# Python builtins and keywords, and names that generated code binds or imports.
HOSTILE_NAMES = [
    "print", "tuple", "model", "output", "torch", "nn", "self", "forward", "x", "input",
    "super", "__init__", "__class__", "None", "True", "class", "def", "lambda", "import",
    "return", "F", "math", "len", "range", "list", "dict", "object", "type", "int", "str",
    "OrderedDict", "Sequential", "Module", "main", "build", "INPUT_SHAPE", "build_model",
    "relu_1", "conv2d_1", "input_1", "_", "__", "a b", "1abc", "x-y", "ä", "名前", "",
    "x" * 300,
]  # fmt: skip
UNKNOWN_KEYS = ["colour", "kernal_size", "outchannels", "Name", "FROM", "repeat", "params",
                "blocks", "layers", "input", "x", "__proto__", "<<"]  # fmt: skip


def _alias_bomb(levels: int, width: int = 9) -> str:
    """A billion-laughs document in one flow sequence: width**levels values once expanded."""
    parts = [f"&l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        parts.append(f"&l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "[" + ", ".join(parts) + "]"


def _nested(depth: int, opening: str = "[", closing: str = "]") -> str:
    return opening * depth + closing * depth


# Hostile scalars and subtrees, as YAML text that goes verbatim where a value was.
HOSTILE_VALUES: list[str] = [
    "0", "-1", "1", "2", "-0", "-0.0", "0.5", "1.5e-300", "1e308", "-1e308", "1e309",
    "1000000000000000000000000000000",  # 10**30
    "1" + "0" * 5000,  # 10**5000, past Python's 4,300-digit int() limit
    "-" + "9" * 400, "9223372036854775807", "9223372036854775808", "4294967296",
    "0x7fffffffffffffffff", "0o777777777777777777777", "0b" + "1" * 200, "1_000_000",
    "+12", "1:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00", ".nan", ".NaN", ".inf",
    "-.inf", "''", '""', "null", "~", "true", "yes", "off", "[]", "{}", "[1, 2, 3, 4]",
    "[0, 0]", "[-1, -1]", "[1.5, 2]", "{a: 1}", "'" + "a" * 20_000 + "'", "a" * 200_000,
    "!!int abc", "!!int ''", "!!int 0x", "!!float .", "!!float abc", "!!bool maybe",
    "!!null x", "!!str", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1, b: 2]",
    "!!timestamp 2001-01-01", "!!python/object/apply:os.system [ls]", "!foo bar",
    "!<tag:yaml.org,2002:int> 12", "*undefined", "&a [1, *a]", "&anchor 3",
    "[&x 4, *x]", _alias_bomb(3), _alias_bomb(5), _alias_bomb(9),
    "{? {a: [1]} : 1}", "{? [1, 2] : x}", "[a, [b, [c]]]",
    _nested(65), _nested(200), _nested(1000), _nested(1000, "{a: ", "}"),
    '"\\x1b]0;title\\x07"', '"\\x1b[2J\\x1b[H"', '"\\x00"', '"a\\x00b"', '"\\u202e"',
    '"\\ud800"', '"\\udcff"', '"\\U0010ffff"', '"\\x7f\\x9b"', '"\\t\\r\\n"', "=", "<<",
    "c * 10**400", "10**10**10", "(", "[", "{", "|", ">", "?", "-", ":", "#", "&", "*",
    "!", "%", "@", "`",
]  # fmt: skip
# What block parameter expressions can be (``{p}`` is a parameter of the block): the language
# has names, whole numbers, + - * / // (and − × ÷), unary minus and parentheses, no ``**``.
EXPRESSIONS = [
    "{p} * 10**400", "{p} ** {p}", "{p} * 1000000000 * 1000000000 * 1000000000",
    "{p} * " + "9" * 190, "9" * 5000, "{p} // 0", "{p} / 0", "{p} ÷ 0", "{p} % 2",
    "{p} // ({p} - {p})", "{p} / 3", "({p} + 1) // 2", "{p} × 2", "{p} − 1", "-{p}",
    "{p} - {p}", "0 - {p} - 1", "-" * 150 + "{p}", "(" * 99 + "{p}" + ")" * 99,
    "(" * 5000 + "{p}" + ")" * 5000, "{p} " + "+ 1 " * 60, "{p} " + "+ 1 " * 2000, "({p}",
    "{p} +", "{p}.__class__", "__import__('os')", "{p} if {p} else 1", "[{p}]",
    "undefined_param", "{p} * {p} * {p} * {p} * {p} * {p} * {p} * {p}", "{p}\n+ 1",
    "{p} * 2 # comment", "１２", "{p} * ١٢",
]  # fmt: skip
REPEATS = ["1000000000", "10**9", "-1", "0", "1000000000000000000000000000000", "1.5",
           "'3'", "true", ".inf", "c * 10**9", "4001", "[2]"]  # fmt: skip
CONTROL_CHARACTERS = [chr(code) for code in range(0x20)] + ["\x7f"]
INSERTIONS = [
    *CONTROL_CHARACTERS, "\x1b]0;title\x07", "\x1b[2J", "\x1b[31m", "\u202e", "\u2066",
    "\ufeff", "\x85", "\u2028", "\udcff", "\ud800", "\U0001f600", ":", "-", "[", "]", "{",
    "}", "&", "*", "!", "#", '"', "'", "|", ">", "%", "@", "`", ",", "?", " ", "\t", "\n",
    "\\", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n",
]  # fmt: skip
NON_UTF8 = [b"\xff", b"\xfe", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
            b"\xc0\xaf", b"\xff\xfe", b"\xfe\xff\x00", b"\x00\x00\xfe\xff"]  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    """One mutated spec: where it came from, what was done to it, its bytes."""

    seed: int
    source: str  # the shipped spec's path, relative to the repository
    mutations: tuple[str, ...]
    data: bytes


class Raw(str):
    """YAML text written verbatim where a value goes."""


class ComplexKey(str):
    """A mapping key written as ``? KEY`` (YAML's complex key), verbatim."""


# ---------------------------------------------------------------------------------------------
# The tree: load a spec as data, change it, write it back as YAML.


@functools.lru_cache(maxsize=64)
def _load_cached(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def _load(text: str) -> Any:
    """The spec as data (a fresh copy: mutations change it in place)."""
    return copy.deepcopy(_load_cached(text))


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .*/+()-]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text)
    return f'"{escaped}"'


def _key(key: Any) -> str:
    return f"? {key}" if isinstance(key, ComplexKey) else _scalar(key)


def _is_flat(value: Any) -> bool:
    """A short list or mapping of scalars, written in flow style like the shipped specs."""
    items = value.values() if isinstance(value, dict) else value
    return len(value) <= 6 and not any(isinstance(v, dict | list) for v in items)


def _inline(value: Any) -> str | None:
    """The value written on one line, or None when it needs a block of its own."""
    if isinstance(value, dict):
        if value and not _is_flat(value):
            return None
        if any(isinstance(k, ComplexKey) for k in value):
            return None
        return "{" + ", ".join(f"{_key(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and not _is_flat(value):
            return None
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _emit(node: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(node, dict):
        for key, value in node.items():
            head = f"{pad}? {key}\n{pad}:" if isinstance(key, ComplexKey) else f"{pad}{_key(key)}:"
            inline = _inline(value)
            if inline is None:
                lines.append(head)
                _emit(value, indent + 2, lines)
            else:
                lines.append(f"{head} {inline}")
    else:
        for item in node:
            inline = _inline(item)
            if inline is not None:
                lines.append(f"{pad}- {inline}")
                continue
            nested: list[str] = []
            _emit(item, indent + 2, nested)
            lines.append(f"{pad}- {nested[0][indent + 2 :]}")
            lines.extend(nested[1:])


def dump(tree: Any) -> str:
    """``tree`` as block-style YAML; ``Raw`` values and ``ComplexKey`` keys verbatim."""
    inline = _inline(tree)
    if inline is not None:
        return inline + "\n"
    lines: list[str] = []
    _emit(tree, 0, lines)
    return "\n".join(lines) + "\n"


TreePath = tuple[Any, ...]  # keys and indices from the root to a node


def _nodes(tree: Any, path: TreePath = ()) -> list[tuple[TreePath, Any]]:
    """Every node of the tree with its path, the root first, in document order."""
    found = [(path, tree)]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.extend(_nodes(value, (*path, key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.extend(_nodes(value, (*path, index)))
    return found


def _get(tree: Any, path: TreePath) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def _set(tree: Any, path: TreePath, value: Any) -> None:
    _get(tree, path[:-1])[path[-1]] = value


def _layer_lists(tree: Any) -> list[list[Any]]:
    """The top-level layers and each block's layers."""
    lists: list[list[Any]] = []
    if isinstance(tree, dict):
        if isinstance(tree.get("layers"), list):
            lists.append(tree["layers"])
        blocks = tree.get("blocks")
        if isinstance(blocks, dict):
            lists.extend(
                b["layers"]
                for b in blocks.values()
                if isinstance(b, dict) and isinstance(b.get("layers"), list)
            )
    return [layers for layers in lists if layers]


def _layer_dicts(tree: Any, rng: random.Random) -> list[dict[Any, Any]]:
    """Every layer written as a mapping (a bare ``- relu`` becomes ``- relu:`` first)."""
    found = []
    for layers in _layer_lists(tree):
        for index, layer in enumerate(layers):
            if isinstance(layer, str) and rng.random() < 0.5:
                layers[index] = layer = {layer: None}
            if isinstance(layer, dict):
                found.append(layer)
    return found


def _kind_of(layer: dict[Any, Any]) -> Any:
    return next((k for k in layer if k not in ("name", "from", "repeat")), None)


def tree_hostile_scalar(tree: Any, rng: random.Random) -> str:
    paths = [p for p, v in _nodes(tree) if p and not isinstance(v, dict | list)]
    if not paths:
        paths = [p for p, _ in _nodes(tree) if p]
    if not paths:
        return "no-op"
    path = rng.choice(paths)
    value = rng.choice(HOSTILE_VALUES)
    _set(tree, path, Raw(value))
    return f"scalar {'.'.join(map(str, path))} = {value[:40]!r}"


def tree_hostile_subtree(tree: Any, rng: random.Random) -> str:
    paths = [p for p, v in _nodes(tree) if p and isinstance(v, dict | list)]
    if not paths:
        return tree_hostile_scalar(tree, rng)
    path = rng.choice(paths)
    value = rng.choice(HOSTILE_VALUES)
    _set(tree, path, Raw(value))
    return f"subtree {'.'.join(map(str, path))} = {value[:40]!r}"


def tree_rename(tree: Any, rng: random.Random) -> str:
    """A layer or a block (its definition and every use) renamed to a hostile name."""
    name = rng.choice(HOSTILE_NAMES)
    blocks = tree.get("blocks") if isinstance(tree, dict) else None
    if isinstance(blocks, dict) and blocks and rng.random() < 0.4:
        old = rng.choice(list(blocks))
        tree["blocks"] = {name if k == old else k: v for k, v in blocks.items()}
        for layer in _layer_dicts(tree, rng):
            if old in layer:
                renamed = {name if k == old else k: v for k, v in layer.items()}
                layer.clear()
                layer.update(renamed)
        return f"block {old} renamed {name[:20]!r}"
    layers = _layer_dicts(tree, rng)
    if not layers:
        return "no-op"
    rng.choice(layers)["name"] = name
    if len(layers) > 1 and rng.random() < 0.3:  # the same name twice
        rng.choice(layers)["name"] = name
    return f"layer named {name[:20]!r}"


def tree_swap_kind(tree: Any, rng: random.Random) -> str:
    layers = _layer_dicts(tree, rng)
    if not layers:
        return "no-op"
    layer = rng.choice(layers)
    old = _kind_of(layer)
    blocks = tree.get("blocks") if isinstance(tree, dict) else None
    choices = KINDS + (list(blocks) if isinstance(blocks, dict) else [])
    new = rng.choice(choices)
    swapped = {(new if k == old else k): v for k, v in layer.items()}
    layer.clear()
    layer.update(swapped)
    return f"kind {old} -> {new!r}"


def tree_drop_key(tree: Any, rng: random.Random) -> str:
    mappings = [(p, v) for p, v in _nodes(tree) if isinstance(v, dict) and v]
    if not mappings:
        return "no-op"
    path, mapping = rng.choice(mappings)
    key = rng.choice(list(mapping))
    del mapping[key]
    return f"dropped {'.'.join(map(str, (*path, key)))}"


def tree_unknown_key(tree: Any, rng: random.Random) -> str:
    mappings = [(p, v) for p, v in _nodes(tree) if isinstance(v, dict)]
    if not mappings:
        return "no-op"
    path, mapping = rng.choice(mappings)
    if rng.random() < 0.2:
        key: Any = ComplexKey(rng.choice(["{a: [1]}", "[1, 2]", "*undefined", "&k name"]))
    else:
        key = rng.choice(UNKNOWN_KEYS + HOSTILE_NAMES[:10])
    mapping[key] = Raw(rng.choice(HOSTILE_VALUES[:40]))
    return f"key {key[:20]!r} added at {'.'.join(map(str, path)) or 'top'}"


def tree_repeat(tree: Any, rng: random.Random) -> str:
    layers = _layer_dicts(tree, rng)
    if not layers:
        return "no-op"
    count = rng.choice(REPEATS)
    rng.choice(layers)["repeat"] = Raw(count)
    return f"repeat {count}"


def tree_block_expression(tree: Any, rng: random.Random) -> str:
    """A block's argument replaced by an expression over its parameters."""
    blocks = tree.get("blocks") if isinstance(tree, dict) else None
    if not isinstance(blocks, dict) or not blocks:
        return tree_repeat(tree, rng)
    name = rng.choice(list(blocks))
    block = blocks[name]
    if not isinstance(block, dict):
        return "no-op"
    params = block.get("params")
    names = list(params) if isinstance(params, dict) and params else ["c"]
    expression = rng.choice(EXPRESSIONS).format(p=rng.choice(names))
    arguments = [
        (p, v)
        for p, v in _nodes(block.get("layers", []))
        if p and not isinstance(v, dict | list) and p[-1] not in ("name", "from")
    ]
    layers = block.get("layers")
    if isinstance(layers, list) and layers and rng.random() < 0.15:
        layer = rng.choice(layers)
        if isinstance(layer, dict):
            layer["repeat"] = expression
            return f"block {name} repeat {expression[:40]!r}"
    if arguments and rng.random() < 0.8:
        path, _ = rng.choice(arguments)
        _set(block["layers"], path, expression)
        return f"block {name} expression {expression[:40]!r}"
    uses = [layer for layer in _layer_dicts(tree, rng) if name in layer]
    if uses:  # the expression as the value given to a parameter at a use
        use = rng.choice(uses)
        value = rng.choice(["10**400", "1" + "0" * 5000, "9" * 30, "-1", "0", "1.5", "{p} * 2"])
        use[name] = {rng.choice(names): Raw(value.format(p=rng.choice(names)))}
        return f"block {name} used with a hostile parameter"
    return "no-op"


TREE_MUTATIONS: list[Callable[[Any, random.Random], str]] = [
    tree_hostile_scalar, tree_hostile_scalar, tree_hostile_scalar, tree_hostile_subtree,
    tree_rename, tree_rename, tree_swap_kind, tree_drop_key, tree_unknown_key, tree_repeat,
    tree_block_expression,
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The text: lines and characters.


def _lines(text: str) -> list[str]:
    return text.split("\n")


def text_delete_line(text: str, rng: random.Random) -> tuple[str, str]:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    del lines[index]
    return "\n".join(lines), f"deleted line {index + 1}"


def text_duplicate_line(text: str, rng: random.Random) -> tuple[str, str]:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    copies = rng.choice([1, 1, 2, 50, 3000])
    lines[index:index] = [lines[index]] * copies
    return "\n".join(lines), f"line {index + 1} repeated {copies}×"


def text_swap_lines(text: str, rng: random.Random) -> tuple[str, str]:
    lines = _lines(text)
    first, second = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[first], lines[second] = lines[second], lines[first]
    return "\n".join(lines), f"lines {first + 1} and {second + 1} swapped"


def text_reindent(text: str, rng: random.Random) -> tuple[str, str]:
    lines = _lines(text)
    index = rng.randrange(len(lines))
    stripped = lines[index].lstrip(" ")
    indent = rng.choice([0, 1, 2, 3, 5, 8, 200]) if rng.random() < 0.8 else -1
    lines[index] = ("\t" if indent < 0 else " " * indent) + stripped
    return "\n".join(lines), f"line {index + 1} indented {indent if indent >= 0 else 'by a tab'}"


def text_flip_character(text: str, rng: random.Random) -> tuple[str, str]:
    if not text:
        return text, "no-op"
    index = rng.randrange(len(text))
    new = rng.choice(INSERTIONS) if rng.random() < 0.7 else chr(rng.randrange(0x20, 0x7F))
    return text[:index] + new + text[index + 1 :], f"char {index} -> {new!r}"


def text_insert_characters(text: str, rng: random.Random) -> tuple[str, str]:
    index = rng.randrange(len(text) + 1)
    new = rng.choice(INSERTIONS)
    if rng.random() < 0.2:
        new *= rng.choice([2, 100, 10_000])
    return text[:index] + new + text[index:], f"inserted {new[:20]!r} at {index}"


def text_truncate(text: str, rng: random.Random) -> tuple[str, str]:
    index = rng.randrange(len(text) + 1)
    return text[:index], f"truncated at {index}"


def text_hostile_scalar(text: str, rng: random.Random) -> tuple[str, str]:
    """A value after ``key:`` replaced in the text (comments and layout kept)."""
    matches = list(re.finditer(r"(?<=: )[^\s{\[#][^\n,}\]#]*", text))
    if not matches:
        return text_insert_characters(text, rng)
    match = rng.choice(matches)
    value = rng.choice(HOSTILE_VALUES)
    return text[: match.start()] + value + text[match.end() :], f"value {value[:40]!r}"


TEXT_MUTATIONS: list[Callable[[str, random.Random], tuple[str, str]]] = [
    text_delete_line, text_duplicate_line, text_swap_lines, text_reindent, text_reindent,
    text_flip_character, text_flip_character, text_insert_characters, text_insert_characters,
    text_truncate, text_hostile_scalar, text_hostile_scalar,
]  # fmt: skip


def _insert_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    index = rng.randrange(len(data) + 1)
    new = rng.choice(NON_UTF8)
    if index == 0 and rng.random() < 0.5:  # a byte-order mark of another encoding
        return new + data, f"bytes {new!r} first"
    return data[:index] + new + data[index:], f"bytes {new!r} at {index}"


# ---------------------------------------------------------------------------------------------


def mutate(text: str, seed: int) -> tuple[bytes, tuple[str, ...]]:
    """``text`` mutated as ``seed`` says: the mutant's bytes and what was done to it."""
    rng = random.Random(seed)
    done: list[str] = []
    if rng.random() < 0.6:
        try:
            tree = _load(text)
        except Exception:  # a source that is not YAML: only text mutations apply
            tree = None
        if tree is not None:
            operations = list(TREE_MUTATIONS)
            if isinstance(tree, dict) and tree.get("blocks"):  # few specs have blocks
                operations += [tree_block_expression] * 4
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                done.append(rng.choice(operations)(tree, rng))
            text = dump(tree)
    if not done or rng.random() < 0.4:
        for _ in range(rng.choice([1, 1, 2, 3])):
            text, what = rng.choice(TEXT_MUTATIONS)(text, rng)
            done.append(what)
    # Lone surrogates (from an inserted "\udcff") become bytes that are not UTF-8.
    try:
        data = text.encode("utf-8", "surrogateescape" if rng.random() < 0.5 else "surrogatepass")
    except UnicodeEncodeError:  # a surrogate that surrogateescape cannot write
        data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.08:
        data, what = _insert_bytes(data, rng)
        done.append(what)
    return data, tuple(done)


def mutant(seed: int, sources: Sequence[Path] = SOURCES) -> Mutant:
    """The mutant for ``seed``: its source is ``sources[seed % len(sources)]``, so any run of
    consecutive seeds as long as the list covers every shipped spec."""
    source = sources[seed % len(sources)]
    data, mutations = mutate(source.read_text(encoding="utf-8"), seed)
    try:
        name = str(source.relative_to(ROOT))
    except ValueError:
        name = str(source)
    return Mutant(seed=seed, source=name, mutations=mutations, data=data)
