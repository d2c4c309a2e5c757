"""Packaging: every package directory is a regular package, so `pip install .` ships it."""

from __future__ import annotations

from helpers import ROOT


def test_every_package_directory_has_an_init() -> None:
    for directory in (ROOT / "netspec").rglob("*"):
        if directory.is_dir() and any(directory.glob("*.py")):
            assert (directory / "__init__.py").exists(), directory
