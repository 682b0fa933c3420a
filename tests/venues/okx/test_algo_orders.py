"""OKX connector: trigger orders and brackets as OKX algo orders, end to end through the
engine's OMS against the in-process OKX emulator over real 127.0.0.1 sockets.

The emulator's market is frozen (``tick_interval_ms=0``); a trigger is reached by printing a
trade on its tape (:func:`tape`), as the emulator's own algo tests do. Every test goes through
``Kernel.oms`` (risk checks, the order state machine, bracket registration) and a ``Tee`` in
front of it that fails the test on a repeated fill or a report moving an order backwards.

OKX serves ``orders-algo`` on ``/business``; the emulator serves it on ``/private`` only (as
OKX did before 2023), so these gateways, built with the default ``algo_path``, try
``/business``, are told 60018 and use the private socket — a fallback one test checks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.emulator.feed import now_ms
from tradeloop.engine.kernel import Kernel
from tradeloop.model import (
    NS_PER_MS,
    Fill,
    FundingPaid,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TradeTick,
)
from tradeloop.model.enums import TriggerKind
from tradeloop.model.order import Trigger
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.algo import ALGOS_HISTORY, ALGOS_PENDING
from tradeloop.venues.okx.gateway import OkxGateway

from .e2e import FAST_WS, until
from .test_e2e_reconnect import Engine, Tee

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "algo-key-123", "algo-secret-456", "algo-pass-789"
SWAP = "BTC-USDT-SWAP.OKX"
SPOT = "BTC-USDT.OKX"
S = OrderStatus
K = TriggerKind


class AlgoEngine(Engine):
    """The reconnect tests' engine (OMS, recorder, ``submit``, ``assert_clean``) plus a tape
    to print on and the venue's algo listings."""

    def mid(self) -> float:
        return float(self.emu.driver.markets[P.native(SWAP)].mid())

    def px(self, factor: float) -> float:
        return self.gateway.instruments()[SWAP].round_price(self.mid() * factor)

    def tape(self, factor: float) -> None:
        """The venue's tape prints a trade at mid × ``factor`` (the last price jumps there)."""
        px = float(self.px(factor))
        tick = TradeTick(now_ms() * NS_PER_MS, P.native(SWAP), px, 1.0, Side.SELL)
        self.emu.trading.account.sim.on_trade(tick)

    async def algo_rows(self, path: str, cid: str) -> list[dict[str, Any]]:
        params = {"ordType": "conditional,oco", "algoClOrdId": cid}
        rows = await self.gateway.rest.request("GET", path, params, True)
        params["ordType"] = "move_order_stop"
        return list(rows) + list(await self.gateway.rest.request("GET", path, params, True))

    async def long(self, cid: str, qty: float = 2.0) -> Order:
        """A filled market buy of ``qty`` contracts: the position a stop protects."""
        entry = self.submit(Order(cid, SWAP, Side.BUY, qty, OrderType.MARKET))
        await until(lambda: entry.status is S.FILLED, f"{cid} filled")
        return entry

    def position(self) -> float:
        return self.kernel.portfolio.position_qty(SWAP)

    async def assert_fills_match_venue(self, cid: str) -> list[Fill]:
        """The engine got exactly the venue's fills of the order (child of an algo included):
        same trade ids, sizes and prices, each once."""
        got = self.tee.fills(cid)
        order = self.kernel.oms.orders[cid]
        assert order.venue_order_id
        rows = await self.gateway.rest.fills(inst_id=P.native(SWAP), ord_id=order.venue_order_id)
        venue = sorted((r["tradeId"], float(r["fillSz"]), float(r["fillPx"])) for r in rows)
        assert sorted((f.trade_id, f.qty, f.price) for f in got) == venue
        assert order.filled_qty == pytest.approx(sum(f.qty for f in got))
        return got


def make_emulator() -> Any:
    return emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 100_000.0, "BTC": 2.0},
            symbols=[P.native(SWAP), P.native(SPOT)],
            seed=11,
            tick_interval_ms=0,  # frozen: prices move only when a test prints a trade
        )
    )


async def running_emulator() -> AsyncIterator[Any]:
    """The ``emu`` fixture (shared with the parity test)."""
    e = make_emulator()
    await e.start("127.0.0.1", 0)
    try:
        yield e
    finally:
        await e.stop()


emu = pytest.fixture(running_emulator, name="emu")


def make_gateway(emu: Any) -> OkxGateway:
    return OkxGateway(
        emu.base_url, KEY, SECRET, PASS, inst_types=("SWAP", "SPOT"), ws_config=FAST_WS
    )


@pytest.fixture
async def eng(emu: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[AlgoEngine]:
    gateway = make_gateway(emu)
    await gateway.start()
    kernel = Kernel(gateway.instruments().values(), 50_000.0, gateway, LiveClock())
    tee = Tee(kernel.oms)
    gateway.bind(tee)  # the OMS bound itself; the recorder goes in front of it
    caplog.set_level(logging.WARNING, logger="tradeloop.engine")
    try:
        yield AlgoEngine(emu, gateway, kernel, tee, caplog)
    finally:
        await gateway.stop()


def stop(cid: str, trigger: Trigger, qty: float = 2.0, price: float = 0.0) -> Order:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return Order(cid, SWAP, Side.SELL, qty, kind, price, reduce_only=True, trigger=trigger)


async def test_stop_loss_rests_as_an_algo_then_fires_and_fills_once(eng: AlgoEngine) -> None:
    await eng.long("slin1")
    sl = eng.submit(stop("sl1", Trigger(K.STOP, eng.px(0.95))))
    await until(lambda: sl.status is S.ACCEPTED, "sl1 accepted")
    (row,) = await eng.algo_rows(ALGOS_PENDING, "sl1")
    assert (row["ordType"], float(row["slTriggerPx"]), row["slOrdPx"]) == (
        "conditional", eng.px(0.95), "-1",
    )  # fmt: skip
    assert row["reduceOnly"] == "true" and row["sz"] == "2"
    # Untriggered, it is not an order at OKX: the plain open-order listing does not show it,
    # but the gateway's open orders (what a restart reconciles against) do.
    assert await eng.gateway.rest.orders_pending(inst_type="SWAP") == []
    assert {r.client_order_id for r in await eng.gateway.fetch_open_orders()} == {"sl1"}

    eng.tape(1.02)  # the wrong way for a stop-loss: nothing happens
    eng.tape(0.90)  # through the trigger
    await until(lambda: sl.status is S.FILLED, "sl1 filled")
    await eng.gateway.drain()
    assert eng.tee.statuses("sl1") == [S.ACCEPTED, S.FILLED]
    fills = await eng.assert_fills_match_venue("sl1")
    assert {f.side for f in fills} == {Side.SELL} and sl.filled_qty == 2.0
    assert eng.position() == 0.0
    (hist,) = await eng.algo_rows(ALGOS_HISTORY, "sl1")
    assert hist["state"] == "effective" and hist["ordId"] == sl.venue_order_id
    eng.assert_clean()


async def test_orders_algo_channel_falls_back_to_the_private_socket(
    eng: AlgoEngine, caplog: pytest.LogCaptureFixture
) -> None:
    eng.emu.config.algo_sockets = ("private",)  # a venue that refuses it on /business
    assert eng.gateway.algo_path == C.WS_BUSINESS and not eng.gateway._algo_subscribed
    await eng.long("fbin1", 1.0)
    sl = eng.submit(stop("fb1", Trigger(K.STOP, eng.px(0.95)), qty=1.0))
    await until(lambda: sl.status is S.ACCEPTED, "fb1 accepted")
    assert eng.gateway._algo_subscribed and eng.gateway.algo is None  # the /business one went
    assert any("using the private socket" in r.getMessage() for r in caplog.records)
    # a gateway told to use the private socket goes there at once
    direct = OkxGateway(eng.emu.base_url, KEY, SECRET, PASS, inst_types=("SWAP",),
                        ws_config=FAST_WS, algo_path=C.WS_PRIVATE)  # fmt: skip
    await direct.start()
    try:
        await direct.hooks.algos.ready()
        assert direct._algo_subscribed and direct.algo is None
        assert direct.private is not None and direct.private.client.connections == 1
    finally:
        await direct.stop()
    eng.tape(0.90)
    await until(lambda: sl.status is S.FILLED, "fb1 filled")
    eng.assert_clean()


async def test_take_profit_limit_fires_on_the_way_up(eng: AlgoEngine) -> None:
    await eng.long("tpin1")
    bid = (await eng.gateway.rest.books(P.native(SWAP), sz=1))["bids"][0][0]
    # a take-profit-limit whose limit is at the bid: marketable once it fires
    tp = eng.submit(stop("tp1", Trigger(K.TAKE_PROFIT, eng.px(1.05)), price=float(bid)))
    await until(lambda: tp.status is S.ACCEPTED, "tp1 accepted")
    (row,) = await eng.algo_rows(ALGOS_PENDING, "tp1")
    assert (float(row["tpTriggerPx"]), row["tpOrdPx"]) == (eng.px(1.05), bid)
    eng.tape(0.97)  # the wrong way
    await eng.gateway.drain()
    assert tp.status is S.ACCEPTED
    eng.tape(1.06)
    await until(lambda: tp.status is S.FILLED, "tp1 filled")
    await eng.assert_fills_match_venue("tp1")
    assert eng.position() == 0.0
    eng.assert_clean()


async def test_trailing_stop_follows_the_best_price_then_fires(eng: AlgoEngine) -> None:
    await eng.long("trin1")
    tr = eng.submit(stop("tr1", Trigger(K.TRAILING, callback_rate=0.05)))
    await until(lambda: tr.status is S.ACCEPTED, "tr1 accepted")
    (row,) = await eng.algo_rows(ALGOS_PENDING, "tr1")
    assert (row["ordType"], row["callbackRatio"]) == ("move_order_stop", "0.05")
    eng.tape(1.10)  # the best price: the stop trails up to 1.045 x mid
    eng.tape(1.06)  # a pull-back above the trailed level
    assert len(await eng.algo_rows(ALGOS_PENDING, "tr1")) == 1
    eng.tape(1.04)  # below it
    await until(lambda: tr.status is S.FILLED, "tr1 filled")
    (hist,) = await eng.algo_rows(ALGOS_HISTORY, "tr1")
    assert float(hist["actualPx"]) == eng.px(1.04)
    await eng.assert_fills_match_venue("tr1")
    assert eng.position() == 0.0
    eng.assert_clean()


async def test_bracket_via_attach_algo_ords_one_leg_fills_the_other_is_gone(
    eng: AlgoEngine,
) -> None:
    protect = Order("brk1p", SWAP, Side.SELL, 2.0, reduce_only=True,
                    trigger=Trigger(K.OCO, eng.px(0.95), tp_price=eng.px(1.05)))  # fmt: skip
    entry = eng.submit(Order("brk1", SWAP, Side.BUY, 2.0, attached=protect))
    assert protect.status is S.SUBMITTED  # registered with the entry, placed when it fills
    await until(lambda: entry.status is S.FILLED, "the entry filled")
    await until(lambda: protect.status is S.ACCEPTED, "the attached OCO live")
    (row,) = await eng.algo_rows(ALGOS_PENDING, "brk1p")
    assert row["ordType"] == "oco" and row["side"] == "sell" and row["sz"] == "2"
    assert eng.position() == 2.0

    eng.tape(1.06)  # the take-profit leg fires ...
    await until(lambda: protect.status is S.FILLED, "the take-profit filled")
    (hist,) = await eng.algo_rows(ALGOS_HISTORY, "brk1p")
    assert hist["actualSide"] == "tp"
    eng.tape(0.90)  # ... and the stop-loss leg died with it: nothing more trades
    await eng.gateway.drain()
    assert await eng.algo_rows(ALGOS_PENDING, "brk1p") == []
    assert eng.tee.statuses("brk1p") == [S.ACCEPTED, S.FILLED]
    await eng.assert_fills_match_venue("brk1p")
    assert eng.position() == 0.0 and eng.kernel.oms.open_orders == {}
    eng.assert_clean()


async def test_spot_bracket_protects_what_the_entry_received(eng: AlgoEngine) -> None:
    """On spot, OKX takes a buy's fee out of the BTC received, and the attached stop sells
    what arrived (as the simulator does): the protection fills for the entry's size less the
    fee, and the engine's position ends at zero."""
    inst = eng.gateway.instruments()[SPOT]
    mid = float(eng.emu.driver.markets[P.native(SPOT)].mid())
    protect = Order("sbr1p", SPOT, Side.SELL, 0.01,
                    trigger=Trigger(K.STOP, inst.round_price(mid * 0.95)))  # fmt: skip
    entry = eng.submit(Order("sbr1", SPOT, Side.BUY, 0.01, attached=protect))
    await until(lambda: protect.status is S.ACCEPTED, "the spot protection live")
    fee = sum(f.fee for f in eng.tee.fills("sbr1"))  # in BTC
    assert entry.filled_qty == 0.01 and eng.kernel.portfolio.position_qty(SPOT) == pytest.approx(
        0.01 - fee, abs=1e-12
    )
    px = inst.round_price(mid * 0.90)
    eng.emu.trading.account.sim.on_trade(
        TradeTick(now_ms() * NS_PER_MS, P.native(SPOT), px, 0.001, Side.SELL)
    )
    await until(lambda: protect.status is S.FILLED, "the spot stop filled")
    assert protect.filled_qty == pytest.approx(0.01 - fee, abs=1e-8)
    assert eng.kernel.portfolio.position_qty(SPOT) == pytest.approx(0.0, abs=1e-8)
    eng.assert_clean()


async def test_bracket_whose_entry_never_fills_ends_its_protection(eng: AlgoEngine) -> None:
    low = eng.px(0.80)
    protect = Order("brk2p", SWAP, Side.SELL, 1.0, reduce_only=True,
                    trigger=Trigger(K.STOP, eng.px(0.70)))  # fmt: skip
    entry = eng.submit(Order("brk2", SWAP, Side.BUY, 1.0, OrderType.LIMIT, low, attached=protect))
    await until(lambda: entry.status is S.ACCEPTED, "the entry resting")
    eng.kernel.oms.cancel(entry)
    await until(lambda: entry.status is S.CANCELED, "the entry canceled")
    assert protect.status is S.CANCELED and protect.reason == "entry ended without a fill"
    await eng.gateway.drain()
    # the gateway no longer works on it: a reconcile has nothing to chase
    track = eng.gateway.orders.track("brk2p")
    assert track is None or track.status.is_terminal
    assert eng.gateway.algo_book.get("brk2p") is None
    await eng.gateway.reconcile()
    assert eng.tee.statuses("brk2p") == [] and eng.kernel.oms.open_orders == {}
    eng.assert_clean()


async def test_cancel_an_untriggered_stop(eng: AlgoEngine) -> None:
    await eng.long("cxin1", 1.0)
    sl = eng.submit(stop("cx1", Trigger(K.STOP, eng.px(0.95)), qty=1.0))
    await until(lambda: sl.status is S.ACCEPTED, "cx1 accepted")
    eng.kernel.oms.cancel(sl)
    await until(lambda: sl.status is S.CANCELED, "cx1 canceled")
    assert await eng.algo_rows(ALGOS_PENDING, "cx1") == []
    (hist,) = await eng.algo_rows(ALGOS_HISTORY, "cx1")
    assert hist["state"] == "canceled"
    eng.tape(0.90)  # a canceled stop never fires
    await eng.gateway.drain()
    assert eng.tee.fills("cx1") == [] and eng.position() == 1.0
    assert eng.tee.statuses("cx1") == [S.ACCEPTED, S.CANCELED]
    assert len(eng.gateway.algo_book) == 0  # finished algo orders are not kept
    eng.assert_clean()


async def test_cancel_a_fired_stop_limit_cancels_its_resting_child(eng: AlgoEngine) -> None:
    """A stop-limit whose limit is not marketable when it fires leaves a resting child: a
    cancel then goes to that child order (cancel-algos has nothing left to cancel)."""
    await eng.long("slcin1", 1.0)
    far = eng.px(1.20)  # a sell limit well above the book: rests
    sl = eng.submit(stop("slc1", Trigger(K.STOP, eng.px(0.95)), qty=1.0, price=far))
    await until(lambda: sl.status is S.ACCEPTED, "slc1 accepted")
    eng.tape(0.90)
    st = eng.gateway.algo_book.get("slc1")
    await until(lambda: st is not None and st.ord_id != "", "slc1 fired at the venue")
    (resting,) = await eng.gateway.rest.orders_pending(inst_type="SWAP")
    assert resting["ordId"] == sl.venue_order_id and resting["px"] == f"{far:g}"
    eng.kernel.oms.cancel(sl)
    await until(lambda: sl.status is S.CANCELED, "slc1 canceled")
    assert await eng.gateway.rest.orders_pending(inst_type="SWAP") == []
    assert eng.tee.statuses("slc1") == [S.ACCEPTED, S.CANCELED] and eng.position() == 1.0
    eng.assert_clean()


async def test_cancel_racing_the_trigger_reaches_the_child(eng: AlgoEngine) -> None:
    """The stop-limit fires while the sockets are down, so the engine still believes it
    untriggered and asks cancel-algos, which OKX refuses (the algo is done). The gateway looks
    the order up, finds the resting child and cancels that: the order ends CANCELED, unfilled,
    and nothing is left working at the venue."""
    await eng.long("racein1", 1.0)
    sl = eng.submit(stop("race1", Trigger(K.STOP, eng.px(0.95)), qty=1.0, price=eng.px(1.2)))
    await until(lambda: sl.status is S.ACCEPTED, "race1 accepted")
    await eng.gateway.drain()
    assert eng.emu.faults.drop_ws() >= 1
    eng.tape(0.90)  # fires; the child rests; the news goes to dead sockets
    st = eng.gateway.algo_book.get("race1")
    assert st is not None and st.ord_id == ""  # the gateway does not know yet
    eng.kernel.oms.cancel(sl)
    await until(lambda: sl.status is S.CANCELED, "race1 canceled")
    await eng.gateway.drain()
    assert await eng.gateway.rest.orders_pending(inst_type="SWAP") == []
    assert eng.tee.fills("race1") == [] and eng.position() == 1.0
    eng.assert_clean()


async def test_a_lost_reply_never_places_a_second_stop(eng: AlgoEngine) -> None:
    """order-algo runs but its answer is lost (504): the transport sends it again under the
    same algoClOrdId, OKX answers 51016, and the gateway finds the one that landed."""
    await eng.long("lrin1", 1.0)
    eng.emu.faults.lose_replies(1, "5xx", "POST /api/v5/trade/order-algo")
    sl = eng.submit(stop("lr1", Trigger(K.STOP, eng.px(0.95)), qty=1.0))
    await until(lambda: sl.status is S.ACCEPTED, "lr1 accepted")
    assert eng.emu.faults.lose_remaining == 0
    assert len(await eng.algo_rows(ALGOS_PENDING, "lr1")) == 1
    eng.tape(0.90)
    await until(lambda: sl.status is S.FILLED, "lr1 filled")
    assert eng.position() == 0.0
    eng.assert_clean()


async def test_unsupported_requests_are_refused_in_one_line(eng: AlgoEngine) -> None:
    """An amend of an algo order and a trailing bracket leg are refused clearly (OKX has no
    amend here, and attaches only stop-loss / take-profit legs); nothing is sent."""
    await eng.long("unin1", 1.0)
    sl = eng.submit(stop("un1", Trigger(K.STOP, eng.px(0.95)), qty=1.0))
    await until(lambda: sl.status is S.ACCEPTED, "un1 accepted")
    eng.kernel.oms.amend(sl, price=eng.px(0.94))
    await eng.gateway.drain()
    assert sl.status is S.ACCEPTED and "not supported" in sl.reason
    trail = Order("un2p", SWAP, Side.SELL, 1.0, trigger=Trigger(K.TRAILING, callback_rate=0.02))
    entry = eng.submit(Order("un2", SWAP, Side.BUY, 1.0, attached=trail))
    await until(lambda: entry.status is S.REJECTED, "the trailing bracket refused")
    assert "attaches only" in entry.reason and "\n" not in entry.reason
    assert trail.status is S.CANCELED  # the OMS ends a protection whose entry never traded
    assert eng.position() == 1.0
    assert eng.tee.violations == []


async def test_stop_fires_and_fills_while_the_socket_is_down(eng: AlgoEngine) -> None:
    """The stop fires and its child fills while every socket is cut: those pushes are lost.
    After the reconnect the gateway catches up by itself over REST (algo history → child
    order → its fills), books each fill once, under the stop's client id."""
    await eng.long("rcin1")
    sl = eng.submit(stop("rc1", Trigger(K.STOP, eng.px(0.95))))
    await until(lambda: sl.status is S.ACCEPTED, "rc1 accepted")
    await eng.gateway.drain()
    private = eng.gateway.private
    assert private is not None
    assert eng.emu.faults.drop_ws() >= 1
    eng.tape(0.90)  # same synchronous block: the news can only go to dead sockets
    await until(lambda: sl.status is S.FILLED, "rc1 filled after the reconnect")
    # The business socket's catch-up may book the fill before the private socket is back
    # (both reconnect on their own backoff): wait for that reconnect too, then check that it
    # reported nothing new -- the fill was booked once.
    await until(lambda: private.client.connections >= 2 and private.connected, "reconnect 1")
    await eng.gateway.drain()
    assert eng.tee.statuses("rc1") == [S.ACCEPTED, S.FILLED]
    await eng.assert_fills_match_venue("rc1")
    assert eng.position() == 0.0

    # Another outage: nothing is reported or booked twice.
    n = len(eng.tee.log)
    assert eng.emu.faults.drop_ws() >= 1
    await until(lambda: private.client.connections >= 3 and private.connected, "reconnect 2")
    await eng.gateway.drain()
    assert [e for e in eng.tee.log[n:] if isinstance(e, (Fill, OrderReport))] == []
    eng.assert_clean()


async def test_a_restarted_process_finds_its_stops_and_their_fills(
    emu: Any, eng: AlgoEngine
) -> None:
    """What start-up reconciliation reads: a new gateway (a restarted process) lists the
    untriggered stop among the open orders under our client id, and once it has fired, the
    child's fills carry that id too — never a foreign order's. It can cancel a stop it did
    not place."""
    await eng.long("rsin1", 3.0)
    fire = eng.submit(stop("rs1", Trigger(K.STOP, eng.px(0.95)), qty=1.0))
    keep = eng.submit(stop("rs2", Trigger(K.STOP, eng.px(0.80)), qty=1.0))
    await until(lambda: fire.status is keep.status is S.ACCEPTED, "both stops accepted")
    await eng.gateway.stop()  # the process goes away

    fresh = make_gateway(emu)
    await fresh.start()
    try:
        opened = {r.client_order_id: r for r in await fresh.fetch_open_orders()}
        assert set(opened) == {"rs1", "rs2"} and opened["rs1"].status is S.ACCEPTED
        assert await fresh.fetch_open_orders("SPOT") == []  # they are swap orders
        eng.tape(0.90)  # rs1 fires and fills
        await until(lambda: len(_pending(emu)) == 1, "rs1 fired at the venue")
        fills = [f for f in await fresh.fetch_fills() if f.client_order_id == "rs1"]
        assert len(fills) >= 1 and sum(f.qty for f in fills) == 1.0
        assert all(f.side is Side.SELL for f in fills)

        restored = Order("rs2", SWAP, Side.SELL, 1.0, status=S.ACCEPTED, reduce_only=True,
                         trigger=Trigger(K.STOP, eng.px(0.80)))  # fmt: skip
        tee = Tee(_Null())
        fresh.bind(tee)
        fresh.cancel_order(restored)
        await until(lambda: S.CANCELED in tee.statuses("rs2"), "rs2 canceled by the new process")
        assert _pending(emu) == []
    finally:
        await fresh.stop()


class _Null:
    def on_order_report(self, report: OrderReport) -> None:
        pass

    def on_funding(self, payment: FundingPaid) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass


def _pending(emu: Any) -> list[dict[str, Any]]:
    return emu.trading.algo.rows({}, pending=True)  # type: ignore[no-any-return]
