"""The small expression language of block parameters: ``channels * 2``, ``(width + 1) // 2``.

Names (a block's parameters), whole numbers, ``+ - * / //`` (also ``− × ÷``), unary minus and
parentheses — parsed into a tree and evaluated by walking it, never handed to ``eval``. ``/``
must divide exactly (sizes are whole numbers); ``//`` floors, as in Python. The same tree
renders as Python source for generated code, where the names are the generated class's
constructor arguments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from netspec.diagnostics import did_you_mean
from netspec.limits import INT64_MAX, INT64_MIN

MAX_LENGTH = 200
MAX_NESTING = 32  # parentheses and minus signs inside each other


class ExprError(Exception):
    """A malformed expression, an undefined name, or arithmetic that cannot be done."""


@dataclass(frozen=True)
class Number:
    value: int


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    operator: str  # one of + - * / //
    left: Node
    right: Node


Node = Number | Name | Negate | BinOp

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/()×÷−]))")
_CANONICAL = {"×": "*", "÷": "/", "−": "-"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            bad = stripped[position:].lstrip()[:1]
            raise ExprError(f"unexpected {bad!r} in expression '{text}'")
        token = next(group for group in match.groups() if group is not None)
        tokens.append(_CANONICAL.get(token, token))
        position = match.end()
    return tokens


@functools.lru_cache(maxsize=1024)  # a repeated layer parses the same expressions again
def parse(text: str) -> Node:
    """Parse an expression; raises ExprError with what is wrong."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    tokens = _tokens(text)
    if not tokens:
        raise ExprError("empty expression")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = tokens[position]
        position += 1
        return token

    depth = 0

    def operand() -> Node:
        nonlocal depth
        token = peek()
        if token is None:
            raise ExprError(f"expression '{text}' ends too early")
        take()
        if token in ("(", "-"):
            depth += 1
            if depth > MAX_NESTING:
                raise ExprError(f"expression '{text}' nests deeper than {MAX_NESTING} levels")
        if token == "(":
            inner = expression(0)
            if peek() != ")":
                raise ExprError(f"missing ')' in expression '{text}'")
            take()
            depth -= 1
            return inner
        if token == "-":
            negated = Negate(operand())
            depth -= 1
            return negated
        if token.isdigit():
            return Number(int(token))
        if token[0].isalpha() or token[0] == "_":
            return Name(token)
        raise ExprError(f"unexpected '{token}' in expression '{text}'")

    def expression(minimum: int) -> Node:
        left = operand()
        while (token := peek()) in _PRECEDENCE and _PRECEDENCE[token] > minimum:
            take()
            left = BinOp(token, left, expression(_PRECEDENCE[token]))
        return left

    tree = expression(0)
    if position != len(tokens):
        raise ExprError(f"unexpected '{tokens[position]}' in expression '{text}'")
    return tree


def as_expression(text: str, parameters: Collection[str]) -> Node | None:
    """The tree of a string that is an expression of ``parameters``, or None when it is not one:
    a bare word that names no parameter is a word (an option like 'same'), not an expression.
    Names in a longer expression are all taken as parameters (evaluation reports unknown ones).
    """
    try:
        tree = parse(text)
    except ExprError:
        return None
    if isinstance(tree, Name) and tree.name not in parameters:
        return None
    if isinstance(tree, Number):
        return None  # "5" is a string in YAML; the argument's type check says so
    return tree


@functools.lru_cache(maxsize=4096)
def substitute(text: str, env: tuple[tuple[str, int], ...]) -> int | ExprError | None:
    """The value of ``text`` as an expression of the parameters ``env`` (traced ints, so the
    value is one too); None when the text is a word, not an expression (see
    ``as_expression``); the error when it cannot be computed. Memoised: each copy of a repeated
    layer asks the same."""
    parameters = dict(env)
    tree = as_expression(text, parameters)
    if tree is None:
        return None
    try:
        value = evaluate(tree, parameters, text)
    except ExprError as error:
        return error
    return traced(value, tree)


def names(tree: Node) -> set[str]:
    if isinstance(tree, Name):
        return {tree.name}
    if isinstance(tree, Negate):
        return names(tree.operand)
    if isinstance(tree, BinOp):
        return names(tree.left) | names(tree.right)
    return set()


def evaluate(tree: Node, env: Mapping[str, int], text: str = "") -> int:
    """The value of an expression with the names bound by ``env``; every step must fit in a
    64-bit integer, as PyTorch's sizes do."""
    value = _evaluate(tree, env, text)
    if not INT64_MIN <= value <= INT64_MAX:
        step = render(tree)
        where = f" in '{text}'" if text and step != text.strip() else ""
        raise ExprError(
            f"{step} = {value} is out of range{where}: sizes and counts are 64-bit "
            f"(at most {INT64_MAX:,})"
        )
    return value


def _evaluate(tree: Node, env: Mapping[str, int], text: str) -> int:
    if isinstance(tree, Number):
        return tree.value
    if isinstance(tree, Name):
        if tree.name not in env:
            hint = did_you_mean(tree.name, env)
            known = ", ".join(env) or "none"
            raise ExprError(f"undefined parameter '{tree.name}'{hint}; the block has: {known}")
        return env[tree.name]
    if isinstance(tree, Negate):
        return -evaluate(tree.operand, env, text)
    left, right = evaluate(tree.left, env, text), evaluate(tree.right, env, text)
    # Both fit in 64 bits, so even a product has at most 39 digits: the caller checks it.
    if tree.operator == "+":
        return left + right
    if tree.operator == "-":
        return left - right
    if tree.operator == "*":
        return left * right
    if right == 0:
        raise ExprError(f"division by zero in '{text or render(tree)}'")
    if tree.operator == "//":
        return left // right
    if left % right:
        raise ExprError(
            f"{left} / {right} is not a whole number in '{text or render(tree)}' "
            "(use // to round down)"
        )
    return left // right


def render(tree: Node, parent: int = 0) -> str:
    """Python source for the expression (``/`` becomes ``//``: it only ever divides exactly)."""
    if isinstance(tree, Number):
        return str(tree.value)
    if isinstance(tree, Name):
        return tree.name
    if isinstance(tree, Negate):
        return f"-{render(tree.operand, 3)}"
    operator = "//" if tree.operator == "/" else tree.operator
    level = _PRECEDENCE[tree.operator]
    # A right operand of the same precedence keeps its parentheses: a - (b - c), a * (b // c).
    text = f"{render(tree.left, level)} {operator} {render(tree.right, level + 1)}"
    return f"({text})" if level < parent else text


class Traced(int):
    """An int that remembers how it was computed from a block's parameters.

    Expansion gives the arguments written as expressions this form; the code generator runs
    the layer kinds' own shape rules on them, so a size derived inside a block (the next
    layer's ``in_channels``) carries its expression too (``channels * 2``). ``+ - * //`` keep
    the expression; any other operation gives a plain int.
    """

    tree: Node

    def __new__(cls, value: int, tree: Node) -> Traced:
        traced = super().__new__(cls, value)
        traced.tree = tree
        return traced

    def __repr__(self) -> str:
        return f"Traced({int(self)}, {render(self.tree)!r})"

    def __str__(self) -> str:  # in messages, the value (int's str would call __repr__)
        return int.__repr__(self)

    def render(self) -> str:
        return render(self.tree)

    def _combine(self, operator: str, left: object, right: object) -> int:
        value = _apply(operator, int(left), int(right))  # type: ignore[call-overload]
        return traced(value, BinOp(operator, _tree_of(left), _tree_of(right)))

    def __add__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("+", self, other) if _is_int(other) else NotImplemented

    def __radd__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("+", other, self) if _is_int(other) else NotImplemented

    def __sub__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("-", self, other) if _is_int(other) else NotImplemented

    def __rsub__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("-", other, self) if _is_int(other) else NotImplemented

    def __mul__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("*", self, other) if _is_int(other) else NotImplemented

    def __rmul__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("*", other, self) if _is_int(other) else NotImplemented

    def __floordiv__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("//", self, other) if _is_int(other) else NotImplemented

    def __rfloordiv__(self, other: object) -> int:  # type: ignore[override]
        return self._combine("//", other, self) if _is_int(other) else NotImplemented


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _apply(operator: str, left: int, right: int) -> int:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    return left // right


def _tree_of(value: object) -> Node:
    return value.tree if isinstance(value, Traced) else Number(int(value))  # type: ignore[call-overload]


def traced(value: int, tree: Node) -> int:
    """``value`` remembering ``tree``; a plain int when the tree names nothing (x·1 and x+0
    folded, so ``channels * 1`` reads ``channels``)."""
    if not names(tree):
        return value
    if isinstance(tree, BinOp):
        one = Number(1 if tree.operator in ("*", "//") else 0)
        if tree.right == one and tree.operator in ("*", "//", "+", "-"):
            return traced(value, tree.left)
        if tree.left == one and tree.operator in ("*", "+"):
            return traced(value, tree.right)
    return Traced(value, tree)
