"""Trigger orders through the Binance gateway against the emulator: a spot stop-loss goes out
as STOP_LOSS_LIMIT with its stopPrice, rests (ACCEPTED, nothing filled) and fills once a trade
reaches the level; a take-profit market order as TAKE_PROFIT; what the connector cannot express
(trailing, brackets, triggers on perpetuals) is refused before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.support.gateway_fixtures import serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.emulator.feed import now_ms
from tradeloop.model import NS_PER_MS, Order, OrderStatus, OrderType, Side, TradeTick
from tradeloop.model.enums import TriggerKind
from tradeloop.model.order import Trigger
from tradeloop.venues.binance.gateway import BinanceGateway

from .conftest import PERP, SPOT, Sink, make_emulator, make_gateway


@pytest.fixture
async def setup() -> AsyncIterator[tuple[BinanceEmulator, BinanceGateway, Sink]]:
    async with serving(make_emulator(seed=8)) as emu:
        gw = make_gateway(emu.base_url)
        sink = Sink()
        gw.bind(sink)
        await gw.start()
        try:
            yield emu, gw, sink
        finally:
            await gw.stop()


def _last(emu: BinanceEmulator) -> float:
    return float(emu.driver.markets["BTCUSDT"].last_trade.price)


async def test_spot_stop_loss_limit_rests_then_fills(
    setup: tuple[BinanceEmulator, BinanceGateway, Sink],
) -> None:
    emu, gw, sink = setup
    last = _last(emu)
    stop = Order("tl-stop-1", SPOT, Side.SELL, 0.01, OrderType.LIMIT, price=last * 0.9,
                 trigger=Trigger(TriggerKind.STOP, last * 0.95))  # fmt: skip
    gw.submit_order(stop)
    await until(lambda: (r := sink.last("tl-stop-1")) is not None
                 and r.status is OrderStatus.ACCEPTED)  # fmt: skip
    info = next(i for i in emu.trading.account.infos.values() if i.client_id == "tl-stop-1")
    assert info.extra["type"] == "STOP_LOSS_LIMIT" and info.extra["stop"] is not None
    assert float(info.extra["stop"]) == round(last * 0.95, 2)
    assert not sink.fills
    px = round(last * 0.94, 2)  # a trade below the stop fires it; the limit child sells
    emu.trading.account.sim.on_trade(TradeTick(now_ms() * NS_PER_MS, "BTCUSDT", px, 0.001,
                                               Side.SELL, "stop-print-1"))  # fmt: skip
    await until(lambda: sink.last("tl-stop-1").status is OrderStatus.FILLED)
    await gw.drain(5)
    assert sum(f.qty for f in sink.fills if f.client_order_id == "tl-stop-1") == pytest.approx(0.01)


async def test_spot_take_profit_market_goes_out_as_take_profit(
    setup: tuple[BinanceEmulator, BinanceGateway, Sink],
) -> None:
    emu, gw, sink = setup
    last = _last(emu)
    tp = Order("tl-tp-1", SPOT, Side.SELL, 0.01, OrderType.MARKET,
               trigger=Trigger(TriggerKind.TAKE_PROFIT, last * 1.05))  # fmt: skip
    gw.submit_order(tp)
    await until(lambda: (r := sink.last("tl-tp-1")) is not None
                 and r.status is OrderStatus.ACCEPTED)  # fmt: skip
    info = next(i for i in emu.trading.account.infos.values() if i.client_id == "tl-tp-1")
    assert info.extra["type"] == "TAKE_PROFIT"


@pytest.mark.parametrize(
    ("symbol", "trigger"),
    [
        (SPOT, Trigger(TriggerKind.TRAILING, callback_rate=0.01)),
        (PERP, Trigger(TriggerKind.STOP, 1000.0)),
    ],
)
async def test_unsupported_triggers_are_refused_unsent(
    setup: tuple[BinanceEmulator, BinanceGateway, Sink], symbol: str, trigger: Trigger
) -> None:
    emu, gw, sink = setup
    gw.submit_order(Order("tl-no-1", symbol, Side.SELL, 0.01, OrderType.MARKET, trigger=trigger))
    await until(lambda: sink.last("tl-no-1") is not None)
    r = sink.last("tl-no-1")
    assert r.status is OrderStatus.REJECTED and "not supported" in r.reason
    assert emu.futures is not None
    accounts = (emu.trading.account, emu.futures.trading.account)
    assert not [i for a in accounts for i in a.infos.values() if i.client_id == "tl-no-1"]


def test_stop_prices_go_out_as_tick_decimals_and_a_zero_stop_is_refused() -> None:
    """The wire strings of a spot stop (float artefacts, large values), and a stop price
    below half a tick refused as a price filter failure instead of going out as ``0``."""
    from tradeloop.core.errors import VenueError
    from tradeloop.model import Instrument, RejectReason
    from tradeloop.venues.binance.orders import classify, order_params

    inst = Instrument.of("BTCUSDT", "BINANCE", "BTC", "USDT", tick_size=0.01, lot_size=1e-5)
    o = Order("w1", SPOT, Side.SELL, 0.1 + 0.2, OrderType.LIMIT, 1e9 + 0.1 + 0.2,
              trigger=Trigger(TriggerKind.STOP, 0.1 + 0.2))  # fmt: skip
    p = order_params(o, inst, "w1")
    assert (p["type"], p["stopPrice"], p["price"], p["quantity"]) == (
        "STOP_LOSS_LIMIT", "0.3", "1000000000.3", "0.3")  # fmt: skip
    tiny = Order("w2", SPOT, Side.BUY, 0.5, OrderType.MARKET,
                 trigger=Trigger(TriggerKind.TAKE_PROFIT, 1e-7))  # fmt: skip
    with pytest.raises(VenueError, match="stop price 1e-07 is below the tick") as info:
        order_params(tiny, inst, "w2")
    assert classify(info.value).reason is RejectReason.INVALID_PRICE
