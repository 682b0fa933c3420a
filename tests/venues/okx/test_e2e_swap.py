"""OKX connector end to end on the USDT-margined perpetual (BTC-USDT-SWAP) against the
in-process OKX emulator, over real loopback sockets.

Leverage is set over REST; orders go through ``OkxGateway``; what the gateway tells the engine
(order reports, fills, ``PositionUpdate``, ``BalanceUpdate``) is checked against the fills, the
venue's own ``/trade/fills`` rows and its REST positions/balances. The emulator market is frozen
(``tick_interval_ms=0``), so the book only changes through our own orders and every price and
size below is known in advance from a REST book snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Event,
    Fill,
    FundingPaid,
    IllegalTransition,
    Instrument,
    InstrumentKind,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionUpdate,
    Side,
)
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway

from .e2e import FAST_WS, until

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "swap-key-123", "swap-secret-456", "swap-pass-789"
NATIVE = "BTC-USDT-SWAP"  # OKX instId: the wire and REST
SWAP = NATIVE + ".OKX"  # instrument id: the engine and the gateway
START_USDT = 100_000.0
S = OrderStatus


class Recorder:
    """ExecutionSink + MarketDataSink that keeps everything in arrival order and mirrors the
    engine's view of each order with the real ``Order`` state machine (as the OMS applies
    reports and fills). Anything the engine would have to reject or drop is a violation."""

    def __init__(self) -> None:
        self.log: list[Event] = []
        self.orders: dict[str, Order] = {}
        self.violations: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    # -- sink -----------------------------------------------------------------------------
    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)
        order = self.orders.get(report.client_order_id)
        if order is None:
            self.violations.append(f"report for an order we never sent: {report}")
            return
        if report.filled_qty + 1e-12 < order.filled_qty:
            self.violations.append(f"report moves fills backwards: {report}")
            return
        if report.status is not order.status or report.status is S.PARTIALLY_FILLED:
            try:
                order.transition(report.status, report.ts, report.reason)
            except IllegalTransition as exc:
                self.violations.append(str(exc))

    def on_funding(self, payment: FundingPaid) -> None:
        self.log.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)
        key = (fill.client_order_id, fill.trade_id)
        if key in self._seen:
            self.violations.append(f"duplicate fill {key}")
            return
        self._seen.add(key)
        order = self.orders.get(fill.client_order_id)
        if order is None:
            self.violations.append(f"fill for an order we never sent: {fill}")
            return
        try:
            order.apply_fill(fill.qty, fill.price, fill.fee)
        except IllegalTransition as exc:
            self.violations.append(str(exc))

    def on_market_data(self, event: Event) -> None:
        self.log.append(event)

    # -- helpers --------------------------------------------------------------------------
    def submit(self, gateway: OkxGateway, order: Order) -> Order:
        order.transition(S.SUBMITTED)
        self.orders[order.client_order_id] = order
        gateway.submit_order(order)
        return order

    def reports(self, cid: str) -> list[OrderReport]:
        return [e for e in self.log if isinstance(e, OrderReport) and e.client_order_id == cid]

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports(cid)]

    def fills(self, cid: str) -> list[Fill]:
        return [e for e in self.log if isinstance(e, Fill) and e.client_order_id == cid]

    def positions(self, symbol: str) -> list[PositionUpdate]:
        return [e for e in self.log if isinstance(e, PositionUpdate) and e.symbol == symbol]

    def balances(self, asset: str) -> list[BalanceUpdate]:
        return [e for e in self.log if isinstance(e, BalanceUpdate) and e.asset == asset]

    def last_position_qty(self, symbol: str) -> float | None:
        pos = self.positions(symbol)
        return pos[-1].qty if pos else None


def assert_fills_precede_reports(rec: Recorder, cid: str) -> None:
    """Every report's cumulative fill equals the fills delivered before it (a fill is never
    announced by a report before the fill itself arrived, and never left unaccounted)."""
    acc = 0.0
    for ev in rec.log:
        if isinstance(ev, Fill) and ev.client_order_id == cid:
            acc += ev.qty
        elif isinstance(ev, OrderReport) and ev.client_order_id == cid:
            assert ev.filled_qty == pytest.approx(acc), (ev, acc)


async def assert_fills_match_venue(gateway: OkxGateway, rec: Recorder, cid: str) -> list[Fill]:
    """The gateway's fills for ``cid`` are exactly the venue's ``/trade/fills`` rows for the
    order: same trade ids, sizes, prices and fees, nothing missing, nothing twice."""
    got = rec.fills(cid)
    venue_id = rec.reports(cid)[-1].venue_order_id
    assert venue_id
    rows = await gateway.rest.fills(inst_id=NATIVE, ord_id=venue_id)
    venue = [P.parse_fill_row(r, 0, cid) for r in rows]

    def key(f: Fill) -> tuple[str, float, float, float, Side]:
        return (f.trade_id, f.qty, f.price, round(f.fee, 9), f.side)

    assert len({f.trade_id for f in got}) == len(got), "duplicate trade ids"
    assert sorted(map(key, got)) == sorted(map(key, venue))
    return got


def vwap(fills: list[Fill]) -> float:
    qty = sum(f.qty for f in fills)
    return sum(f.qty * f.price for f in fills) / qty


async def book(gateway: OkxGateway) -> BookLevels:
    """The venue's book now (REST snapshot)."""
    return P.parse_book_levels(SWAP, await gateway.rest.books(NATIVE, sz=10), True, 0)


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": START_USDT},
            symbols=[NATIVE],
            seed=11,
            tick_interval_ms=0,  # frozen: the book moves only when our orders take liquidity
        )
    )
    await e.start("127.0.0.1", 0)
    try:
        yield e
    finally:
        await e.stop()


@pytest.fixture
async def gw(emu: Any) -> AsyncIterator[tuple[Any, OkxGateway, Recorder, Instrument]]:
    gateway = OkxGateway(emu.base_url, KEY, SECRET, PASS, inst_types=("SWAP",), ws_config=FAST_WS)
    rec = Recorder()
    gateway.bind(rec)
    gateway.bind_data(rec)
    await gateway.start()
    try:
        assert gateway.private is not None and gateway.private.connected
        inst = gateway.instruments()[SWAP]
        assert inst.kind is InstrumentKind.SWAP and inst.settle == "USDT"
        assert inst.contract_value > 0 and inst.lot_size == 1.0
        # The account snapshot on subscribe: the starting cash, nothing in use.
        await until(lambda: bool(rec.balances("USDT")), "the initial account push")
        first = rec.balances("USDT")[0]
        assert first.total == pytest.approx(START_USDT) and first.free == pytest.approx(START_USDT)
        yield emu, gateway, rec, inst
    finally:
        await gateway.stop()


def _fee(inst: Instrument, f: Fill, rate: float) -> float:
    return f.qty * inst.contract_value * f.price * rate


async def test_swap_leverage_resting_partial_market_fills_position_and_close(
    gw: tuple[Any, OkxGateway, Recorder, Instrument],
) -> None:
    _, gateway, rec, inst = gw
    ct = inst.contract_value

    # -- leverage --------------------------------------------------------------------------
    lev = await gateway.rest.set_leverage(5, "cross", inst_id=NATIVE)
    assert lev["lever"] == "5" and lev["instId"] == NATIVE

    b0 = await book(gateway)
    (bid_px, _), (ask_px, ask_sz) = b0.bids[0], b0.asks[0]
    assert bid_px < ask_px

    # -- a limit buy well under the market rests ----------------------------------------------
    resting = rec.submit(
        gateway,
        Order(
            "swrest1",
            SWAP,
            Side.BUY,
            2,
            order_type=OrderType.LIMIT,
            price=inst.round_price(bid_px * 0.95),
        ),
    )
    await until(lambda: S.ACCEPTED in rec.statuses("swrest1"), "swrest1 accepted")
    open_now = {r.client_order_id: r for r in await gateway.fetch_open_orders("SWAP")}
    assert open_now["swrest1"].status is S.ACCEPTED
    assert rec.positions(SWAP) == []  # a resting order opens no position

    # -- a marketable limit for more than the best ask holds: partial taker fill, rest rests ---
    take_qty = ask_sz + 3
    take = rec.submit(
        gateway,
        Order("swtake1", SWAP, Side.BUY, take_qty, order_type=OrderType.LIMIT, price=ask_px),
    )
    await until(lambda: S.PARTIALLY_FILLED in rec.statuses("swtake1"), "swtake1 partial fill")
    await until(lambda: rec.last_position_qty(SWAP) == ask_sz, "position after the partial fill")
    pos = rec.positions(SWAP)[-1]
    assert pos.avg_price == pytest.approx(ask_px)
    gateway.cancel_order(take)
    await until(lambda: S.CANCELED in rec.statuses("swtake1"), "swtake1 canceled")
    assert rec.statuses("swtake1") == [S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCELED]
    final = rec.reports("swtake1")[-1]
    assert final.filled_qty == pytest.approx(ask_sz) and final.avg_price == pytest.approx(ask_px)
    (tf,) = rec.fills("swtake1")
    assert (tf.side, tf.qty, tf.price, tf.liquidity) == (Side.BUY, ask_sz, ask_px, Liquidity.TAKER)
    assert tf.fee_ccy == "USDT" and tf.fee == pytest.approx(_fee(inst, tf, inst.taker_fee))
    assert take.status is S.CANCELED and take.filled_qty == pytest.approx(ask_sz)

    # -- a market buy that sweeps three levels ----------------------------------------------
    # Liquidity a taker order consumed stays consumed, so the sweep starts at the level after
    # the one swtake1 emptied (from the snapshot taken before we traded).
    levels = b0.asks[1:4]
    mkt_qty = levels[0][1] + levels[1][1] + 1
    expected = [(levels[0][0], levels[0][1]), (levels[1][0], levels[1][1]), (levels[2][0], 1.0)]
    mkt = rec.submit(gateway, Order("swmkt1", SWAP, Side.BUY, mkt_qty))
    await until(lambda: S.FILLED in rec.statuses("swmkt1"), "swmkt1 filled")
    statuses = rec.statuses("swmkt1")
    assert statuses[0] is S.ACCEPTED and statuses[-1] is S.FILLED
    assert set(statuses[1:-1]) <= {S.PARTIALLY_FILLED}
    filled = [r.filled_qty for r in rec.reports("swmkt1")]
    assert filled == sorted(filled) and filled[-1] == pytest.approx(mkt_qty)
    mf = rec.fills("swmkt1")
    assert [(f.price, f.qty) for f in mf] == expected
    assert all(f.side is Side.BUY and f.liquidity is Liquidity.TAKER for f in mf)
    assert all(f.fee == pytest.approx(_fee(inst, f, inst.taker_fee)) for f in mf)
    assert rec.reports("swmkt1")[-1].avg_price == pytest.approx(vwap(mf), abs=inst.tick_size)
    assert mkt.status is S.FILLED and mkt.filled_qty == pytest.approx(mkt_qty)

    # -- the position the gateway reports is the sum of the fills -----------------------------
    buys = [tf, *mf]
    long_qty = sum(f.qty for f in buys)
    await until(lambda: rec.last_position_qty(SWAP) == long_qty, f"position {long_qty}")
    pos = rec.positions(SWAP)[-1]
    assert pos.avg_price == pytest.approx(vwap(buys), abs=inst.tick_size)
    (rest_pos,) = await gateway.fetch_positions("SWAP")
    assert (rest_pos.symbol, rest_pos.qty) == (SWAP, long_qty)
    assert rest_pos.avg_price == pytest.approx(pos.avg_price)
    assert rest_pos.unrealized_pnl == pytest.approx(pos.unrealized_pnl)
    (raw,) = await gateway.rest.positions(inst_id=NATIVE)
    assert (raw["lever"], raw["posSide"], raw["mgnMode"]) == ("5", "net", "cross")

    # -- the account: equity = cash - fees + unrealised PnL; margin and the open order hold -----
    fees = sum(f.fee for f in buys)
    rest_usdt = {b.asset: b for b in await gateway.fetch_balances()}["USDT"]
    assert rest_usdt.total == pytest.approx(START_USDT - fees + rest_pos.unrealized_pnl)
    margin = long_qty * ct * pos.avg_price / 5
    assert rest_usdt.free < rest_usdt.total - 0.9 * margin  # 5x margin (and the order) in use
    await until(
        lambda: (
            rec.balances("USDT")[-1].total == pytest.approx(rest_usdt.total)
            and rec.balances("USDT")[-1].free == pytest.approx(rest_usdt.free)
        ),
        "the account push to match REST",
    )

    # -- close with a reduce-only market sell: the position goes flat --------------------------
    close = rec.submit(
        gateway,
        Order("swclose1", SWAP, Side.SELL, long_qty, order_type=OrderType.MARKET, reduce_only=True),
    )
    await until(lambda: S.FILLED in rec.statuses("swclose1"), "swclose1 filled")
    sells = rec.fills("swclose1")
    assert sum(f.qty for f in sells) == pytest.approx(long_qty)
    assert all(f.side is Side.SELL and f.price <= bid_px for f in sells)
    assert close.status is S.FILLED
    await until(lambda: rec.last_position_qty(SWAP) == 0.0, "the position to go flat")
    assert [p for p in await gateway.fetch_positions("SWAP") if p.qty != 0] == []

    # -- the resting order never filled; cancel it and nothing is held any more ----------------
    assert rec.statuses("swrest1") == [S.ACCEPTED] and rec.fills("swrest1") == []
    gateway.cancel_order(resting)
    await until(lambda: S.CANCELED in rec.statuses("swrest1"), "swrest1 canceled")
    assert rec.fills("swrest1") == []
    all_fees = fees + sum(f.fee for f in sells)
    realized = ct * (sum(f.qty * f.price for f in sells) - sum(f.qty * f.price for f in buys))
    cash = START_USDT - all_fees + realized
    await until(
        lambda: (
            rec.balances("USDT")[-1].total == pytest.approx(cash)
            and rec.balances("USDT")[-1].free == pytest.approx(cash)
        ),
        f"the account push to show {cash} USDT, all free",
    )
    rest_usdt = {b.asset: b for b in await gateway.fetch_balances()}["USDT"]
    assert rest_usdt.total == pytest.approx(cash) and rest_usdt.free == pytest.approx(cash)

    # -- fills: exactly the venue's, no duplicates; reports never ran ahead of fills ----------
    for cid in ("swtake1", "swmkt1", "swclose1"):
        await assert_fills_match_venue(gateway, rec, cid)
        assert_fills_precede_reports(rec, cid)
    await gateway.drain()
    assert rec.violations == []


async def test_swap_short_position_is_signed_and_closes_flat(
    gw: tuple[Any, OkxGateway, Recorder, Instrument],
) -> None:
    _, gateway, rec, inst = gw
    lev = await gateway.rest.set_leverage(3, "cross", inst_id=NATIVE)
    assert lev["lever"] == "3"
    b0 = await book(gateway)
    qty = b0.bids[0][1] + 2  # sweeps the best bid and part of the next level
    rec.submit(gateway, Order("swshort1", SWAP, Side.SELL, qty))
    await until(lambda: S.FILLED in rec.statuses("swshort1"), "swshort1 filled")
    sells = await assert_fills_match_venue(gateway, rec, "swshort1")
    assert [(f.price, f.qty) for f in sells] == [b0.bids[0], (b0.bids[1][0], 2.0)]
    await until(lambda: rec.last_position_qty(SWAP) == -qty, f"a short of {qty}")
    pos = rec.positions(SWAP)[-1]
    assert pos.avg_price == pytest.approx(vwap(sells), abs=inst.tick_size)
    (rest_pos,) = await gateway.fetch_positions("SWAP")
    assert (rest_pos.qty, rest_pos.avg_price) == (pos.qty, pos.avg_price)
    (raw,) = await gateway.rest.positions(inst_id=NATIVE)
    assert raw["lever"] == "3" and float(raw["pos"]) == -qty

    rec.submit(
        gateway,
        Order("swcover1", SWAP, Side.BUY, qty, order_type=OrderType.MARKET, reduce_only=True),
    )
    await until(lambda: S.FILLED in rec.statuses("swcover1"), "swcover1 filled")
    buys = await assert_fills_match_venue(gateway, rec, "swcover1")
    assert sum(f.qty for f in buys) == pytest.approx(qty)
    await until(lambda: rec.last_position_qty(SWAP) == 0.0, "the short to be covered")
    assert [p for p in await gateway.fetch_positions("SWAP") if p.qty != 0] == []
    fees = sum(f.fee for f in [*sells, *buys])
    realized = inst.contract_value * (
        sum(f.qty * f.price for f in sells) - sum(f.qty * f.price for f in buys)
    )
    rest_usdt = {b.asset: b for b in await gateway.fetch_balances()}["USDT"]
    assert rest_usdt.total == pytest.approx(START_USDT - fees + realized)
    for cid in ("swshort1", "swcover1"):
        assert_fills_precede_reports(rec, cid)
    await gateway.drain()
    assert rec.violations == []
