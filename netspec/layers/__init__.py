"""The layer kinds netspec knows, found by their spec keyword.

Every module in this package is imported once, so a kind defined in any of them registers
itself (see ``LayerKind.__init_subclass__``); nothing else lists the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil

from netspec.layers.base import REGISTRY, Inferred, LayerKind, Reporter

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def get(name: str) -> LayerKind | None:
    return REGISTRY.get(name)


def all_kinds() -> list[LayerKind]:
    return list(REGISTRY.values())


def alias_table() -> dict[str, str]:
    """Names from other tools (``dense``, ``Conv2D``) → our kind, for suggestions only."""
    return {alias: kind.name for kind in REGISTRY.values() for alias in kind.aliases}


__all__ = ["Inferred", "LayerKind", "Reporter", "alias_table", "all_kinds", "get"]
