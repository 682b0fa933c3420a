"""Small builders shared by the report tests."""

from __future__ import annotations

from tradeloop.model.enums import Liquidity, Side
from tradeloop.model.events import Fill

DAY = 86_400 * 1_000_000_000
T0 = 1_700_000_000 * 1_000_000_000


def fill(
    ts: int,
    side: Side | str,
    qty: float,
    price: float,
    fee: float = 0.0,
    symbol: str = "BTC-USDT",
    strategy: str = "s1",
) -> Fill:
    return Fill(
        ts=ts,
        client_order_id=f"c{ts}",
        venue_order_id=f"v{ts}",
        trade_id=f"t{ts}",
        symbol=symbol,
        side=Side(side),
        price=price,
        qty=qty,
        fee=fee,
        fee_ccy="USDT",
        liquidity=Liquidity.TAKER,
        strategy_id=strategy,
    )
