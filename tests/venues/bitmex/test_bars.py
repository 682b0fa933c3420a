"""The gateway's ``bars:1m`` channel is BitMEX's own ``tradeBin1m`` table, over a real socket:
each closed minute arrives once as a ``Bar`` stamped with its close (BitMEX labels a bin by
its end), OHLCV equal to the venue's bin as REST lists it; the partial (a bin already closed
before the subscription) is not replayed as a new bar. The emulator's clock is driven with
``step(ts)``: minutes pass without sleeping."""

from __future__ import annotations

import time

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import Bar
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import XBTUSD, Sink, until

MINUTE = 60_000


async def test_bars_1m_are_the_venues_bins(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    await gateway.subscribe(XBTUSD, ("bars:1m",))
    t0 = (int(time.time() * 1000) // MINUTE + 1) * MINUTE
    for minute in range(3):
        for k in range(40):
            emu.step(t0 + minute * MINUTE + 100 + k * 1400)
    emu.step(t0 + 3 * MINUTE + 100)  # the third minute closes

    def bars() -> list[Bar]:
        return [e for e in sink.data if isinstance(e, Bar) and e.ts > t0 * 1_000_000]

    await until(lambda: len(bars()) >= 3, "three closed minutes")
    got = bars()
    every = [e for e in sink.data if isinstance(e, Bar)]
    assert all(b.ts >= t0 * 1_000_000 for b in every), "the partial's closed bin replayed"
    assert [b.ts // 1_000_000 for b in got] == [t0 + MINUTE * i for i in (1, 2, 3)]
    assert all(b.symbol == XBTUSD and b.ts - b.start == MINUTE * 1_000_000 for b in got)
    rows = await gateway.rest.request("GET", "/api/v1/trade/bucketed",
                                      {"binSize": "1m", "symbol": "XBTUSD", "partial": "true",
                                       "startTime": _iso(t0 + MINUTE),
                                       "endTime": _iso(t0 + 3 * MINUTE)}, None, False)  # fmt: skip
    venue = {r["timestamp"]: r for r in rows}
    for b in got:
        matches = [r for ts, r in venue.items() if _ms(ts) == b.ts // 1_000_000]
        assert len(matches) == 1, (b, list(venue), t0)
        (row,) = matches
        assert (b.open, b.high, b.low, b.close, b.volume) == pytest.approx(
            (row["open"], row["high"], row["low"], row["close"], row["volume"])
        )
    await gateway.unsubscribe(XBTUSD, ("bars:1m",))


def _iso(ms: int) -> str:
    from tradeloop.venues.bitmex.parse import iso

    return iso(ms)


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
