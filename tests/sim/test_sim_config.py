"""SimConfig refuses nonsense up front instead of producing a quietly wrong backtest."""

from __future__ import annotations

import dataclasses

import pytest

from tradeloop.model import Side
from tradeloop.sim import BarFill, SimConfig

from .helpers import T0, book, make, market


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


def test_fee_decimals_books_the_fee_it_reports() -> None:
    """A venue ledger rounds each fee to its precision; the balance then moves by exactly the
    reported fees (without rounding, 0.001 * 100.0123 * 0.002 leaves a sub-unit remainder)."""
    for decimals, want_fee in ((None, 0.001 * 100.0123 * 0.002), (4, 0.0002)):
        ex, rec = make(fee_decimals=decimals)
        ex.on_book(book(T0, bids=[(100.0, 5.0)], asks=[(100.0123, 5.0)]))
        ex.submit(market("m", Side.BUY, 0.001), ts=T0)
        (fill,) = rec.fills("m")
        assert fill.fee == want_fee
        assert ex.balances()["USDT"].total == 10_000 - fill.price * 0.001 - fill.fee
