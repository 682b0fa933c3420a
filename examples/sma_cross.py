"""SMA crossover: long (all-in) while the fast SMA of closes is above the slow one, flat otherwise.

Run it:  tradeloop backtest examples/sma_cross.py --param fast=10 --param slow=50

Orders are market orders; in a bar backtest they fill at the next bar's open, fee on notional.
"All-in" is ``target_percent(symbol, 1.0)``: the OMS turns it into a market buy that spends the
strategy's cash, so the size is fixed by the fill price rather than guessed from this close.
Ties (the averages equal up to float noise, as on a flat market) count as "not above", so the
decision never depends on the order floats were summed in.
"""

from tradeloop.engine.indicators import SMA
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar


class SmaCross(Strategy):
    params = {"fast": 10, "slow": 50}

    def on_start(self) -> None:
        if not 0 < self.p.fast < self.p.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.p.fast} slow={self.p.slow}")
        self.fast = SMA(self.p.fast)
        self.slow = SMA(self.p.slow)
        self.long: bool | None = None

    def on_bar(self, bar: Bar) -> None:
        fast = self.fast.update(bar.close)
        slow = self.slow.update(bar.close)
        if slow is None or fast is None:
            return
        long = fast > slow * (1.0 + 1e-10)
        if long is not self.long:  # act on changes of the signal only
            self.long = long
            self.target_percent(bar.symbol, 1.0 if long else 0.0)
