"""SimConfig refuses nonsense up front instead of producing a quietly wrong backtest."""

from __future__ import annotations

import dataclasses

import pytest

from tradeloop.sim import BarFill, SimConfig


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_ns": -1},
        {"slippage_bps": -0.1},
        {"slippage_bps": float("nan")},
        {"max_volume_fraction": 0.0},
        {"max_volume_fraction": 1.5},
        {"leverage": 0.0},
        {"market_lock_buffer": -0.01},
    ],
)
def test_invalid_config_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SimConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen_with_documented_defaults() -> None:
    cfg = SimConfig()
    assert (cfg.latency_ns, cfg.bar_fill, cfg.slippage_bps, cfg.max_volume_fraction) == (
        0,
        BarFill.NEXT_OPEN,
        0.0,
        None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.latency_ns = 5  # type: ignore[misc]
