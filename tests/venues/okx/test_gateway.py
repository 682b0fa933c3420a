"""OkxGateway emission rules without a network: fills de-duplicated by tradeId, reports never
move an order backwards, fills before their report, id mapping, order parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tradeloop.venues.okx.gateway import OkxGateway, default_ws_url, okx_bar, okx_client_id
from tradeloop.venues.okx.rest import is_valid_client_order_id


class Sink:
    def __init__(self) -> None:
        self.log: list[Any] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.log.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)


def push(
    state: str, acc: str, fill_sz: str = "0", trade_id: str = "", fee: str = "0", cid: str = "abc1"
) -> dict[str, Any]:
    return {
        "instId": "BTC-USDT",
        "clOrdId": cid,
        "ordId": "77",
        "side": "buy",
        "state": state,
        "accFillSz": acc,
        "avgPx": "100",
        "fillSz": fill_sz,
        "fillPx": "100",
        "tradeId": trade_id,
        "fillFee": "-" + fee if fee != "0" else "0",
        "fillFeeCcy": "USDT",
        "execType": "T",
        "fee": "0",
        "feeCcy": "USDT",
    }


def make() -> tuple[OkxGateway, Sink]:
    gw = OkxGateway("http://127.0.0.1:1")
    sink = Sink()
    gw.bind(sink)
    return gw, sink


def test_replayed_pushes_never_double_count() -> None:
    gw, sink = make()
    msgs = [
        push("live", "0"),
        push("partially_filled", "1", "1", "t1", "0.1"),
        push("partially_filled", "1", "1", "t1", "0.1"),  # replay after a reconnect
        push("live", "0"),  # stale
        push("filled", "3", "2", "t2", "0.2"),
        push("filled", "3", "2", "t2", "0.2"),
        push("canceled", "3"),
    ]
    for m in msgs:
        gw.on_orders([m])
    kinds = [(type(x).__name__, getattr(x, "status", None)) for x in sink.log]
    assert kinds == [
        ("OrderReport", OrderStatus.ACCEPTED),
        ("Fill", None),
        ("OrderReport", OrderStatus.PARTIALLY_FILLED),
        ("Fill", None),
        ("OrderReport", OrderStatus.FILLED),
    ]
    fills = [x for x in sink.log if isinstance(x, Fill)]
    assert [f.trade_id for f in fills] == ["t1", "t2"]
    assert {x.symbol for x in sink.log} == {"BTC-USDT.OKX"}  # ids, not instIds
    assert [f.fee for f in fills] == [0.1, 0.2]
    assert sum(f.qty for f in fills) == 3.0


@pytest.mark.shared
def test_fixture_push_with_cumulative_fee_only(shared_data: Path) -> None:
    gw, sink = make()
    d = json.loads((shared_data / "fixtures/okx/ws_orders.json").read_text())["data"][0]
    gw.on_orders([d, d])
    fill, report = sink.log
    assert isinstance(fill, Fill) and fill.fee == pytest.approx(0.021776769)
    assert isinstance(report, OrderReport) and report.status is OrderStatus.FILLED


def test_client_ids_and_order_params() -> None:
    assert okx_client_id("abc123") == "abc123"
    mapped = okx_client_id("strat-1/order_7")
    assert is_valid_client_order_id(mapped) and mapped == okx_client_id("strat-1/order_7")
    gw, _ = make()
    spot = Instrument.of("BTC-USDT", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=1e-8)
    swap = Instrument.of(
        "BTC-USDT-SWAP",
        "OKX",
        "BTC",
        "USDT",
        tick_size=0.1,
        lot_size=0.01,
        contract_value=0.01,
        kind=InstrumentKind.SWAP,
    )
    limit = Order(
        "a", "BTC-USDT.OKX", Side.SELL, 0.123456789, OrderType.LIMIT, 100.04, TimeInForce.POST_ONLY
    )
    p = gw.order_params(limit, spot, "a")
    assert p == {
        "inst_id": "BTC-USDT",  # the native instId on the wire
        "side": "sell",
        "td_mode": "cash",
        "cl_ord_id": "a",
        "ord_type": "post_only",
        "px": "100",
        "sz": "0.12345678",
    }
    qbuy = Order("b", "BTC-USDT.OKX", Side.BUY, 0.0, quote_qty=250.5)
    assert gw.order_params(qbuy, spot, "b")["tgt_ccy"] == "quote_ccy"
    assert gw.order_params(qbuy, spot, "b")["sz"] == "250.5"
    mkt = Order("c", "BTC-USDT.OKX", Side.BUY, 0.5)
    assert gw.order_params(mkt, spot, "c")["tgt_ccy"] == "base_ccy"
    red = Order(
        "d",
        "BTC-USDT-SWAP.OKX",
        Side.SELL,
        3.0,
        OrderType.LIMIT,
        50000.0,
        TimeInForce.IOC,
        reduce_only=True,
    )
    pd = gw.order_params(red, swap, "d")
    assert (pd["td_mode"], pd["ord_type"], pd["reduce_only"], pd["sz"]) == (
        "cross",
        "ioc",
        True,
        "3",
    )


def test_urls_and_bars() -> None:
    assert default_ws_url("http://127.0.0.1:8000", False) == "ws://127.0.0.1:8000/ws/v5"
    assert default_ws_url("https://www.okx.com", False) == "wss://ws.okx.com:8443/ws/v5"
    assert default_ws_url("https://www.okx.com", True) == "wss://wspap.okx.com:8443/ws/v5"
    assert [okx_bar(x) for x in ("1m", "1h", "4h", "1d", "1w", "1H")] == [
        "1m",
        "1H",
        "4H",
        "1Dutc",
        "1Wutc",
        "1H",
    ]
