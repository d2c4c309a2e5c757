"""Shared helpers for the tests: checking inline spec text, paths."""

from __future__ import annotations

import subprocess
import sys
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
    assert checked.graph is not None
    return {r.name: (r.output.dims if r.output else None) for r in checked.graph.layers()}


def heavy_modules_after(*commands: list[str], cwd: Path = ROOT) -> str:
    """Run netspec commands in one fresh interpreter; report exit codes and heavy imports."""
    probe = (
        "import sys\n"
        "import netspec.cli\n"
        "assert 'torch' not in sys.modules\n"
        f"codes = [netspec.cli.main(c) for c in {list(commands)!r}]\n"
        "heavy = [m for m in ('torch', 'torchvision', 'matplotlib') if m in sys.modules]\n"
        "print(codes, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout.strip()
