"""TWAP sends exactly ``slices`` orders per target change: a remainder below the instrument's
lot / minimum size (the rounding left-over of ``change / slices``) rides with the last slice,
never goes out alone as a dust order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.engine.multi import run_multi_backtest
from tradeloop.engine.runbuild import build_run
from tradeloop.engine.runconfig import parse_run_config

STRATEGY = """
from tradeloop.engine.strategy import Strategy

class Steps(Strategy):
    '''Odd quantities that do not split into whole lots: 1/3 of them always leaves dust.'''
    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        if self.n % 10 == 0:
            wanted = [0.1234567, 0.0, 0.0777777, 0.2, 0.0]
            self.target(bar.symbol, wanted[(self.n // 10) % len(wanted)] * self.sign)
        self.n += 1
"""


def _built(tmp: Path, symbol: str, sign: int, lot: float, min_size: float) -> object:
    (tmp / "steps.py").write_text(STRATEGY + f"\nSteps.sign = {sign}\n")
    rows = [f"{1_700_000_000_000 + i * 60_000},100,101,99,{100 + (i % 5) * 0.25},50"
            for i in range(60)]  # fmt: skip
    (tmp / "bars.csv").write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows))
    data = {
        "run": {"cash": 100_000},
        "instrument": [{"symbol": symbol, "data": "bars.csv", "lot": lot, "min_size": min_size,
                        "fee": 0.0}],
        "strategy": [{"file": "steps.py", "algo": "twap",
                      "algo_params": {"slices": 3, "interval": "1m"}}],
    }  # fmt: skip
    return build_run(parse_run_config(data, "run.toml", tmp))


@pytest.mark.parametrize(
    ("symbol", "sign", "lot", "min_size"),
    [
        ("BTC-USDT", 1, 1e-8, 1e-8),  # spot: buys spend quote, sells are sized in base
        ("BTC-USDT", 1, 1e-4, 1e-3),
        ("BTC-USDT-SWAP", -1, 1e-8, 1e-8),  # derivative: shorts too
        ("BTC-USDT-SWAP", 1, 1e-3, 1e-2),
    ],
)
def test_twap_sends_slices_orders_and_no_dust(
    tmp_path: Path, symbol: str, sign: int, lot: float, min_size: float
) -> None:
    built = _built(tmp_path, symbol, sign, lot, min_size)
    result = run_multi_backtest(built.feeds, built.runs, built.config)  # type: ignore[attr-defined]
    fills = result.fills
    assert fills
    assert min(f.qty for f in fills) >= min_size * (1 - 1e-9)
    # targets change every 10 bars, 3 slices 1 minute apart: each change is 3 fills
    t0, every = 1_700_000_000_000_000_000, 10 * 60_000_000_000
    per_change: dict[int, int] = {}
    for f in fills:
        per_change[(f.ts - t0) // every] = per_change.get((f.ts - t0) // every, 0) + 1
    assert set(per_change.values()) == {3}, per_change
