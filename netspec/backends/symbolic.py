"""Values known as expressions of a generated block class's constructor arguments.

Inside ``class BasicBlock``, a convolution's ``out_channels`` is ``channels`` and the next one's
``in_channels`` is ``channels`` too: the code generator follows sizes through a block as
expressions of the block's parameters and of ``in_channels``. Layer kinds do arithmetic on
sizes with ``+`` and ``*`` (see ``LayerKind.first_dim``), which works on ints and on these
alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netspec.spec import expr


@dataclass(frozen=True)
class Symbol:
    tree: expr.Node

    @staticmethod
    def name(name: str) -> Symbol:
        return Symbol(expr.Name(name))

    def render(self) -> str:
        return expr.render(self.tree)

    def evaluate(self, env: Mapping[str, int]) -> int:
        return expr.evaluate(self.tree, env)

    def substitute(self, values: Mapping[str, Any]) -> Any:
        """The expression with names replaced (by ints or symbols), folded where possible."""
        return _fold(_substitute(self.tree, values))

    def __add__(self, other: Any) -> Any:
        return _fold(expr.BinOp("+", self.tree, _tree(other)))

    def __radd__(self, other: Any) -> Any:
        return _fold(expr.BinOp("+", _tree(other), self.tree))

    def __mul__(self, other: Any) -> Any:
        return _fold(expr.BinOp("*", self.tree, _tree(other)))

    def __rmul__(self, other: Any) -> Any:
        return _fold(expr.BinOp("*", _tree(other), self.tree))


def _tree(value: Any) -> expr.Node:
    if isinstance(value, Symbol):
        return value.tree
    if isinstance(value, int) and not isinstance(value, bool):
        return expr.Number(value)
    raise TypeError(f"not a size: {value!r}")


def _substitute(tree: expr.Node, values: Mapping[str, Any]) -> expr.Node:
    if isinstance(tree, expr.Name) and tree.name in values:
        return _tree(values[tree.name])
    if isinstance(tree, expr.Negate):
        return expr.Negate(_substitute(tree.operand, values))
    if isinstance(tree, expr.BinOp):
        return expr.BinOp(
            tree.operator, _substitute(tree.left, values), _substitute(tree.right, values)
        )
    return tree


def _fold(tree: expr.Node) -> Any:
    """An int when the expression has no names left, else a Symbol (x·1 and x+0 simplified)."""
    if not expr.names(tree):
        return expr.evaluate(tree, {})
    if isinstance(tree, expr.BinOp):
        left, right = tree.left, tree.right
        if tree.operator == "*" and right == expr.Number(1):
            return Symbol(left)
        if tree.operator == "*" and left == expr.Number(1):
            return Symbol(right)
        if tree.operator == "+" and right == expr.Number(0):
            return Symbol(left)
        if tree.operator == "+" and left == expr.Number(0):
            return Symbol(right)
    return Symbol(tree)


def value(size: Any, env: Mapping[str, int]) -> Any:
    """A size for given constructor arguments: ints stay, symbols are evaluated, tuples too."""
    if isinstance(size, Symbol):
        return size.evaluate(env)
    if isinstance(size, tuple):
        return tuple(value(item, env) for item in size)
    return size
