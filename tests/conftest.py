"""Shared test fixtures. ``SHARED`` is ../shared/data beside the repo; tests that need it use
the ``shared_data`` fixture, which skips with a clear reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI machines are slower and shared: an example's speed is not what these tests check
settings.register_profile("tradeloop", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tradeloop")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (only present beside a CI checkout)")
    return SHARED
