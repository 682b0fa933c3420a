"""Two strategies sharing one account: a trend follower and a mean-reverter.

Run it:  tradeloop backtest examples/two_strategies.py --out out/two

Both set *targets*; the portfolio nets them into one account position, so when one wants long
and the other short only the difference is traded (the overlap is crossed internally, with no
fee), and each strategy's PnL is tracked separately. The report's per-strategy table sums to
the account's PnL.
"""

from typing import Any

from tradeloop.engine.indicators import SMA
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar


class Trend(Strategy):
    """Long 80% of its capital while price is above its slow SMA, else flat."""

    params = {"slow": 200}

    def on_start(self) -> None:
        self.sma = SMA(self.p.slow)

    def on_bar(self, bar: Bar) -> None:
        avg = self.sma.update(bar.close)
        if avg is not None:
            self.target_percent(bar.symbol, 0.8 if bar.close > avg else 0.0)


class MeanRevert(Strategy):
    """Fades stretches away from a short SMA: short when price is far above it, long when far
    below, flat in between (a derivative-style signed target expressed in base units)."""

    params = {"window": 30, "band": 0.004, "size": 0.05}

    def on_start(self) -> None:
        self.sma = SMA(self.p.window)

    def on_bar(self, bar: Bar) -> None:
        avg = self.sma.update(bar.close)
        if avg is None:
            return
        dev = bar.close / avg - 1.0
        if dev > self.p.band:
            self.target(bar.symbol, 0.0)
        elif dev < -self.p.band:
            self.target(bar.symbol, self.p.size)


def create_strategies(params: dict[str, Any]) -> list[Strategy]:
    """``--param trend.slow=300 --param revert.band=0.01`` address one strategy each."""
    trend = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("trend.")}
    revert = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("revert.")}
    unknown = [k for k in params if not k.startswith(("trend.", "revert."))]
    if unknown:
        from tradeloop.core.errors import ConfigError

        raise ConfigError(f"unknown parameter(s) {unknown}: use trend.NAME or revert.NAME")
    return [Trend("trend", trend), MeanRevert("revert", revert)]
