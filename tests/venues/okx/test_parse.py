"""OKX JSON → model, on the shared fixtures and the recorded instrument lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.model import InstrumentKind, Liquidity, OrderStatus, Side
from tradeloop.venues.okx import parse as P

pytestmark = pytest.mark.shared
TS = 123


def fx(shared: Path, name: str) -> Any:
    return json.loads((shared / "fixtures" / "okx" / name).read_text())


def test_instruments_spot_swap_futures(shared_data: Path) -> None:
    spot = P.parse_instruments(fx(shared_data, "http_get_instruments_spot.json")["data"])
    btc = spot["BTC-USD.OKX"]  # keyed by instrument id; the instId is the native symbol
    assert (btc.base, btc.quote, btc.kind) == ("BTC", "USD", InstrumentKind.SPOT)
    assert (btc.symbol, btc.native, btc.id.venue) == ("BTC-USD.OKX", "BTC-USD", "OKX")
    assert (btc.tick_size, btc.lot_size, btc.min_size, btc.contract_value) == (0.1, 1e-8, 1e-5, 1)
    assert btc.format_price(41000.123) == "41000.1" and btc.format_qty(0.123456789) == "0.12345678"
    assert btc.venue == "OKX"
    swap = P.parse_instruments(fx(shared_data, "http_get_instruments_swap.json")["data"])
    eth = swap["ETH-USDT-SWAP.OKX"]
    assert (eth.base, eth.quote, eth.settle, eth.kind) == (
        "ETH",
        "USDT",
        "USDT",
        InstrumentKind.SWAP,
    )
    assert eth.contract_value == 0.1 and not eth.inverse
    inv = swap["BTC-USD-SWAP.OKX"]  # inverse: contracts of ctVal USD, margin and PnL in BTC
    assert (inv.settle, inv.inverse, inv.native) == ("BTC", True, "BTC-USD-SWAP")
    fut = P.parse_instruments(fx(shared_data, "http_get_instruments_futures.json")["data"])
    assert all(i.kind is InstrumentKind.FUTURE for i in fut.values()) and fut
    assert P.parse_instruments(fx(shared_data, "http_get_instruments_option.json")["data"]) == {}


def test_recorded_instrument_lists_all_parse(shared_data: Path) -> None:
    n = 0
    for line in (shared_data / "captures" / "OKX.0").read_text().splitlines():
        if "instruments" not in line or ": " not in line:
            continue
        body = json.loads(line.split(": ", 1)[1])
        insts = P.parse_instruments(body["data"])
        n += len(insts)
        for inst in insts.values():
            assert inst.tick_size > 0 and inst.lot_size > 0 and inst.base and inst.quote
    assert n > 100


def test_trades_and_tickers(shared_data: Path) -> None:
    (t,) = [P.parse_trade(d, TS) for d in fx(shared_data, "ws_trades.json")["data"]]
    assert (t.symbol, t.price, t.qty, t.side, t.trade_id) == (
        "BTC-USD.OKX",
        42219.9,
        0.12060306,
        Side.BUY,
        "130639474",
    )
    rest = [P.parse_trade(d, TS) for d in fx(shared_data, "http_get_trades.json")["data"]]
    assert [r.side for r in rest] == [Side.SELL, Side.BUY]
    q = P.parse_ticker(fx(shared_data, "ws_tickers.json")["data"][0], TS)
    assert q.symbol.endswith(".OKX")
    assert (q.bid, q.bid_qty, q.ask, q.ask_qty) == (8888.88, 5.0, 9999.99, 11.0)
    bbo = fx(shared_data, "ws_bbo_tbt.json")
    q2 = P.parse_bbo(P.symbol_id(bbo["arg"]["instId"]), bbo["data"][0], TS)
    assert (q2.symbol, q2.bid, q2.bid_qty, q2.ask, q2.ask_qty) == (
        "BTC-USDT.OKX",
        8476.97,
        256.0,
        8476.98,
        415.0,
    )


def test_books_parse_only(shared_data: Path) -> None:
    snap = fx(shared_data, "ws_books_snapshot.json")
    ev = P.parse_book_levels("BTC-USDT", snap["data"][0], True, TS)
    assert ev.snapshot and ev.bids and ev.asks and ev.bids[0][0] < ev.asks[0][0]
    rest = fx(shared_data, "http_get_order_book.json")["data"][0]
    ev2 = P.parse_book_levels("BTC-USDT", rest, True, TS)
    assert ev2.bids[0] == (41006.7, 0.487921) and ev2.asks[0] == (41006.8, 0.60038921)


def test_candles_only_confirmed_and_sorted(shared_data: Path) -> None:
    rows = fx(shared_data, "http_get_candlesticks.json")["data"]
    assert P.parse_candles("BTC-USDT", rows, "1m") == []  # confirm == "0": in progress
    full = P.parse_candles(
        "BTC-USDT", fx(shared_data, "http_get_candlesticks_full.json")["data"], "1m"
    )
    assert [b.start for b in full] == [1747093980000 * 10**6, 1747094040000 * 10**6]
    b = full[0]
    assert b.ts == b.start + 60 * 10**9
    assert (b.open, b.high, b.low, b.close, b.volume) == (
        102806.0,
        102820.5,
        102783.1,
        102806.1,
        7164.04,
    )
    ws = fx(shared_data, "ws_candle.json")
    (wb,) = P.parse_candles("BTC-USDT", ws["data"], "1D")
    assert wb.ts - wb.start == 86400 * 10**9


def test_symbol_ids_round_trip() -> None:
    assert P.symbol_id("BTC-USDT") == "BTC-USDT.OKX"
    assert P.native("BTC-USDT.OKX") == "BTC-USDT"
    assert P.native("BTC-USDT") == "BTC-USDT"  # not an OKX id: left for the lookup to refuse


def test_bar_durations() -> None:
    assert P.bar_duration_ns("4H") == 4 * 3600 * 10**9
    assert P.bar_duration_ns("1Dutc") == 86400 * 10**9
    jan = 1704067200 * 10**9  # 2024-01-01
    assert P.bar_duration_ns("1M", jan) == 31 * 86400 * 10**9
    assert P.bar_duration_ns("3Mutc", jan) == (31 + 29 + 31) * 86400 * 10**9


def test_orders_channel_report_and_fill(shared_data: Path) -> None:
    d = fx(shared_data, "ws_orders.json")["data"][0]
    r = P.parse_order_report(d, TS)
    assert (r.client_order_id, r.venue_order_id, r.symbol, r.status) == (
        "001BTCUSDT20250106001",
        "2497956918703120384",
        "BTC-USDT-SWAP.OKX",
        OrderStatus.FILLED,
    )
    assert (r.filled_qty, r.avg_price) == (0.03, 103698.9)
    fill = P.parse_order_fill(d, TS)
    assert fill is not None
    assert fill.symbol == "BTC-USDT-SWAP.OKX"
    assert (fill.trade_id, fill.price, fill.qty, fill.side) == (
        "1518905529",
        103698.9,
        0.03,
        Side.BUY,
    )
    assert fill.fee == pytest.approx(0.021776769) and fill.fee_ccy == "USDT"
    assert fill.liquidity is Liquidity.MAKER
    with_fill_fee = dict(d, fillFee="-0.5", fillFeeCcy="USDT", execType="T")
    f2 = P.parse_order_fill(with_fill_fee, TS)
    assert f2 is not None and f2.fee == 0.5 and f2.liquidity is Liquidity.TAKER
    rebate = P.parse_order_fill(dict(d, fillFee="0.1"), TS)
    assert rebate is not None and rebate.fee == -0.1  # a rebate is a negative fee paid


@pytest.mark.parametrize(
    "name",
    [
        "ws_orders_ioc.json",
        "ws_orders_fok.json",
        "ws_orders_adl.json",
        "ws_orders_liquidation.json",
        "ws_orders_optimal_limit_ioc.json",
    ],
)
def test_order_variants_parse(shared_data: Path, name: str) -> None:
    for d in fx(shared_data, name)["data"]:
        r = P.parse_order_report(d, TS)
        assert r.status in OrderStatus and r.symbol


def test_rest_orders(shared_data: Path) -> None:
    (p,) = fx(shared_data, "http_get_orders_pending.json")["data"]
    r = P.parse_order_report(p, TS)
    assert (r.status, r.filled_qty, r.client_order_id) == (
        OrderStatus.ACCEPTED,
        0.0,
        "client-order-1",
    )
    assert P.parse_order_fill(p, TS) is None  # tradeId "0", fillSz "0": not a fill
    (h,) = fx(shared_data, "http_get_orders_history.json")["data"]
    assert P.parse_order_report(h, TS, client_order_id="mine").client_order_id == "mine"
    row = fx(shared_data, "http_transaction_detail.json")
    fr = P.parse_fill_row(row, TS)
    assert (fr.trade_id, fr.qty, fr.price, fr.liquidity) == (
        "123456789",
        0.001,
        42000.5,
        Liquidity.TAKER,
    )
    with pytest.raises(ValueError, match="unknown OKX order state"):
        P.order_status("weird")


def test_balances_and_positions(shared_data: Path) -> None:
    (bal,) = P.parse_balances(fx(shared_data, "http_get_account_balance.json")["data"], TS)
    assert (bal.asset, bal.venue) == ("USDT", "OKX")
    assert bal.total == pytest.approx(99.89469657000001) and bal.free == pytest.approx(
        94.42612990333333
    )
    ws = P.parse_balances(fx(shared_data, "ws_account.json")["data"], TS)
    assert {b.asset for b in ws} >= {"USDT"}
    (pos,) = P.parse_positions(fx(shared_data, "http_get_positions.json")["data"], TS)
    assert (pos.symbol, pos.qty, pos.avg_price) == ("BTC-USDT-SWAP.OKX", 0.5, 10000.0)
    short = P.parse_position({"instId": "X", "pos": "3", "posSide": "short", "avgPx": "1"}, TS)
    net = P.parse_position({"instId": "X", "pos": "-2", "posSide": "net", "avgPx": "1"}, TS)
    assert (short.qty, net.qty) == (-3.0, -2.0)
