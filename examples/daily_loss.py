"""The daily loss limit at work.

Run it:  tradeloop backtest examples/daily_loss.py --daily-loss-limit 150 --out out/loss

A deliberately bad strategy that buys and sells with market orders every few bars, paying fees
each time. With ``--daily-loss-limit`` the risk engine (not the strategy) watches equity against its
value at the UTC day start; on a breach it cancels working orders, switches to REDUCING (only
position-reducing orders pass) and lifts the block at the next UTC midnight. The strategy keeps
asking to trade and is refused: see the REJECTED orders and the flat stretches in the report.
"""

from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Order, OrderStatus


class Churn(Strategy):
    params = {"every": 5}

    def on_start(self) -> None:
        self.n = 0
        self.refused = 0

    def on_bar(self, bar: Bar) -> None:
        self.n += 1
        if self.n % self.p.every:
            return
        held = self.position(bar.symbol)
        if held > 0:
            self.sell(bar.symbol, held)  # reduces: always allowed
        else:
            self.buy(bar.symbol, round(0.95 * self.equity / bar.close, 6))  # new risk

    def on_order(self, order: Order) -> None:
        if order.status is OrderStatus.REJECTED:
            self.refused += 1

    def on_stop(self) -> None:
        self.log.info("orders refused by risk: %d", self.refused)
