"""A trading process to be killed (``test_dead_man.py``): builds a BitMEX gateway through the
registry (so the dead-man switch is armed as ``tradeloop paper`` would arm it, from the
environment), rests one buy far below the market, says ``ready`` and waits to be killed.

Usage: ``python dead_man_child.py URL PRICE``."""

from __future__ import annotations

import asyncio
import sys

from tradeloop.model import Fill, Order, OrderReport, OrderType, Side
from tradeloop.venues import registry
from tradeloop.venues.bitmex.gateway import BitmexGateway


class _Quiet:
    def on_order_report(self, r: OrderReport) -> None: ...

    def on_fill(self, f: Fill) -> None: ...


async def main(url: str, price: float) -> None:
    gw = registry.get("bitmex").build(url=url, credentials={"api_key": "K", "secret": "S"})
    assert isinstance(gw, BitmexGateway)
    gw.bind(_Quiet())
    await gw.start()
    gw.submit_order(Order(client_order_id="dm-child", symbol="XBTUSD.BITMEX", side=Side.BUY,
                          qty=100, order_type=OrderType.LIMIT, price=price))  # fmt: skip
    await gw.drain()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # until SIGKILL: no stop, no disarm


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
