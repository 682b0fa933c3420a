"""OKX algo orders on the wire: the request fields each trigger kind becomes, and how pushes
shaped as OKX sends them map back to our orders.

The emulator gives a fired algo's child the algoId as its ordId; OKX gives it a fresh one and
may name the algo by ``algoId`` only. These pushes (no sockets: the gateway's push handlers are
called with OKX-shaped JSON) check the mapping does not rely on either id standing for the other.
"""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.core.errors import VenueError
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    Side,
)
from tradeloop.model import OrderType as T
from tradeloop.model.enums import TriggerKind as K
from tradeloop.model.order import Trigger
from tradeloop.venues.execution import OrderTrack
from tradeloop.venues.okx.algo import (
    AlgoState,
    algo_params,
    attach_params,
    lookup_types,
    parse_algo_report,
)
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.orders import okx_client_id

SWAP = Instrument.of("BTC-USDT-SWAP", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=1.0,
                     min_size=1.0, contract_value=0.01, kind=InstrumentKind.SWAP)  # fmt: skip
SPOT = Instrument.of("BTC-USDT", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=1e-8)
S = OrderStatus


def order(trigger: Trigger, side: Side = Side.SELL, kind: T = T.MARKET, px: float = 0.0) -> Order:
    return Order("c1", SWAP.symbol, side, 3.0, kind, px, reduce_only=True, trigger=trigger)


@pytest.mark.parametrize(
    ("trigger", "kind", "px", "want"),
    [
        (Trigger(K.STOP, 95.04), T.MARKET, 0.0,
         {"ordType": "conditional", "slTriggerPx": "95", "slOrdPx": "-1"}),
        (Trigger(K.STOP, 95.0), T.LIMIT, 94.5,
         {"ordType": "conditional", "slTriggerPx": "95", "slOrdPx": "94.5"}),
        (Trigger(K.TAKE_PROFIT, 105.0), T.MARKET, 0.0,
         {"ordType": "conditional", "tpTriggerPx": "105", "tpOrdPx": "-1"}),
        (Trigger(K.OCO, 95.0, tp_price=105.0), T.MARKET, 0.0,
         {"ordType": "oco", "slTriggerPx": "95", "slOrdPx": "-1", "tpTriggerPx": "105",
          "tpOrdPx": "-1"}),
        (Trigger(K.OCO, 95.0, tp_price=105.0, tp_limit=104.9), T.LIMIT, 94.0,
         {"ordType": "oco", "slTriggerPx": "95", "slOrdPx": "94", "tpTriggerPx": "105",
          "tpOrdPx": "104.9"}),
        (Trigger(K.TRAILING, callback_rate=0.025), T.MARKET, 0.0,
         {"ordType": "move_order_stop", "callbackRatio": "0.025"}),
        (Trigger(K.TRAILING, 101.0, callback_amount=1.5), T.MARKET, 0.0,
         {"ordType": "move_order_stop", "callbackSpread": "1.5", "activePx": "101"}),
    ],
)  # fmt: skip
def test_each_trigger_kind_becomes_an_order_algo_body(
    trigger: Trigger, kind: T, px: float, want: dict[str, str]
) -> None:
    body = algo_params(order(trigger, kind=kind, px=px), SWAP, "okxid1", "cross")
    common = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "sell", "sz": "3",
              "algoClOrdId": "okxid1", "reduceOnly": True}  # fmt: skip
    assert body == {**common, **want}


def test_a_spot_stop_buy_is_sized_in_base_and_never_reduce_only() -> None:
    o = Order("c2", SPOT.symbol, Side.BUY, 0.5, trigger=Trigger(K.STOP, 110.0), reduce_only=True)
    body = algo_params(o, SPOT, "c2", "cash")
    assert body["tgtCcy"] == "base_ccy" and "reduceOnly" not in body and body["sz"] == "0.5"


def test_bracket_legs_go_in_attach_algo_ords_and_a_trailing_leg_is_refused() -> None:
    child = order(Trigger(K.OCO, 95.0, tp_price=105.0))
    assert attach_params(child, SWAP, "prot1") == {
        "attachAlgoClOrdId": "prot1", "slTriggerPx": "95", "slOrdPx": "-1",
        "tpTriggerPx": "105", "tpOrdPx": "-1",
    }  # fmt: skip
    with pytest.raises(Exception, match="attaches only stop-loss / take-profit"):
        attach_params(order(Trigger(K.TRAILING, callback_rate=0.02)), SWAP, "prot2")
    assert lookup_types(Trigger(K.TRAILING, callback_rate=0.1)) == ("move_order_stop",)


@pytest.mark.parametrize(
    ("state", "status", "reason"),
    [
        ("live", S.ACCEPTED, ""),
        ("pause", S.ACCEPTED, ""),
        ("effective", S.ACCEPTED, "triggered (sl at 94.9)"),
        ("partially_effective", S.ACCEPTED, "triggered (sl at 94.9)"),
        ("canceled", S.CANCELED, ""),
        ("order_failed", S.CANCELED, "triggered, not placed: OKX order_failed 51008"),
        ("partially_failed", S.CANCELED, "triggered, not placed: OKX partially_failed 51008"),
    ],
)
def test_algo_states_map_to_reports(state: str, status: OrderStatus, reason: str) -> None:
    row = {"instId": "BTC-USDT-SWAP", "algoId": "A7", "ordId": "", "state": state,
           "actualSide": "sl", "actualPx": "94.9", "failCode": "51008"}  # fmt: skip
    r = parse_algo_report(row, 5, "mine")
    assert (r.client_order_id, r.symbol, r.status, r.reason) == (
        "mine", SWAP.symbol, status, reason,
    )  # fmt: skip
    assert r.venue_order_id == "A7" and r.filled_qty == 0.0
    with pytest.raises(ValueError, match="unknown OKX algo order state"):
        parse_algo_report({**row, "state": "exploded"}, 5, "mine")


class Sink:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.events.append(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.events.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.events.append(fill)


CID = "strategy/stop#1"  # not an OKX clOrdId: goes out under its stable hash


@pytest.fixture
def gw() -> tuple[OkxGateway, Sink, str]:
    """A gateway (never started: nothing is sent) tracking one placed stop of ours."""
    g = OkxGateway("http://127.0.0.1:9", "k", "s", "p")
    sink = Sink()
    g.bind(sink)
    vcid = okx_client_id(CID)
    assert vcid != CID
    g.algo_book.add(AlgoState(vcid, "BTC-USDT-SWAP"))
    g.orders.tracker.add(OrderTrack(CID, vcid, SWAP.symbol, Side.SELL, status=S.ACCEPTED))
    return g, sink, vcid


def child_push(**over: str) -> dict[str, str]:
    row = {"instId": "BTC-USDT-SWAP", "ordId": "C555", "clOrdId": "", "algoId": "A777",
           "algoClOrdId": "", "side": "sell", "ordType": "market", "state": "filled",
           "sz": "3", "accFillSz": "3", "avgPx": "94.8", "fillSz": "3", "fillPx": "94.8",
           "tradeId": "T1", "fillFee": "-0.14", "fillFeeCcy": "USDT", "fee": "-0.14",
           "execType": "T"}  # fmt: skip
    return {**row, **over}


def test_a_child_named_only_by_algo_id_is_the_stops_own(gw: tuple[OkxGateway, Sink, str]) -> None:
    g, sink, vcid = gw
    live = {"instId": "BTC-USDT-SWAP", "algoId": "A777", "algoClOrdId": vcid, "side": "sell",
            "state": "live", "ordId": ""}  # fmt: skip
    g.on_algo_orders([live])
    assert sink.events == []  # already ACCEPTED: nothing new
    g.on_algo_orders([{**live, "state": "effective", "ordId": "C555", "actualSide": "sl"}])
    st = g.algo_book.get(vcid)
    assert st is not None and (st.algo_id, st.ord_id) == ("A777", "C555")

    g.on_orders([child_push()])  # OKX's child: a fresh ordId, no clOrdId, the algo by algoId
    g.on_orders([child_push()])  # a repeated push (a reconnect replays nothing, but REST does)
    fills = [e for e in sink.events if isinstance(e, Fill)]
    reports = [e for e in sink.events if isinstance(e, OrderReport)]
    assert [(f.client_order_id, f.venue_order_id, f.qty, f.price, f.fee) for f in fills] == [
        (CID, "C555", 3.0, 94.8, 0.14)
    ]
    assert [(r.client_order_id, r.status, r.venue_order_id) for r in reports] == [
        (CID, S.FILLED, "C555")
    ]
    assert g.algo_book.get(vcid) is None  # finished: forgotten
    assert len(g.orders.tracker) == 1  # no stray order adopted under C555 or A777


def test_order_failed_ends_the_stop_and_bad_pushes_lose_nothing(
    gw: tuple[OkxGateway, Sink, str], caplog: pytest.LogCaptureFixture
) -> None:
    g, sink, vcid = gw
    row = {"instId": "BTC-USDT-SWAP", "algoId": "A777", "algoClOrdId": vcid, "side": "sell",
           "state": "order_failed", "failCode": "51008"}  # fmt: skip
    g.on_algo_orders([{"algoId": "A777", "state": "live"}, {**row, "state": "?"}, row])
    assert [(r.status, r.reason) for r in sink.events] == [
        (S.CANCELED, "triggered, not placed: OKX order_failed 51008")
    ]
    bad = [r.getMessage() for r in caplog.records if "bad orders-algo item" in r.getMessage()]
    assert len(bad) == 2 and all("\n" not in m for m in bad)


def test_an_entry_that_ends_unfilled_ends_its_attachment_quietly() -> None:
    g = OkxGateway("http://127.0.0.1:9", "k", "s", "p")
    sink = Sink()
    g.bind(sink)
    g.algo_book.add(AlgoState("prot9", "BTC-USDT-SWAP", entry="entry9"))
    g.orders.tracker.add(OrderTrack("prot9", "prot9", SWAP.symbol, Side.SELL))
    g.orders.tracker.add(OrderTrack("entry9", "entry9", SWAP.symbol, Side.BUY))
    entry = g.orders.tracker.get("entry9")
    assert entry is not None
    g.orders.report(entry, OrderReport(1, "entry9", "E1", SWAP.symbol, S.CANCELED))
    prot = g.orders.tracker.get("prot9")
    assert prot is None or prot.status is S.CANCELED
    assert [r.client_order_id for r in sink.events] == ["entry9"]  # the OMS ends prot9 itself
    assert g.algo_book.get("prot9") is None and len(g.algo_book) == 0


@pytest.mark.parametrize(
    ("rate", "want"),
    [(0.1 + 0.2, "0.3"), (1e-7, "0.0000001"), (0.025, "0.025"), (0.99999999999, "1"),
     (0.000000015, "0.00000002")],
)  # fmt: skip
def test_a_callback_ratio_goes_out_rounded_without_float_artefacts(rate: float, want: str) -> None:
    body = algo_params(order(Trigger(K.TRAILING, callback_rate=rate)), SWAP, "t1", "cross")
    assert body["callbackRatio"] == want


def test_a_callback_that_rounds_to_nothing_is_refused_not_sent_as_zero() -> None:
    with pytest.raises(VenueError, match="callback ratio 1e-09 rounds to 0"):
        algo_params(order(Trigger(K.TRAILING, callback_rate=1e-9)), SWAP, "t2", "cross")
    with pytest.raises(VenueError, match=r"callback amount 0\.04 is below the tick"):
        algo_params(order(Trigger(K.TRAILING, callback_amount=0.04)), SWAP, "t3", "cross")
    with pytest.raises(VenueError, match="trigger price 1e-07 is below the tick"):
        algo_params(order(Trigger(K.STOP, 1e-7)), SWAP, "t5", "cross")
    with pytest.raises(VenueError, match=r"limit price 0\.01 is below the tick"):
        algo_params(order(Trigger(K.STOP, 95.0), kind=T.LIMIT, px=0.01), SWAP, "t6", "cross")
    with pytest.raises(VenueError, match=r"take-profit trigger 0\.02 is below the tick"):
        algo_params(order(Trigger(K.OCO, 0.3, tp_price=0.02)), SWAP, "t7", "cross")
    oco = algo_params(order(Trigger(K.OCO, 0.1 + 0.2, tp_price=1e9 + 0.7)), SWAP, "t8", "x")
    assert (oco["slTriggerPx"], oco["tpTriggerPx"]) == ("0.3", "1000000000.7")
    big = algo_params(order(Trigger(K.TRAILING, 1e9 + 0.3, callback_amount=0.1 + 0.2)), SWAP,
                      "t4", "cross")  # fmt: skip
    assert (big["callbackSpread"], big["activePx"]) == ("0.3", "1000000000.3")
