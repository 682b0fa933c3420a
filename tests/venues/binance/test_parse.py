"""Binance JSON -> model events, field by field, for every order and fill shape the connector
reads (spot REST order, executionReport, myTrades; USD-M order, ORDER_TRADE_UPDATE,
userTrades) and the exchangeInfo rows of both hosts. Pure functions, no sockets: these pin what
the gateway suites only touch in passing (average prices, maker flags, reasons, filters)."""

from __future__ import annotations

from tradeloop.model import InstrumentKind, Liquidity, OrderStatus, Side
from tradeloop.venues.binance import futures as F
from tradeloop.venues.binance import parse as P

NOW = 1_700_000_000_000_000_000


def test_spot_order_and_execution_reports() -> None:
    d = {"orderId": 42, "symbol": "BTCUSDT", "status": "PARTIALLY_FILLED",
         "executedQty": "0.5", "cummulativeQuoteQty": "15000"}  # fmt: skip
    r = P.parse_order(d, NOW, "tl-1")
    assert (r.ts, r.client_order_id, r.venue_order_id, r.symbol) == (
        NOW,
        "tl-1",
        "42",
        "BTCUSDT.BINANCE",
    )
    assert (r.status, r.filled_qty, r.avg_price, r.reason) == (
        OrderStatus.PARTIALLY_FILLED,
        0.5,
        30000.0,
        "",
    )
    unfilled = P.parse_order({"orderId": 1, "symbol": "X", "status": "ODD"}, NOW, "c")
    assert (unfilled.status, unfilled.avg_price) == (OrderStatus.ACCEPTED, 0.0)
    ev = {"i": 7, "s": "ETHUSDT", "X": "REJECTED", "z": "2", "Z": "5000", "r": "INSUFFICIENT"}
    e = P.report_from_execution(ev, NOW, "tl-2")
    assert (e.venue_order_id, e.symbol, e.status, e.filled_qty, e.avg_price, e.reason) == (
        "7",
        "ETHUSDT.BINANCE",
        OrderStatus.REJECTED,
        2.0,
        2500.0,
        "INSUFFICIENT",
    )
    assert P.report_from_execution({**ev, "r": "NONE"}, NOW, "c").reason == ""


def test_futures_order_reports() -> None:
    d = {"orderId": 8_000_000_001, "symbol": "BTCUSDT", "status": "FILLED",
         "executedQty": "0.01", "avgPrice": "50000.5"}  # fmt: skip
    r = F.parse_order(d, NOW, "tl-3")
    assert (r.venue_order_id, r.symbol, r.status, r.filled_qty, r.avg_price, r.reason) == (
        "8000000001",
        "BTCUSDT-PERP.BINANCE",
        OrderStatus.FILLED,
        0.01,
        50000.5,
        "",
    )
    o = {"i": 9, "s": "BTCUSDT", "X": "CANCELED", "z": "0", "ap": "0"}
    u = F.report_from_update(o, NOW, "tl-4")
    assert (u.venue_order_id, u.symbol, u.status, u.filled_qty, u.avg_price) == (
        "9",
        "BTCUSDT-PERP.BINANCE",
        OrderStatus.CANCELED,
        0.0,
        0.0,
    )


def test_push_fills_spot_and_futures() -> None:
    ev = {"x": "TRADE", "i": 5, "t": 77, "s": "BTCUSDT", "S": "SELL", "L": "30000", "l": "0.1",
          "n": "3", "N": "USDT", "m": True}  # fmt: skip
    fill = P.fill_from_execution(ev, NOW, "tl-5")
    assert fill is not None
    assert (fill.ts, fill.client_order_id, fill.venue_order_id, fill.trade_id, fill.symbol) == (
        NOW,
        "tl-5",
        "5",
        "77",
        "BTCUSDT.BINANCE",
    )
    assert (fill.side, fill.price, fill.qty, fill.fee, fill.fee_ccy, fill.liquidity) == (
        Side.SELL,
        30000.0,
        0.1,
        3.0,
        "USDT",
        Liquidity.MAKER,
    )
    assert P.fill_from_execution({**ev, "x": "NEW"}, NOW, "c") is None
    perp = F.fill_from_update({**ev, "S": "BUY", "m": False, "N": None}, NOW, "tl-6")
    assert perp is not None
    assert (perp.symbol, perp.side, perp.liquidity, perp.fee_ccy) == (
        "BTCUSDT-PERP.BINANCE",
        Side.BUY,
        Liquidity.TAKER,
        "",
    )
    assert F.fill_from_update({**ev, "x": "CANCELED"}, NOW, "c") is None


def test_trade_rows_spot_and_futures() -> None:
    row = {"time": 1_700_000_000_123, "orderId": 11, "id": 99, "symbol": "BTCUSDT",
           "price": "30000.1", "qty": "0.2", "commission": "0.0002",
           "commissionAsset": "BTC"}  # fmt: skip
    spot = P.fill_from_trade({**row, "isBuyer": True, "isMaker": True}, "tl-7")
    assert (spot.ts, spot.client_order_id, spot.venue_order_id, spot.trade_id, spot.symbol) == (
        1_700_000_000_123_000_000,
        "tl-7",
        "11",
        "99",
        "BTCUSDT.BINANCE",
    )
    assert (spot.side, spot.price, spot.qty, spot.fee, spot.fee_ccy, spot.liquidity) == (
        Side.BUY,
        30000.1,
        0.2,
        0.0002,
        "BTC",
        Liquidity.MAKER,
    )
    sold = P.fill_from_trade({**row, "isBuyer": False, "isMaker": False}, "c")
    assert (sold.side, sold.liquidity) == (Side.SELL, Liquidity.TAKER)
    perp = F.fill_from_trade({**row, "side": "SELL", "maker": True}, "tl-8")
    assert (perp.symbol, perp.side, perp.liquidity, perp.fee) == (
        "BTCUSDT-PERP.BINANCE",
        Side.SELL,
        Liquidity.MAKER,
        0.0002,
    )
    bought = F.fill_from_trade({**row, "side": "BUY", "maker": False}, "c")
    assert (bought.side, bought.liquidity) == (Side.BUY, Liquidity.TAKER)


def test_instruments_from_both_hosts() -> None:
    filters = [{"filterType": "PRICE_FILTER", "tickSize": "0.01"},
               {"filterType": "LOT_SIZE", "stepSize": "0.00001", "minQty": "0.0001"}]  # fmt: skip
    row = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": filters}  # fmt: skip
    spot = P.parse_instruments({"symbols": [row, {**row, "symbol": "X", "status": "BREAK"}]})
    (inst,) = spot.values()
    assert (inst.symbol, inst.native, inst.base, inst.quote, inst.kind, inst.settle) == (
        "BTCUSDT.BINANCE",
        "BTCUSDT",
        "BTC",
        "USDT",
        InstrumentKind.SPOT,
        "USDT",
    )
    assert (inst.tick_size, inst.lot_size, inst.min_size) == (0.01, 0.00001, 0.0001)
    assert (inst.maker_fee, inst.taker_fee, inst.venue) == (0.001, 0.001, "BINANCE")
    perps = F.parse_instruments({"symbols": [
        {**row, "contractType": "PERPETUAL", "marginAsset": "USDT", "filters": []},
        {**row, "symbol": "BTCUSDT_250328", "contractType": "CURRENT_QUARTER"},
    ]})  # fmt: skip
    (perp,) = perps.values()
    assert (perp.symbol, perp.native, perp.kind, perp.settle) == (
        "BTCUSDT-PERP.BINANCE",
        "BTCUSDT-PERP",
        InstrumentKind.SWAP,
        "USDT",
    )
    assert (perp.tick_size, perp.lot_size, perp.min_size) == (1e-8, 1e-8, 0.0)
    assert (perp.maker_fee, perp.taker_fee) == (F.MAKER_FEE, F.TAKER_FEE)
