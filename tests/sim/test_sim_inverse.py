"""Inverse contracts in the simulator (BitMEX XBTUSD style): contracts worth 1 USD each, margin,
fees, PnL and funding in BTC. Checked against the arithmetic written out by hand."""

from __future__ import annotations

import pytest

from tradeloop.model import Instrument, InstrumentKind, OrderStatus, Side

from .helpers import bar, make, market

XBT = Instrument.of(
    "XBTUSD", "BITMEX", "BTC", "USD", tick_size=0.5, lot_size=1.0, contract_value=1.0,
    kind=InstrumentKind.SWAP, inverse=True, maker_fee=-0.00025, taker_fee=0.00075,
)  # fmt: skip


def test_inverse_round_trip_books_margin_fees_and_pnl_in_btc() -> None:
    ex, rec = make({"BTC": 1.0}, instruments=(XBT,), leverage=10.0)
    ex.on_bar(bar(0, 50_000, 50_000, 50_000, 50_000, symbol=XBT.symbol))
    ex.submit(market("b1", Side.BUY, 10_000, symbol=XBT.symbol), bar(0, 0, 0, 0, 0).ts)
    ex.on_bar(bar(1, 50_000, 50_000, 50_000, 50_000, symbol=XBT.symbol))
    (buy,) = rec.fills("b1")
    assert buy.fee_ccy == "BTC"
    assert buy.fee == pytest.approx(10_000 / 50_000 * 0.00075)  # 0.00015 BTC
    pos = ex.positions()[XBT.symbol]
    assert (pos.qty, pos.avg_price, pos.inverse) == (10_000, 50_000, True)
    btc = ex.balances()["BTC"]
    assert btc.total == pytest.approx(1.0 - 0.00015)
    assert btc.locked == pytest.approx(10_000 / 50_000 / 10.0)  # margin: 0.02 BTC at 10x

    ex.submit(market("s1", Side.SELL, 10_000, symbol=XBT.symbol), bar(1, 0, 0, 0, 0).ts)
    ex.on_bar(bar(2, 55_000, 55_000, 55_000, 55_000, symbol=XBT.symbol))
    assert rec.last("s1").status is OrderStatus.FILLED
    pnl = 10_000 * (1 / 50_000 - 1 / 55_000)  # 0.0181818... BTC
    sell_fee = 10_000 / 55_000 * 0.00075
    btc = ex.balances()["BTC"]
    assert btc.total == pytest.approx(1.0 - 0.00015 + pnl - sell_fee, rel=1e-12)
    assert btc.locked == pytest.approx(0.0, abs=1e-12)


def test_inverse_margin_check_is_in_btc() -> None:
    ex, rec = make({"BTC": 0.01}, instruments=(XBT,), leverage=1.0)
    ex.on_bar(bar(0, 50_000, 50_000, 50_000, 50_000, symbol=XBT.symbol))
    # 1,000 contracts need 0.02 BTC at 1x: more than the wallet
    ex.submit(market("big", Side.BUY, 1_000, symbol=XBT.symbol), bar(0, 0, 0, 0, 0).ts)
    ex.on_bar(bar(1, 50_000, 50_000, 50_000, 50_000, symbol=XBT.symbol))
    filled = sum(f.qty for f in rec.fills("big"))
    assert filled <= 0.01 * 50_000 / (1 + 0.00075 * 1) + 1
    assert ex.balances()["BTC"].total >= 0


def test_inverse_funding_is_paid_in_btc() -> None:
    ex, _ = make({"BTC": 1.0}, instruments=(XBT,), leverage=10.0)
    ex.on_bar(bar(0, 40_000, 40_000, 40_000, 40_000, symbol=XBT.symbol))
    ex.submit(market("b1", Side.BUY, 4_000, symbol=XBT.symbol), bar(0, 0, 0, 0, 0).ts)
    ex.on_bar(bar(1, 40_000, 40_000, 40_000, 40_000, symbol=XBT.symbol))
    before = ex.balances()["BTC"].total
    paid = ex.apply_funding(XBT.symbol, 0.0001, 40_000.0, bar(2, 0, 0, 0, 0).ts)
    assert paid == pytest.approx(4_000 / 40_000 * 0.0001)
    assert ex.balances()["BTC"].total == pytest.approx(before - paid)
