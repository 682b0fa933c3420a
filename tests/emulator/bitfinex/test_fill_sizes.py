"""A market order that sweeps several levels: the ``tu`` amounts, as the text on the wire, add
up to the order's amount exactly (the last piece of a sweep is a float remainder a hair
under its lot; flooring it lost 1e-8 and left an EXECUTED order one lot short in fills)."""

from __future__ import annotations

from decimal import Decimal

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import Ws, authed, collect, loads_text, place

PERP = "tBTCF0:USTF0"


async def test_sweep_fill_sizes_sum_to_the_order(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    note = await place(wsc, {"type": "MARKET", "symbol": PERP, "amount": "0.5"})
    assert note[6] == "SUCCESS"
    await collect(wsc, lambda m: m[1] in ("pn", "pu"))
    tus = [loads_text(t) for t in wsc.seen if '"tu"' in t]
    assert len(tus) > 1  # it swept more than one level
    assert sum(Decimal(m[2][4]) for m in tus) == Decimal("0.5")
