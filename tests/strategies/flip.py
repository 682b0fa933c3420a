"""Long (all-in) on every other bar, flat on the rest: a strategy that trades on every bar
whatever the market does, for short paper runs that must produce fills. (``sma_cross`` with
``fast=1, slow=2`` only trades after an up-close, which a quiet seeded market can withhold for
a whole 8-second run.)"""

from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar


class Flip(Strategy):
    params: dict[str, int] = {}

    def on_start(self) -> None:
        self.bars = 0

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        self.target_percent(bar.symbol, 1.0 if self.bars % 2 else 0.0)
