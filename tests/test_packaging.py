"""Packaging: every package directory is a regular package, so `pip install .` ships it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from netspec import examples

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_every_package_directory_has_an_init() -> None:
    for directory in (ROOT / "netspec").rglob("*"):
        if directory.is_dir() and any(directory.glob("*.py")):
            assert (directory / "__init__.py").exists(), directory


def test_the_package_list_holds_every_package_directory() -> None:
    """pyproject lists the packages (the example specs and the schema are mapped in from the
    top level): a new subpackage must be listed, or the wheel would lack it."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(directory.relative_to(ROOT).parts)
        for directory in [ROOT / "netspec", *(ROOT / "netspec").rglob("*")]
        if directory.is_dir() and (directory / "__init__.py").exists()
    }
    assert set(listed["packages"]) == found | set(listed["package-dir"])


def test_an_example_is_found_by_name_and_a_path_wins(tmp_path: Path) -> None:
    assert examples.spec_path("lenet") == ROOT / "specs" / "lenet.yaml"
    assert examples.spec_path("vit_b_16") == ROOT / "specs" / "zoo" / "vit_b_16.yaml"
    assert examples.spec_path("zoo/unet") == ROOT / "specs" / "zoo" / "unet.yaml"
    assert examples.spec_path("../lenet") == Path("../lenet")  # only plain names
    own = tmp_path / "lenet"
    own.write_text("name: mine\n")
    assert examples.spec_path(own) == own


@pytest.mark.slow
def test_the_built_wheel_checks_and_builds_examples_by_name(tmp_path: Path) -> None:
    """`pip install` of the wheel, then `netspec check lenet` from an empty directory, and
    netspec.build("resnet18"): the wheel carries the specs (and the schema they name)."""
    wheels, site, empty = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("netspec-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = (
        "import netspec, sys; from netspec.cli import main\n"
        "print(netspec.__file__)\n"
        "code = main(['check', 'lenet'])\n"
        "print(sum(p.numel() for p in netspec.build('resnet18').parameters()))\n"
        "sys.exit(code)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=empty, env=env
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(str(site))  # the installed copy, not the source tree
    assert f"{site}/netspec/specs/lenet.yaml: ok" in run.stderr
    assert lines[-1] == "11689512"
    schema = site / "netspec" / "docs" / "netspec.schema.json"
    assert schema.is_file()  # where `$schema=../docs/netspec.schema.json` leads
