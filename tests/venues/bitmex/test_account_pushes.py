"""BitMEX's authenticated ``position`` and ``margin`` tables as the engine sees them, over a
real socket: pushes become ``PositionUpdate`` (contracts) and ``BalanceUpdate`` (BTC from
XBt) that agree with the REST views; and because BitMEX's ``update`` rows carry only the
table's keys and the fields that changed, each is merged into its row -- an update with just
``currentQty`` keeps the entry price and currency, one with just ``walletBalance`` keeps the
available margin."""

from __future__ import annotations

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import BalanceUpdate, OrderStatus, PositionUpdate
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import XBTUSD, Sink, until
from .test_e2e import order


def _positions(sink: Sink) -> list[PositionUpdate]:
    return [e for e in sink.data if isinstance(e, PositionUpdate) and e.symbol == XBTUSD]


def _btc(sink: Sink) -> list[BalanceUpdate]:
    return [e for e in sink.data if isinstance(e, BalanceUpdate) and e.asset == "BTC"]


async def test_pushes_agree_with_rest(gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator) -> None:
    gateway, sink = gw
    gateway.submit_order(order("p1", 300))
    await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports), "filled")
    await until(lambda: any(p.qty == 300 for p in _positions(sink)), "the position push")
    await gateway.drain()
    (rest_pos,) = [p for p in await gateway.fetch_positions() if p.symbol == XBTUSD]
    pushed = [p for p in _positions(sink) if p.qty == 300][-1]
    assert pushed.avg_price == pytest.approx(rest_pos.avg_price) and pushed.avg_price > 0
    (rest_btc,) = [b for b in await gateway.fetch_balances() if b.asset == "BTC"]
    await until(lambda: _btc(sink) and _btc(sink)[-1].total == rest_btc.total, "margin push")
    assert _btc(sink)[-1].venue == "BITMEX"


async def test_update_rows_merge_into_their_row(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    gateway.submit_order(order("p2", 200))
    await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports), "filled")
    await gateway.drain()
    (pos_row,) = [d for d in await gateway.rest.positions() if d["symbol"] == "XBTUSD"]
    (margin_row,) = [d for d in await gateway.rest.margins() if d["currency"] == "XBt"]
    account = pos_row["account"]
    sink.data.clear()
    gateway.on_private("position", "partial", [dict(pos_row)])
    gateway.on_private("position", "update",
                       [{"account": account, "symbol": "XBTUSD", "currentQty": 500}])  # fmt: skip
    last = _positions(sink)[-1]
    assert last.qty == 500 and last.avg_price == pytest.approx(float(pos_row["avgEntryPrice"]))
    gateway.on_private("margin", "partial", [dict(margin_row)])
    wallet_only = {"account": account, "currency": "XBt", "walletBalance": 123_456_789}
    gateway.on_private("margin", "update", [wallet_only])
    bal = _btc(sink)[-1]
    assert bal.total == pytest.approx(1.23456789)
    assert bal.free == pytest.approx(margin_row["availableMargin"] / 1e8)
    # a deleted row is forgotten: a later update starts from nothing
    gateway.on_private("position", "delete", [{"account": account, "symbol": "XBTUSD"}])
    gateway.on_private("position", "update",
                       [{"account": account, "symbol": "XBTUSD", "currentQty": 7}])  # fmt: skip
    assert _positions(sink)[-1].qty == 7 and _positions(sink)[-1].avg_price == 0.0
