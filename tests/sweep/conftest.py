"""Sweep test fixtures and the ``ray`` marker: tests marked ``ray`` start a real local Ray
runtime (``ray.init(num_cpus=2)``) and are kept to a few points so CI runs them every time;
deselect with ``-m "not ray"``."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import MISBEHAVING


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ray: starts a real local Ray runtime (a few seconds)")


@pytest.fixture
def misbehaving(tmp_path: Path) -> Path:
    path = tmp_path / "misbehaving.py"
    path.write_text(MISBEHAVING)
    return path
