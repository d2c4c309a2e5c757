"""The example specs netspec ships (``specs/`` of the source tree, ``netspec/specs/`` once
installed), found by name: ``netspec check lenet``, ``netspec.build("resnet18")``,
``zoo/vit_b_16`` or just ``vit_b_16``. A path that exists always wins over a name."""

from __future__ import annotations

import re
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# Installed, the specs are package data; in a source checkout (an editable install), the
# repository's own specs/ next to the package.
_PLACES = (_PACKAGE / "specs", _PACKAGE.parent / "specs")
_NAME = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?")


def examples_dir() -> Path | None:
    """Where the example specs are, or None in a package that lacks them."""
    return next((place for place in _PLACES if (place / "lenet.yaml").is_file()), None)


def example(name: str) -> Path | None:
    """The example spec a name means (``lenet``, ``zoo/unet``, ``unet``), or None."""
    place = examples_dir()
    if place is None or not _NAME.fullmatch(name):
        return None
    for candidate in (place / f"{name}.yaml", place / "zoo" / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    return None


def example_names() -> list[str]:
    """Every example's name, the zoo's as ``zoo/<name>``."""
    place = examples_dir()
    if place is None:
        return []
    names = [path.stem for path in sorted(place.glob("*.yaml"))]
    return names + [f"zoo/{path.stem}" for path in sorted(place.glob("zoo/*.yaml"))]


def spec_path(path: str | Path) -> Path:
    """``path`` itself when it exists (or names no example), else the example it names."""
    given = Path(path)
    if given.exists():
        return given
    return example(str(path)) or given
