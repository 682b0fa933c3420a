"""A strategy that keeps the dashboard busy: flips a small position every bar, keeps one
limit order resting below the market (re-priced each bar), and draws a mark, a stop line and
an indicator series."""

from __future__ import annotations

from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Order


class Busy(Strategy):
    params = {"qty": 0.01, "rest_qty": 0.002, "gap": 0.02}

    def on_start(self) -> None:
        self.n = 0
        self.resting: Order | None = None

    def on_bar(self, bar: Bar) -> None:
        self.n += 1
        self.plot("close", bar.close)
        self.line("stop", round(bar.close * 0.99, 1))
        self.target(bar.symbol, self.p.qty if self.n % 2 else 0.0)
        if self.n % 2:
            self.mark("flip", bar.symbol)
        if self.resting is not None and self.resting.is_open:
            self.cancel(self.resting)
        self.resting = self.buy(bar.symbol, self.p.rest_qty,
                                price=round(bar.close * (1 - self.p.gap), 1))  # fmt: skip
