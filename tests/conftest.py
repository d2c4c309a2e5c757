"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SPECS


@pytest.fixture(params=SPECS, ids=[p.stem for p in SPECS])
def spec_path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own data directory, cache and working directory, and no downloads."""
    data = tmp_path / "data"
    monkeypatch.setenv("NETSPEC_DATA", str(data))
    monkeypatch.setenv("NETSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NETSPEC_NO_DOWNLOAD", "1")
    monkeypatch.chdir(tmp_path)
    return data
