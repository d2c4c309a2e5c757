"""Shared helpers for the tests: checking inline spec text, paths."""

from __future__ import annotations

import textwrap
from pathlib import Path

from netspec import CheckedSpec, check_text

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
DATA = Path(__file__).resolve().parent / "data"


def check(yaml: str, file: str = "spec.yaml") -> CheckedSpec:
    """Check spec text written inline in a test (dedented)."""
    return check_text(textwrap.dedent(yaml).lstrip("\n"), file)


def error_lines(yaml: str) -> list[str]:
    return [str(d) for d in check(yaml).errors]


def warning_lines(yaml: str) -> list[str]:
    return [str(d) for d in check(yaml).warnings]


def shapes_of(yaml: str) -> dict[str, tuple[int | None, ...] | None]:
    checked = check(yaml)
    assert checked.shapes is not None
    return {r.node.name: (r.output.dims if r.output else None) for r in checked.shapes.layers}
