"""The documentation stays true: generated files are current, examples check."""

from __future__ import annotations

import re

from helpers import ROOT, check

from netspec.layers import all_kinds
from netspec.spec.reference import render_reference


def test_layer_reference_is_current() -> None:
    committed = (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    assert committed == render_reference(), "run `make docs` to regenerate docs/layers.md"


def test_every_kind_is_documented() -> None:
    reference = render_reference()
    for kind in all_kinds():
        assert f"### `{kind.name}`" in reference


def test_complete_specs_in_the_docs_check_clean() -> None:
    """Every YAML block in README and docs/ that is a whole spec must pass `netspec check`."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = 0
    for page in pages:
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            if re.search(r"^name:", block, re.M) and re.search(r"^layers:", block, re.M):
                if "..." in block:
                    continue  # an outline, not a spec
                checked = check(block, f"{page.name}")
                assert checked.ok, [str(d) for d in checked.errors]
                found += 1
    assert found >= 2


def test_readme_has_exactly_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", setup, re.M)
    assert commands == ["make demo", "make test"]
