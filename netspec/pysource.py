"""Python source for generated code: safe literals and a small formatter.

Generated files must pass ``ruff format --check`` as written, so long lines are split the way
ruff (and black) split them: at the last bracket pair, the contents on one indented line if they
fit, else one item per line with a trailing comma; long sums go in parentheses, one operand per
line. The expressions netspec generates are simple enough for this to be exact.

Only identifiers validated by netspec, numbers, booleans, None and a few fixed option words
(``"zeros"``, ``"same"``…) can become source text: ``literal`` refuses anything else.
"""

from __future__ import annotations

import ast
import itertools
import keyword
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

LINE_LENGTH = 88  # ruff's and black's default
INDENT = "    "

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPTION_WORD = re.compile(r"[a-z][a-z0-9_-]*")  # e.g. "nearest-exact"

Value = int | float | bool | str | None | tuple["Value", ...]


def literal(value: Value) -> str:
    """Source text for a constructor argument; refuses anything but plain values."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        # A size a block's class computes from its arguments (``expr.Traced``) is written as
        # that expression; its names are validated identifiers.
        render = getattr(value, "render", None)
        return render() if callable(render) else str(int(value))
    if isinstance(value, float):
        render = getattr(value, "render", None)
        if callable(render):  # a decimal a block's class computes from its arguments
            return render()
        text = repr(value)
        if text in ("nan", "inf", "-inf"):
            raise ValueError(f"no literal for {text}")
        return text
    if isinstance(value, str):
        if not _OPTION_WORD.fullmatch(value):
            raise ValueError(f"refusing to put the string {value!r} into generated code")
        return f'"{value}"'
    if isinstance(value, tuple):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    raise TypeError(f"no literal for {type(value).__name__}")


# --- expressions ---------------------------------------------------------------------------------


class Expr:
    def flat(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Atom(Expr):
    """Text that is never split: a name, an attribute chain, a literal."""

    text: str

    def flat(self) -> str:
        return self.text


def name(text: str) -> Atom:
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(f"not an identifier: {text!r}")
    return Atom(text)


# --- identifiers -------------------------------------------------------------------------------


def identifiers(source: str) -> frozenset[str]:
    """Every name a piece of Python source binds or reads (not attributes or keywords of a
    call): variables, functions, classes, arguments and imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.split(".")[0])
    return frozenset(found)


class Namespace:
    """The names of one scope of a generated file: fixed ones (what the file's own code binds
    and reads there), then one per ``claim``. A claimed name is the wanted one unless that is
    taken, else the wanted one with a suffix, so no two names of the scope can ever clash."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def claim(self, wanted: str) -> str:
        for candidate in _candidates(wanted):
            if candidate not in self._taken and not keyword.iskeyword(candidate):
                self._taken.add(candidate)
                return name(candidate).text
        raise AssertionError("unreachable: the candidates never end")

    def reserve(self, names: Iterable[str]) -> None:
        """Take ``names`` without claiming them (names of an inner scope that reads ours)."""
        self._taken.update(names)


def _candidates(wanted: str) -> Iterator[str]:
    """``BlkA``, ``BlkA2``, ``BlkA3``… for a class (``Blk1_2`` after a digit, so that it reads
    as a second ``Blk1``, not as ``Blk12``); ``model``, ``model_`` (PEP 8's way to avoid a
    clash), ``model_2``… otherwise."""
    yield wanted
    if wanted[:1].isupper():
        separator = "_" if wanted[-1:].isdigit() else ""
        for number in itertools.count(2):
            yield f"{wanted}{separator}{number}"
    yield f"{wanted}_"
    for number in itertools.count(2):
        yield f"{wanted}_{number}"


@dataclass(frozen=True)
class Keyword(Expr):
    key: str
    value: Expr

    def flat(self) -> str:
        return f"{self.key}={self.value.flat()}"


@dataclass(frozen=True)
class Bracketed(Expr):
    """``head(items)`` for a call, ``[items]`` for a list."""

    head: str
    items: tuple[Expr, ...]
    open: str = "("
    close: str = ")"

    def flat(self) -> str:
        return f"{self.head}{self.open}{', '.join(i.flat() for i in self.items)}{self.close}"


def call(function: str, *items: Expr) -> Bracketed:
    name(function)
    return Bracketed(function, tuple(items))


def list_of(*items: Expr) -> Bracketed:
    return Bracketed("", tuple(items), "[", "]")


@dataclass(frozen=True)
class Sum(Expr):
    operands: tuple[Expr, ...]

    def flat(self) -> str:
        return " + ".join(o.flat() for o in self.operands)


@dataclass(frozen=True)
class Terms(Expr):
    """``a + b - c`` as an argument: split before each operator when too long, as ruff splits
    an argument in brackets (no parentheses added)."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]  # ("+" or "-", operand)

    def flat(self) -> str:
        return " ".join([self.first.flat(), *(f"{op} {term.flat()}" for op, term in self.rest)])


@dataclass(frozen=True)
class Repeated(Expr):
    """``*(module for _ in range(count))``: copies of one module, as a starred argument."""

    module: Expr
    count: str  # an expression of validated names and numbers

    def flat(self) -> str:
        return f"*({self.module.flat()} for _ in range({self.count}))"


# --- formatting ----------------------------------------------------------------------------------


def _fits(text: str) -> bool:
    return len(text) <= LINE_LENGTH


def format_line(indent: str, prefix: str, expr: Expr, suffix: str = "") -> list[str]:
    """``indent + prefix + expr + suffix`` as lines that ruff format leaves unchanged."""
    flat = f"{indent}{prefix}{expr.flat()}{suffix}"
    if _fits(flat):
        return [flat]
    inner = indent + INDENT
    if isinstance(expr, Bracketed):
        head = f"{indent}{prefix}{expr.head}{expr.open}"
        body = ", ".join(i.flat() for i in expr.items)
        if _fits(inner + body):
            return [head, inner + body, f"{indent}{expr.close}{suffix}"]
        lines = [head]
        for item in expr.items:
            lines += format_line(inner, "", item, ",")
        return [*lines, f"{indent}{expr.close}{suffix}"]
    if isinstance(expr, Sum):
        body = expr.flat()
        if _fits(inner + body):
            return [f"{indent}{prefix}(", inner + body, f"{indent}){suffix}"]
        lines = [f"{indent}{prefix}("]
        for i, operand in enumerate(expr.operands):
            lines += format_line(inner, "" if i == 0 else "+ ", operand)
        return [*lines, f"{indent}){suffix}"]
    if isinstance(expr, Keyword):
        return format_line(indent, f"{prefix}{expr.key}=", expr.value, suffix)
    if isinstance(expr, Terms):
        lines = [f"{indent}{prefix}{expr.first.flat()}"]
        lines += [f"{indent}{op} {term.flat()}" for op, term in expr.rest]
        lines[-1] += suffix
        return lines
    if isinstance(expr, Repeated):  # ruff splits at the brackets, then before `for`
        loop = f"for _ in range({expr.count})"
        body = f"{expr.module.flat()} {loop}"
        if _fits(inner + body):
            return [f"{indent}{prefix}*(", inner + body, f"{indent}){suffix}"]
        module = format_line(inner, "", expr.module)
        return [f"{indent}{prefix}*(", *module, inner + loop, f"{indent}){suffix}"]
    return [flat]  # an atom too long for a line: nothing to split


def statement(
    indent: str, prefix: str, expr: Expr, comment: str = "", suffix: str = ""
) -> list[str]:
    """A statement with an optional trailing comment, kept short enough for ruff format.

    A comment that would make the line too long goes on its own line above the statement.
    """
    lines = format_line(indent, prefix, expr, suffix)
    if not comment:
        return lines
    if len(lines) == 1 and _fits(f"{lines[0]}  # {comment}"):
        return [f"{lines[0]}  # {comment}"]
    return [f"{indent}# {comment}", *lines]
