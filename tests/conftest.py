"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SPECS


@pytest.fixture(params=SPECS, ids=[p.stem for p in SPECS])
def spec_path(request: pytest.FixtureRequest) -> Path:
    return request.param
