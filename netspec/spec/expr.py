"""The small expression language of block parameters: ``channels * 2``, ``max(8, c // 4)``.

Names (a block's parameters and its input's sizes), whole and decimal numbers, ``+ - * / //``
(also ``− × ÷``), unary minus, parentheses and the functions ``min``, ``max``, ``round`` and
``int`` — parsed into a tree and evaluated by walking it, never handed to ``eval``. Between
whole numbers ``/`` must divide exactly (sizes are whole numbers); ``//`` floors, as in Python;
a decimal makes the result a decimal, which only a decimal argument (a dropout rate) takes. The
same tree renders as Python source for generated code, where the names are the generated
class's constructor arguments.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from netspec.diagnostics import did_you_mean
from netspec.limits import INT64_MAX, INT64_MIN

MAX_LENGTH = 200
MAX_NESTING = 32  # parentheses and minus signs inside each other


class ExprError(Exception):
    """A malformed expression, an undefined name, or arithmetic that cannot be done."""


@dataclass(frozen=True)
class Number:
    value: int | float


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


@dataclass(frozen=True)
class Call:
    function: str  # one of FUNCTIONS
    arguments: tuple[Node, ...]


Node = Number | Name | Negate | BinOp | Call

# name → (fewest, most) arguments; each is the Python builtin of that name, so generated code
# computes what the checker did.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "round": (1, 1),
    "int": (1, 1),
}
SUPPORTED = (
    "expressions have numbers, parameter names, + - * / //, parentheses and "
    f"{', '.join(FUNCTIONS)}(…)"
)

_NUMBER = r"\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+"
_TOKEN = re.compile(rf"\s*(?:({_NUMBER})|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/(),×÷−]))")
_CANONICAL = {"×": "*", "÷": "/", "−": "-"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            bad = stripped[position:].lstrip()[:1]
            raise ExprError(f"unexpected {bad!r} in expression '{text}': {SUPPORTED}")
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
        if token[0].isdigit():
            return Number(int(token) if token.isdigit() else _decimal(token, text))
        if token[0].isalpha() or token[0] == "_":
            if peek() == "(":
                return function(token)
            return Name(token)
        raise ExprError(f"unexpected '{token}' in expression '{text}'")

    def function(called: str) -> Node:
        nonlocal depth
        if called not in FUNCTIONS:
            hint = did_you_mean(called, FUNCTIONS)
            raise ExprError(f"unknown function '{called}'{hint} in '{text}': {SUPPORTED}")
        take()  # (
        depth += 1
        if depth > MAX_NESTING:
            raise ExprError(f"expression '{text}' nests deeper than {MAX_NESTING} levels")
        arguments = [expression(0)]
        while peek() == ",":
            take()
            arguments.append(expression(0))
        if peek() != ")":
            raise ExprError(f"missing ')' after the arguments of {called} in '{text}'")
        take()
        depth -= 1
        fewest, most = FUNCTIONS[called]
        if len(arguments) < fewest or (most is not None and len(arguments) > most):
            wanted = f"{fewest}" if fewest == most else f"at least {fewest}"
            raise ExprError(
                f"{called} takes {wanted} argument{'s' if wanted != '1' else ''}, got "
                f"{len(arguments)} in '{text}'"
            )
        return Call(called, tuple(arguments))

    def expression(minimum: int) -> Node:
        left = operand()
        while (token := peek()) in _PRECEDENCE and _PRECEDENCE[token] > minimum:
            take()
            left = BinOp(token, left, expression(_PRECEDENCE[token]))
        return left

    tree = expression(0)
    if position != len(tokens):
        raise ExprError(f"unexpected '{tokens[position]}' in expression '{text}': {SUPPORTED}")
    return tree


def _decimal(token: str, text: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ExprError(f"{token} is too large in '{text}'")
    return value


def as_expression(text: str, parameters: Collection[str]) -> Node | None:
    """The tree of a string that is an expression of ``parameters``, or None when it is not one:
    a bare word that names no parameter is a word (an option like 'same' or 'nearest-exact'),
    not an expression. Names in a longer expression are all taken as parameters (evaluation
    reports unknown ones); text with brackets or operators that does not parse raises."""
    try:
        tree = parse(text)
    except ExprError:
        if _OPERATORS.search(text):
            raise  # meant as an expression: say what is wrong with it
        return None
    if isinstance(tree, Number):
        return None  # "5" is a string in YAML; the argument's type check says so
    if not names(tree) <= set(parameters) and _OPTION_WORD.fullmatch(text):
        return None  # a word, e.g. 'nearest-exact'
    return tree


_OPERATORS = re.compile(r"[()+*/,×÷−]")
_OPTION_WORD = re.compile(r"[a-z][a-z0-9_-]*")


@functools.lru_cache(maxsize=4096)
def substitute(
    text: str, env: tuple[tuple[str, int | float], ...]
) -> int | float | ExprError | None:
    """The value of ``text`` as an expression of the parameters ``env`` (traced ints, so the
    value is one too); None when the text is a word, not an expression (see
    ``as_expression``); the error when it cannot be computed. Memoised: each copy of a repeated
    layer asks the same."""
    parameters = dict(env)
    try:
        tree = as_expression(text, parameters)
        if tree is None:
            return None
        value = evaluate(tree, parameters, text)
    except ExprError as error:
        if text.count("(") > text.count(")"):  # YAML cut it: "{k: max(8, c)}" ends at the comma
            return ExprError(f"{error} (in a {{…}} mapping a comma ends the value: quote it)")
        return error
    return traced_value(value, tree)


def names(tree: Node) -> set[str]:
    if isinstance(tree, Name):
        return {tree.name}
    if isinstance(tree, Negate):
        return names(tree.operand)
    if isinstance(tree, BinOp):
        return names(tree.left) | names(tree.right)
    if isinstance(tree, Call):
        return set().union(*(names(argument) for argument in tree.arguments))
    return set()


def evaluate(tree: Node, env: Mapping[str, int | float], text: str = "") -> int | float:
    """The value of an expression with the names bound by ``env``: a whole number unless a
    decimal took part. Every whole step must fit in a 64-bit integer, as PyTorch's sizes do."""
    try:
        value = _evaluate(tree, env, text)
    except OverflowError:  # a whole number too large to mix with a decimal
        raise ExprError(f"'{text or render(tree)}' is too large to compute") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError(f"{render(tree)} is not a finite number")
        return value
    if not INT64_MIN <= value <= INT64_MAX:
        step = render(tree)
        where = f" in '{text}'" if text and step != text.strip() else ""
        raise ExprError(
            f"{step} = {value} is out of range{where}: sizes and counts are 64-bit "
            f"(at most {INT64_MAX:,})"
        )
    return value


def _step(tree: Node, env: Mapping[str, int | float], text: str, rounded: bool) -> int | float:
    """An operand's value; a whole one must fit in 64 bits, as each step of PyTorch's size
    arithmetic does."""
    value = _evaluate(tree, env, text, rounded)
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        step = render(tree)
        where = f" in '{text}'" if text and step != text.strip() else ""
        raise ExprError(
            f"{step} = {value} is out of range{where}: sizes and counts are 64-bit "
            f"(at most {INT64_MAX:,})"
        )
    return value


def whole(tree: Node, env: Mapping[str, int | float], text: str = "") -> int:
    """The value of an expression that must be a whole number (a size, a count)."""
    value = evaluate(tree, env, text)
    if isinstance(value, float):
        raise ExprError(
            f"'{text or render(tree)}' is {value:g}, expected a whole number: round it with "
            "round(…) or int(…)"
        )
    return value


def _evaluate(
    tree: Node, env: Mapping[str, int | float], text: str, rounded: bool = False
) -> int | float:
    """``rounded``: inside round(…) or int(…), where ``/`` divides as in Python."""
    if isinstance(tree, Number):
        return tree.value
    if isinstance(tree, Name):
        if tree.name not in env:
            hint = did_you_mean(tree.name, env)
            known = ", ".join(env) or "none"
            raise ExprError(f"undefined parameter '{tree.name}'{hint}; the block has: {known}")
        return env[tree.name]
    if isinstance(tree, Negate):
        return -_step(tree.operand, env, text, rounded)
    if isinstance(tree, Call):
        inner = rounded or tree.function in ("round", "int")
        values = [_step(argument, env, text, inner) for argument in tree.arguments]
        if tree.function == "min":
            return min(values)
        if tree.function == "max":
            return max(values)
        if tree.function == "round":
            return round(values[0])
        return int(values[0])
    left = _step(tree.left, env, text, rounded)
    right = _step(tree.right, env, text, rounded)
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
    if rounded or isinstance(left, float) or isinstance(right, float):
        return left / right
    if left % right:
        raise ExprError(
            f"{left} / {right} is not a whole number in '{text or render(tree)}' "
            "(use // to round down)"
        )
    return left // right


def render(tree: Node, parent: int = 0, rounded: bool = False) -> str:
    """Python source for the expression (``/`` becomes ``//``: it only ever divides exactly)."""
    if isinstance(tree, Number):
        return repr(tree.value)
    if isinstance(tree, Name):
        return tree.name
    if isinstance(tree, Negate):
        return f"-{render(tree.operand, 3, rounded)}"
    if isinstance(tree, Call):
        inner = rounded or tree.function in ("round", "int")
        arguments = ", ".join(render(argument, 0, inner) for argument in tree.arguments)
        return f"{tree.function}({arguments})"
    exact = not rounded and not _has_decimal(tree)  # then / only ever divides exactly
    operator = "//" if tree.operator == "/" and exact else tree.operator
    level = _PRECEDENCE[tree.operator]
    # A right operand of the same precedence keeps its parentheses: a - (b - c), a * (b // c).
    text = (
        f"{render(tree.left, level, rounded)} {operator} {render(tree.right, level + 1, rounded)}"
    )
    return f"({text})" if level < parent else text


class TracedFloat(float):
    """A decimal that remembers the expression of a block's parameters it came from (a
    dropout rate ``p``), so the block's class passes it on by name. Arithmetic on it gives a
    plain float: only expansion computes decimals, from the tree."""

    tree: Node

    def __new__(cls, value: float, tree: Node) -> TracedFloat:
        traced = super().__new__(cls, value)
        traced.tree = tree
        return traced

    def __repr__(self) -> str:
        return f"TracedFloat({float(self)!r}, {render(self.tree)!r})"

    def __str__(self) -> str:
        return float.__repr__(self)

    def render(self) -> str:
        return render(self.tree)


def is_traced(value: object) -> bool:
    """Whether a value remembers its expression (a traced int or decimal)."""
    return isinstance(value, Traced | TracedFloat)


def plain(value: Any) -> Any:
    """A traced value as the plain int or float it is."""
    if isinstance(value, Traced):
        return int(value)
    if isinstance(value, TracedFloat):
        return float(value)
    return value


def traced_value(value: int | float, tree: Node) -> int | float:
    """``value`` remembering ``tree`` (see ``traced``), whole or decimal."""
    if isinstance(value, float):
        return TracedFloat(value, tree) if names(tree) else value
    return traced(value, tree)


def _has_decimal(tree: Node) -> bool:
    """Whether a decimal takes part (then ``/`` divides as it does in Python)."""
    if isinstance(tree, Number):
        return isinstance(tree.value, float)
    if isinstance(tree, Negate):
        return _has_decimal(tree.operand)
    if isinstance(tree, BinOp):
        return _has_decimal(tree.left) or _has_decimal(tree.right)
    return False


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


def renamed(tree: Node, names: Mapping[str, str]) -> Node:
    """The same expression with names replaced (``groups`` → ``self.groups``)."""
    if isinstance(tree, Name):
        return Name(names.get(tree.name, tree.name))
    if isinstance(tree, Negate):
        return Negate(renamed(tree.operand, names))
    if isinstance(tree, BinOp):
        return BinOp(tree.operator, renamed(tree.left, names), renamed(tree.right, names))
    if isinstance(tree, Call):
        return Call(tree.function, tuple(renamed(a, names) for a in tree.arguments))
    return tree


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
