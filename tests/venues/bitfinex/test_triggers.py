"""The engine's trigger orders through the Bitfinex connector to the emulator over real
sockets: stop, stop-limit, trailing stop and OCO go out as Bitfinex's types and come back as
one engine order (an OCO's two venue orders included: the leg that did not trade is never
news); what Bitfinex cannot express is refused before anything is sent; leverage rides on
each perpetual order as ``lev``."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.core.errors import VenueError
from tradeloop.emulator.feed import now_ms
from tradeloop.model import NS_PER_MS, Order, OrderStatus, OrderType, Side, TradeTick
from tradeloop.model.enums import TimeInForce, TriggerKind
from tradeloop.model.order import Trigger
from tradeloop.venues.bitfinex.gateway import BitfinexGateway

from .conftest import PERP, SPOT, Sink, until

S = OrderStatus
K = TriggerKind
GW = tuple[BitfinexGateway, Sink]
NATIVE = "tBTCUSD"


def px(emu: Any, factor: float) -> float:
    inst = emu.instruments[NATIVE]
    return float(inst.format_price(emu.driver.markets[NATIVE].mid() * factor))


def tape(emu: Any, price: float, qty: float = 0.001, side: Side = Side.SELL) -> None:
    """A public trade on the emulator's tape: the last price its triggers watch."""
    emu.trading.account.sim.on_trade(TradeTick(now_ms() * NS_PER_MS, NATIVE, price, qty, side))


def venue_rows(emu: Any) -> list[list[Any]]:
    return emu.trading.open_orders()


def in_order(sink: Sink, cid: str) -> None:
    """Every fill before the first report counting it; the fills add up to the report."""
    fills = sink.fills(cid)
    last = sink.reports(cid)[-1]
    assert abs(sum(f.qty for f in fills) - last.filled_qty) < 1e-12
    first_filled = next(i for i, e in enumerate(sink.log) if e is last)
    assert all(sink.log.index(f) < first_filled for f in fills)


async def test_stop_goes_out_as_exchange_stop_and_fills_on_the_trigger(gw: GW, emu: Any) -> None:
    g, sink = gw
    stop = px(emu, 0.95)
    g.submit_order(Order("stop-1", SPOT, Side.SELL, 0.01, OrderType.MARKET,
                         trigger=Trigger(K.STOP, stop)))  # fmt: skip
    await until(lambda: S.ACCEPTED in sink.statuses("stop-1"), "the stop to be working")
    (row,) = venue_rows(emu)
    assert (row[8], float(bytes(row[16]))) == ("EXCHANGE STOP", stop)
    tape(emu, px(emu, 0.97))
    assert sink.statuses("stop-1") == [S.ACCEPTED]
    tape(emu, px(emu, 0.94))
    await until(lambda: S.FILLED in sink.statuses("stop-1"), "the stop to fill")
    assert sink.statuses("stop-1") == [S.ACCEPTED, S.FILLED]
    in_order(sink, "stop-1")


async def test_stop_limit_and_trailing_fields(gw: GW, emu: Any) -> None:
    g, sink = gw
    stop, limit, dist = px(emu, 0.95), px(emu, 0.94), px(emu, 0.02)
    g.submit_order(Order("sl-1", SPOT, Side.SELL, 0.01, OrderType.LIMIT, limit,
                         trigger=Trigger(K.STOP, stop)))  # fmt: skip
    g.submit_order(Order("tr-1", SPOT, Side.SELL, 0.01, OrderType.MARKET,
                         trigger=Trigger(K.TRAILING, callback_amount=dist)))  # fmt: skip
    await until(lambda: len(venue_rows(emu)) == 2, "both to be working")
    rows = {r[8]: r for r in venue_rows(emu)}
    sl, tr = rows["EXCHANGE STOP LIMIT"], rows["EXCHANGE TRAILING STOP"]
    assert (float(bytes(sl[16])), float(bytes(sl[19]))) == (stop, limit)
    assert float(bytes(tr[18])) == dist
    high = px(emu, 1.03)
    tape(emu, high, side=Side.BUY)
    tape(emu, high - dist)  # the trailing level: fires; the stop-limit is far below
    await until(lambda: S.FILLED in sink.statuses("tr-1"), "the trailing stop to fill")
    assert sink.statuses("sl-1") == [S.ACCEPTED]
    in_order(sink, "tr-1")


def _oco(emu: Any, cid: str) -> Order:
    """Sell 0.01: take profit 5 % above the mid (resting limit), stop loss 5 % below."""
    trig = Trigger(K.OCO, px(emu, 0.95), tp_price=px(emu, 1.05))
    return Order(cid, SPOT, Side.SELL, 0.01, OrderType.MARKET, trigger=trig)


async def test_oco_take_profit_fills_and_the_stop_is_not_news(gw: GW, emu: Any) -> None:
    g, sink = gw
    g.submit_order(_oco(emu, "oco-1"))
    await until(lambda: len(venue_rows(emu)) == 2, "the limit and its stop")
    assert sorted(r[8] for r in venue_rows(emu)) == ["EXCHANGE LIMIT", "EXCHANGE STOP"]
    assert sink.statuses("oco-1") == [S.ACCEPTED]
    tape(emu, px(emu, 1.06), 0.01, Side.BUY)  # trades through the resting take-profit
    await until(lambda: S.FILLED in sink.statuses("oco-1"), "the take-profit to fill")
    await until(lambda: venue_rows(emu) == [], "the stop to be canceled")
    assert sink.statuses("oco-1") == [S.ACCEPTED, S.FILLED]
    in_order(sink, "oco-1")
    (fill,) = sink.fills("oco-1")
    assert fill.price == px(emu, 1.05) and fill.liquidity.value == "maker"


async def test_oco_stop_fires_and_the_limit_cancel_is_not_news(gw: GW, emu: Any) -> None:
    g, sink = gw
    order = _oco(emu, "oco-2")
    g.submit_order(order)
    await until(lambda: len(venue_rows(emu)) == 2, "the limit and its stop")
    stop_id = next(str(r[0]) for r in venue_rows(emu) if r[8] == "EXCHANGE STOP")
    tape(emu, px(emu, 0.94))
    await until(lambda: S.FILLED in sink.statuses("oco-2"), "the stop to fill")
    assert sink.statuses("oco-2") == [S.ACCEPTED, S.FILLED]
    assert {f.venue_order_id for f in sink.fills("oco-2")} == {stop_id}
    in_order(sink, "oco-2")
    # looked up afterwards (a reconnect's catch-up): the pair answers with the stop's fills
    track = g.orders.tracker.get(g.hooks.venue_client_id("oco-2"))
    assert track is not None
    report = await g.hooks.fetch_order(track)
    assert report.status is S.FILLED and report.venue_order_id == stop_id
    fills = await g.hooks.fetch_fills(track)
    assert [f.trade_id for f in fills] == [f.trade_id for f in sink.fills("oco-2")]


async def test_oco_cancel_ends_both_once(gw: GW, emu: Any) -> None:
    g, sink = gw
    order = _oco(emu, "oco-3")
    g.submit_order(order)
    await until(lambda: S.ACCEPTED in sink.statuses("oco-3"), "the OCO to be working")
    await until(lambda: len(venue_rows(emu)) == 2, "the limit and its stop")
    assert len(await g.fetch_open_orders()) == 1  # one engine order, not two
    g.cancel_order(order)
    await until(lambda: S.CANCELED in sink.statuses("oco-3"), "the cancel")
    await until(lambda: venue_rows(emu) == [], "both venue orders to end")
    assert sink.statuses("oco-3") == [S.ACCEPTED, S.CANCELED]


@pytest.mark.parametrize(
    ("order", "why"),
    [
        (Order("r-tp", SPOT, Side.SELL, 0.01, OrderType.MARKET,
               trigger=Trigger(K.TAKE_PROFIT, 99_999.0)), "no take-profit"),
        (Order("r-rate", SPOT, Side.SELL, 0.01, OrderType.MARKET,
               trigger=Trigger(K.TRAILING, callback_rate=0.02)), "not a rate"),
        (Order("r-act", SPOT, Side.SELL, 0.01, OrderType.MARKET,
               trigger=Trigger(K.TRAILING, 70_000.0, callback_amount=100.0)), "activation"),
        (Order("r-oco", SPOT, Side.SELL, 0.01, OrderType.LIMIT, 1000.0,
               trigger=Trigger(K.OCO, 1100.0, tp_price=99_000.0)), "market order"),
        (Order("r-ioc", SPOT, Side.SELL, 0.01, OrderType.LIMIT, 1000.0, TimeInForce.IOC,
               trigger=Trigger(K.STOP, 1100.0)), "ioc"),
        (Order("r-br", SPOT, Side.BUY, 0.01, OrderType.MARKET,
               attached=Order("r-br-sl", SPOT, Side.SELL, 0.0, OrderType.MARKET,
                              trigger=Trigger(K.STOP, 1000.0))), "brackets"),
    ],
    ids=["take-profit", "trailing-rate", "trailing-activation", "oco-limit-stop", "ioc",
         "bracket"],
)  # fmt: skip
async def test_what_bitfinex_cannot_express_is_refused_never_sent(
    gw: GW, emu: Any, order: Order, why: str
) -> None:
    g, sink = gw
    g.submit_order(order)
    cid = order.client_order_id
    await until(lambda: S.REJECTED in sink.statuses(cid), "the refusal")
    (rep,) = sink.reports(cid)
    assert not rep.code.transient and why in rep.reason, rep.reason
    assert venue_rows(emu) == [] and g.hooks.ws_orders == 0 and g.hooks.rest_orders == 0


async def test_leverage_rides_on_perpetual_orders(gw: GW, emu: Any) -> None:
    g, sink = gw
    g.hooks.set_leverage(PERP, 5)
    with pytest.raises(VenueError, match="perpetuals"):
        g.hooks.set_leverage(SPOT, 5)
    with pytest.raises(VenueError, match="1-100"):
        g.hooks.set_leverage(PERP, 125)
    g.submit_order(Order("lev-1", PERP, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("lev-1"), "the perpetual order to fill")
    assert emu.trading.account.sim.leverage("tBTCF0:USTF0") == 5
    (pos,) = await g.rest.positions()
    assert pos[9] == 5


async def test_perpetual_stop_is_a_margin_stop_with_lev_and_reduce_only(gw: GW, emu: Any) -> None:
    g, sink = gw
    g.hooks.set_leverage(PERP, 3)
    inst = g.instruments()[PERP]
    stop = float(inst.format_price(emu.driver.markets["tBTCF0:USTF0"].mid() * 0.9))
    g.submit_order(Order("pstop-1", PERP, Side.SELL, 0.01, OrderType.MARKET, reduce_only=True,
                         trigger=Trigger(K.STOP, stop)))  # fmt: skip
    await until(lambda: S.ACCEPTED in sink.statuses("pstop-1"), "the perpetual stop")
    (row,) = venue_rows(emu)
    assert (row[8], row[12], float(bytes(row[16]))) == ("STOP", 1024, stop)
    assert emu.trading.account.sim.leverage("tBTCF0:USTF0") == 3
