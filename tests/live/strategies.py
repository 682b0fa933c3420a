"""Strategies the live tests run (loaded by file path from run configs)."""

from __future__ import annotations

from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar


class HoldAndRest(Strategy):
    """Buys ``qty`` once (a target) and rests one limit buy ``gap`` below the market; both
    happen once per deployment (``self.state`` remembers across restarts)."""

    params = {"qty": 0.01, "rest_qty": 0.002, "gap": 0.01}
    lookback = 3

    def on_start(self) -> None:
        self.bars = 0
        self.state.setdefault("starts", 0)
        self.state["starts"] += 1

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        self.state["bars"] = self.state.get("bars", 0) + 1
        if self.bars < 5:
            return  # up to 3 warm-up bars (history) and the first live ones
        self.target(bar.symbol, self.p.qty)
        if not self.state.get("rested"):
            self.state["rested"] = True
            self.buy(bar.symbol, self.p.rest_qty, price=round(bar.close * (1 - self.p.gap), 1))


class Flip(Strategy):
    """Alternates between ``qty`` long and flat every ``every`` bars."""

    params = {"qty": 0.01, "every": 2}

    def on_start(self) -> None:
        self.n = 0

    def on_bar(self, bar: Bar) -> None:
        self.n += 1
        self.target(bar.symbol, self.p.qty if (self.n // self.p.every) % 2 else 0.0)


class BuyOnce(Strategy):
    """Buys ``qty`` at market on its first live bar, once per deployment (``self.state``)."""

    params = {"qty": 0.01}

    def on_bar(self, bar: Bar) -> None:
        if not self.state.get("bought"):
            self.state["bought"] = True
            self.buy(bar.symbol, self.p.qty)


class Ladder(Strategy):
    """Steps its target up by ``qty`` each bar for ``steps`` bars, then back to flat."""

    params = {"qty": 0.01, "steps": 3}

    def on_start(self) -> None:
        self.n = 0

    def on_bar(self, bar: Bar) -> None:
        self.n += 1
        self.target(bar.symbol, (self.n % (self.p.steps + 1)) * self.p.qty)
