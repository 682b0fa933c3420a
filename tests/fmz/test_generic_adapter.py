"""The generic adapter over the Gateway contract alone: a venue that supplies conventions but no
queries (here the in-process simulated venue) still serves depth, ticker, markets, accounts,
positions, trade, orders, order, cancel and history through the bridge, and says clearly what it
cannot serve."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tradeloop.core.clock import SimClock
from tradeloop.fmz.adapter import GatewayVenue
from tradeloop.fmz.conventions import Conventions
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import VenueSpec, register_venue
from tradeloop.model import BookLevels, Instrument, InstrumentKind
from tradeloop.venues.base import Gateway
from tradeloop.venues.sim.client import SimExecutionClient

from .conftest import call

SPOT = Instrument.of("BTC-USDT", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=1e-4)
SWAP = Instrument.of(
    "BTC-USDT-SWAP", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=1.0,
    contract_value=0.01, kind=InstrumentKind.SWAP,
)  # fmt: skip


class SimConventions(Conventions):
    """All a venue must write: FMZ symbol -> instrument id."""

    venue = "SIM"

    def instrument_id(self, symbol: FmzSymbol) -> str:
        suffix = "-SWAP" if symbol.is_swap else ""
        return self.symbol_id(f"{symbol.base}-{symbol.quote}{suffix}")


@dataclass
class SimRegistryEntry:
    """Stands in for ``venues.registry.VenueSpec``: one simulated venue behind every gateway
    the adapter builds (keyless and keyed see the same exchange)."""

    client: SimExecutionClient
    name: str = "SIM"

    def build(self, **_: Any) -> Gateway:
        return self.client


def _book(symbol: str, bid: float, ask: float) -> BookLevels:
    return BookLevels(1, symbol, [(bid, 5.0), (bid - 1, 5.0)], [(ask, 5.0), (ask + 1, 5.0)], True)


@pytest.fixture
async def sim() -> AsyncIterator[tuple[str, aiohttp.ClientSession, SimExecutionClient]]:
    client = SimExecutionClient([SPOT, SWAP], {"USDT": 10_000.0, "BTC": 1.0}, SimClock())
    client.exchange.on_book(_book(SPOT.symbol, 100.0, 101.0))
    client.exchange.on_book(_book(SWAP.symbol, 100.0, 100.5))
    entry = SimRegistryEntry(client)

    def factory(label: str, spec: VenueSpec) -> GatewayVenue:
        return GatewayVenue(label, spec, entry, SimConventions())  # type: ignore[arg-type]

    register_venue("SIMGEN", factory)
    bridge = FmzBridge(
        BridgeConfig(venues={"SIMGEN": VenueSpec("SIMGEN", "http://unused")}, request_timeout=3)
    )
    url = await bridge.start("127.0.0.1", 0) + "/SIMGEN"
    async with aiohttp.ClientSession() as http:
        try:
            yield url, http, client
        finally:
            await bridge.stop()


async def _data(http: aiohttp.ClientSession, url: str, method: str,
                params: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    r = await call(http, url, method, params)
    assert "error" not in r, (method, params, r)
    return r["data"]


async def test_market_data_from_the_gateway(sim: Any) -> None:
    url, http, _ = sim
    d = await call(http, url, "depth", {"symbol": "BTC_USDT", "limit": 1})
    assert (
        "raw" not in d
        and d["data"]["bids"] == [[100.0, 5.0]]
        and d["data"]["asks"] == [[101.0, 5.0]]
    )
    t = await _data(http, url, "ticker", {"symbol": "btc_usdt"})
    # no 24 h statistics in the contract: FMZ's rule (high/low = ask/bid, open = last)
    assert t["symbol"] == "BTC_USDT" and (t["buy"], t["sell"]) == ("100", "101")
    assert (t["high"], t["low"], t["last"], t["open"]) == ("101", "100", "100.5", "100.5")
    markets = await _data(http, url, "markets")
    assert set(markets) == {"BTC_USDT", "BTC_USDT.swap"}
    assert (
        markets["BTC_USDT.swap"]["ct_val"] == 0.01
        and markets["BTC_USDT.swap"]["ct_val_ccy"] == "BTC"
    )
    for method in ("trades", "records", "tickers", "fundings"):
        r = await call(http, url, method, {"symbol": "BTC_USDT"})
        assert "is not supported" in r["error"], (method, r)


async def test_orders_through_the_lifecycle(sim: Any) -> None:
    url, http, _ = sim
    acc = await _data(http, url, "accounts")
    assert {"currency": "USDT", "free": "10000", "frozen": "0"} in acc
    buy = {"symbol": "BTC_USDT", "type": "buy", "price": "99.04", "amount": "0.50001"}
    oid = (await _data(http, url, "trade", buy))["id"]  # rounded to tick 0.1 and lot 1e-4
    assert oid.startswith("BTC-USDT,")
    usdt = next(a for a in await _data(http, url, "accounts") if a["currency"] == "USDT")
    assert float(usdt["frozen"]) > 0  # the order's lock, as total - free
    (o,) = await _data(http, url, "orders", {"symbol": "BTC_USDT"})
    assert o == {"id": oid, "symbol": "BTC_USDT", "amount": 0.5, "price": 99.0,
                 "deal_amount": 0.0, "avg_price": 0.0, "status": "pending", "type": "buy",
                 "time": o["time"]}  # fmt: skip
    assert (await _data(http, url, "order", {"id": oid}))["status"] == "pending"
    assert await _data(http, url, "cancel", {"id": oid}) is True
    assert (await _data(http, url, "order", {"id": oid}))["status"] == "canceled"
    assert await _data(http, url, "orders") == []
    r = await call(http, url, "cancel", {"id": oid})
    assert "already canceled" in r["error"]
    # a market sell fills against the book; history = what the bridge placed since start
    sid = (await _data(http, url, "trade", {"symbol": "BTC_USDT", "type": "sell",
                                            "price": -1, "amount": "0.1"}))["id"]  # fmt: skip
    hist = await _data(http, url, "historyorders", {"symbol": "BTC_USDT"})
    assert [h["id"] for h in hist] == [oid, sid]
    assert hist[1]["status"] == "filled" and hist[1]["price"] == -1
    # refusals are the lifecycle's typed reasons
    r = await call(http, url, "trade", {"symbol": "BTC_USDT", "type": "buy", "price": "100",
                                        "amount": "1000"})  # fmt: skip
    assert "order rejected [insufficient_funds]" in r["error"]
    r = await call(http, url, "cancel", {"id": "BTC-USDT,nope"})
    assert "not found" in r["error"]


async def test_positions_from_the_contract(sim: Any) -> None:
    url, http, _ = sim
    assert await _data(http, url, "positions") == []
    await _data(http, url, "trade", {"symbol": "BTC_USDT.swap", "type": "buy", "price": -1,
                                     "amount": "3"})  # fmt: skip
    (p,) = await _data(http, url, "positions", {"symbol": "USDT.swap"})
    assert p["symbol"] == "BTC_USDT.swap" and p["amount"] == 3 and p["type"] == 0
    assert p["price"] == 100.5 and p["contract_type"] == "swap"
    r = await call(http, url, "setmarginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": 3})
    assert "is not supported" in r["error"]
    r = await call(http, url, "__api_/api/v1/x")
    assert "no API passthrough" in r["error"]
