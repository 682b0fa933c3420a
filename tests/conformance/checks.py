"""The conformance checks: one coroutine per Gateway contract rule / lifecycle path.

Every check takes a started :class:`~.harness.VenueHarness` and raises AssertionError when the
venue breaks the contract (``src/tradeloop/venues/base.py``, rules quoted as "rule N"). They
speak only the Gateway API plus the harness's venue-neutral questions, so they run unchanged
against every venue. After each check the test also asserts the recorder's emission rules
(:meth:`~.harness.Recorder.violations`) over everything the gateway said.

:data:`CHECKS` lists them with the capabilities each needs (a venue lacking one is skipped
with its harness's reason).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from tradeloop.model import (
    BookLevels,
    Fill,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TradeTick,
)
from tradeloop.venues.base import RECONNECTED, RESYNC, Gateway

from .harness import BookFault, Can, LostReplyKind, Recorder, VenueHarness, new_id, until

S = OrderStatus
R = RejectReason
BUY, SELL = Side.BUY, Side.SELL
#: Plain decimal text: digits, optionally a point and digits. No sign, exponent, spaces.
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- helpers ---------------------------------------------------------------------------------
def limit_order(
    v: VenueHarness,
    cid: str,
    side: Side,
    price: float,
    qty: float | None = None,
    symbol: str | None = None,
) -> Order:
    return Order(cid, symbol or v.symbol, side, qty or v.order_qty, OrderType.LIMIT, price)


def submit(v: VenueHarness, order: Order, gateway: Gateway | None = None) -> None:
    """``submit_order``, which must never raise for venue-side problems (rule 1)."""
    gw = gateway or v.gateway
    try:
        gw.submit_order(order)
    except Exception as exc:  # the contract: the outcome is a report, never an exception
        raise AssertionError(
            f"submit_order({order.client_order_id}) raised {exc!r} (rule 1)"
        ) from exc


async def resting(v: VenueHarness, tag: str, side: Side = BUY, qty: float | None = None) -> Order:
    """A limit order far from the market, acknowledged (ACCEPTED) and settled."""
    order = limit_order(v, new_id(tag), side, v.resting_price(side), qty)
    submit(v, order)
    await until(lambda: v.rec.has(order.client_order_id, S.ACCEPTED) or ended(v.rec, order),
                f"{order.client_order_id} ACCEPTED")  # fmt: skip
    await v.gateway.drain()
    assert v.rec.statuses(order.client_order_id) == [S.ACCEPTED], v.rec.reports(
        order.client_order_id
    )
    return order


def ended(rec: Recorder, order: Order) -> bool:
    last = rec.last(order.client_order_id)
    return last is not None and last.status.is_terminal


async def finished(v: VenueHarness, order: Order, what: str = "", timeout: float = 10.0) -> None:
    await until(lambda: ended(v.rec, order), what or f"{order.client_order_id} to finish", timeout)
    await v.gateway.drain()


def one_venue_order(v: VenueHarness, cid: str) -> None:
    orders = v.venue_orders(cid)
    assert len(orders) == 1, f"{len(orders)} orders at the venue under {cid} (rule 3): {orders}"


def fills_match_venue(v: VenueHarness, cid: str) -> list[Fill]:
    """The gateway delivered exactly the venue's fills of ``cid``: each trade once, nothing
    missing, same sides, sizes, prices and the venue's time of each (``Fill.venue_ts``, to
    the millisecond venues write: funding is set against it)."""
    got = v.rec.fills(cid)
    assert len({f.trade_id for f in got}) == len(got), f"{cid}: a trade id delivered twice"

    def key(side: Side, qty: float, price: float, ts: int) -> tuple[str, float, float, int]:
        return (side.value, round(qty, 10), round(price, 8), ts // 1_000_000)

    mine = sorted(key(f.side, f.qty, f.price, f.venue_ts) for f in got)
    venue = sorted(key(f.side, f.qty, f.price, f.ts) for f in v.venue_fills(cid))
    assert mine == venue, f"{cid}: gateway fills {mine} != venue fills {venue}"
    return got


def assert_avg_price(v: VenueHarness, avg: float, fills: list[Fill]) -> None:
    """``avg_price`` is the fills' VWAP, to within one tick (venues may round it)."""
    vwap = sum(f.qty * f.price for f in fills) / sum(f.qty for f in fills)
    tick = v.instrument(fills[0].symbol).tick_size
    assert abs(avg - vwap) <= tick * (1 + 1e-9), f"avg_price {avg} vs the fills' VWAP {vwap}"


def assert_fill_then_report(rec: Recorder, cid: str) -> None:
    """Each fill of ``cid`` is followed by a report counting it (rule 2), none after the end."""
    log = rec.log
    idx = {id(e): i for i, e in enumerate(log)}
    final = rec.last(cid)
    assert final is not None
    for f in rec.fills(cid):
        assert idx[id(f)] < idx[id(final)], f"{cid}: fill {f.trade_id} after the final report"


# -- rule 4: identity --------------------------------------------------------------------------
async def identity(v: VenueHarness) -> None:
    """``instruments()`` is keyed by instrument id ``NATIVE.VENUE``; the native symbol is what
    the wire speaks and differs from the id."""
    insts = v.gateway.instruments()
    assert v.symbol in insts, f"{v.symbol} not listed"
    for key, inst in insts.items():
        assert key == inst.symbol, f"key {key!r} != its instrument's id {inst.symbol!r}"
        assert key.endswith("." + v.venue), f"{key!r} is not a {v.venue} instrument id"
        assert inst.venue == v.venue, f"{key}: venue {inst.venue!r}"
        assert inst.native and inst.native != key and key == f"{inst.native}.{v.venue}"
        assert inst.tick_size > 0 and inst.lot_size > 0


# -- rules 1, 2: place, cancel, fill, partial fill, reject ---------------------------------------
async def place_resting(v: VenueHarness) -> None:
    """A resting limit order: ACCEPTED only, one working order at the venue at the rounded
    price and size, listed by ``fetch_open_orders`` under our client id."""
    order = await resting(v, "rest")
    cid = order.client_order_id
    inst = v.instrument()
    one_venue_order(v, cid)
    (at_venue,) = v.venue_orders(cid)
    assert at_venue.status is S.ACCEPTED and at_venue.filled == 0
    assert close(at_venue.price, inst.round_price(order.price)), at_venue
    assert close(at_venue.qty, inst.round_qty(order.qty)), at_venue
    report = v.rec.reports(cid)[0]
    assert report.symbol == v.symbol and report.venue_order_id, report
    listed = [r for r in await v.gateway.fetch_open_orders() if r.client_order_id == cid]
    assert len(listed) == 1, f"fetch_open_orders lists {cid} {len(listed)} times"
    assert listed[0].symbol == v.symbol and listed[0].status is S.ACCEPTED, listed[0]
    assert v.rec.fills(cid) == []


async def cancel(v: VenueHarness) -> None:
    """Cancel: ACCEPTED then CANCELED, the venue agrees, a second cancel of the finished order
    says nothing more; a cancel of an order the venue never had is reported (rule 6), not
    dropped."""
    order = await resting(v, "cxl")
    cid = order.client_order_id
    v.gateway.cancel_order(order)
    await finished(v, order)
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.CANCELED], v.rec.reports(cid)
    (at_venue,) = v.venue_orders(cid)
    assert at_venue.status is S.CANCELED, at_venue
    assert cid not in {r.client_order_id for r in await v.gateway.fetch_open_orders()}
    order.status = S.CANCELED  # what the engine holds now
    v.gateway.cancel_order(order)
    await v.gateway.drain()
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.CANCELED]

    ghost = limit_order(v, new_id("ghost"), BUY, v.resting_price(BUY))
    ghost.status = S.ACCEPTED  # the engine believes it works (e.g. a stale view)
    v.gateway.cancel_order(ghost)
    await until(lambda: bool(v.rec.reports(ghost.client_order_id)), "the failed cancel's report")
    await v.gateway.drain()
    (report,) = v.rec.reports(ghost.client_order_id)
    assert report.code is R.CANCEL_FAILED, report
    assert report.status in (S.ACCEPTED, S.PARTIALLY_FILLED), report
    assert v.venue_orders(ghost.client_order_id) == []


async def cancel_while_placing(v: VenueHarness) -> None:
    """A cancel asked before the placement's answer is back is held and sent once the order
    is placed (sent at once it would find nothing and be lost): one order, CANCELED."""
    order = limit_order(v, new_id("cwp"), BUY, v.resting_price(BUY))
    cid = order.client_order_id
    submit(v, order)
    v.gateway.cancel_order(order)  # no await in between: the placement is still in flight
    await finished(v, order)
    assert v.rec.statuses(cid)[-1] is S.CANCELED, v.rec.reports(cid)
    assert not [r for r in v.rec.reports(cid) if r.code is R.CANCEL_FAILED], v.rec.reports(cid)
    one_venue_order(v, cid)
    assert v.venue_orders(cid)[0].status is S.CANCELED


async def fill_marketable(v: VenueHarness) -> None:
    """A marketable limit buy and a market sell fill as taker: fills first, each trade once,
    cumulative ``filled_qty``, ``avg_price`` the fills' VWAP, the venue's fills exactly."""
    qty = v.order_qty
    px = v.marketable_price(BUY)
    buy = limit_order(v, new_id("take"), BUY, px, qty)
    submit(v, buy)
    await finished(v, buy)
    sell = Order(new_id("mkt"), v.symbol, SELL, qty)  # market order
    submit(v, sell)
    await finished(v, sell)
    for order, limit in ((buy, px), (sell, None)):
        cid = order.client_order_id
        final = v.rec.last(cid)
        assert final is not None and final.status is S.FILLED, v.rec.reports(cid)
        fills = fills_match_venue(v, cid)
        assert fills and close(sum(f.qty for f in fills), qty), fills
        assert close(final.filled_qty, qty), final
        assert_avg_price(v, final.avg_price, fills)
        for f in fills:
            assert f.side is order.side and f.symbol == v.symbol and f.liquidity is Liquidity.TAKER
            assert limit is None or f.price <= limit + 1e-9, f"fill {f.price} beyond {limit}"
        assert_fill_then_report(v.rec, cid)
        (at_venue,) = v.venue_orders(cid)
        assert at_venue.status is S.FILLED


async def partial_fill(v: VenueHarness) -> None:
    """A resting order traded through in two parts: ACCEPTED, PARTIALLY_FILLED, FILLED, each
    fill delivered before the report counting it, as maker at the order's price."""
    inst = v.instrument()
    qty = inst.round_qty(v.order_qty * 4)
    order = await resting(v, "part", BUY, qty)
    cid = order.client_order_id
    price = inst.round_price(order.price)
    first = inst.round_qty(qty / 4)
    v.trade_through(cid, first)
    await until(lambda: v.rec.has(cid, S.PARTIALLY_FILLED), f"{cid} PARTIALLY_FILLED")
    part = v.rec.last(cid)
    assert part is not None and close(part.filled_qty, first), part
    assert close(v.rec.filled(cid), first), v.rec.fills(cid)
    v.trade_through(cid, qty - first)
    await finished(v, order)
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED], v.rec.reports(cid)
    final = v.rec.last(cid)
    assert final is not None and close(final.filled_qty, qty) and close(final.avg_price, price)
    fills = fills_match_venue(v, cid)
    assert close(sum(f.qty for f in fills), qty)
    assert all(f.liquidity is Liquidity.MAKER and close(f.price, price) for f in fills), fills
    assert_fill_then_report(v.rec, cid)


async def _refused(v: VenueHarness, cases: list[tuple[Order, set[RejectReason]]]) -> None:
    for order, _ in cases:
        submit(v, order)
    for order, codes in cases:
        cid = order.client_order_id
        await until(lambda c=cid: bool(v.rec.reports(c)), f"{cid}'s answer")  # type: ignore[misc]
        await v.gateway.drain()
        reports = v.rec.reports(cid)
        assert [r.status for r in reports] == [S.REJECTED], f"{cid}: not refused: {reports}"
        report = reports[0]
        assert report.code in codes, f"{cid}: code {report.code} (want {codes}): {report.reason}"
        assert report.reason, f"{cid}: REJECTED without a reason"
        assert v.venue_orders(cid) == [], f"{cid} refused but at the venue"


async def reject(v: VenueHarness) -> None:
    """Refusals are REJECTED reports with a typed reason, never exceptions from submit (rule 1),
    and leave nothing at the venue: short funds, an unknown instrument, a NaN price, a
    negative size."""
    inst = v.instrument()
    price = v.resting_price(BUY)
    # A buy pays (spot) or margins (derivatives) in this currency: ask for 10x its balance in
    # notional (beyond any leverage up to 10; far more trips venues' max-size filters).
    pays = inst.quote if not inst.is_derivative else inst.settle
    funds = {b.key: b.total for b in await v.gateway.fetch_balances()}.get(pays, 0.0)
    too_much = inst.round_qty(max(funds, 1.0) * 10 / inst.settle_value(1.0, price))
    await _refused(v, [
        (limit_order(v, new_id("funds"), BUY, price, too_much), {R.INSUFFICIENT_FUNDS}),
        (limit_order(v, new_id("inst"), BUY, price, symbol=f"NOPE-USDT.{v.venue}"),
         {R.INVALID_INSTRUMENT}),
        (limit_order(v, new_id("nan"), BUY, math.nan), {R.INVALID_PRICE}),
        (limit_order(v, new_id("neg"), BUY, price, -v.order_qty), {R.INVALID_SIZE}),
    ])  # fmt: skip


async def reject_rounding_to_zero(v: VenueHarness) -> None:
    """A size below one lot or a price below one tick rounds to zero (rule 5): refused with
    INVALID_SIZE / INVALID_PRICE before anything trades, never placed as something else."""
    inst = v.instrument()
    lot = max(inst.lot_size, inst.min_size)
    await _refused(v, [
        (limit_order(v, new_id("dust"), BUY, v.resting_price(BUY), inst.lot_size / 10),
         {R.INVALID_SIZE}),
        (limit_order(v, new_id("tiny"), BUY, inst.tick_size / 10, lot), {R.INVALID_PRICE}),
    ])  # fmt: skip


# -- rule 3: idempotency -------------------------------------------------------------------------
async def duplicate_client_id(v: VenueHarness) -> None:
    """Submitting the same client id twice makes one order at the venue, and the working order
    is never reported rejected; it can still be canceled."""
    order = await resting(v, "dup")
    cid = order.client_order_id
    again = limit_order(v, cid, BUY, order.price)
    submit(v, order)
    submit(v, again)
    await v.gateway.drain()
    await asyncio.sleep(0.05)  # anything the repeats caused has arrived
    one_venue_order(v, cid)
    assert v.venue_orders(cid)[0].status is S.ACCEPTED
    assert v.rec.statuses(cid) == [S.ACCEPTED], f"a repeat was reported: {v.rec.reports(cid)}"
    v.gateway.cancel_order(order)
    await finished(v, order)
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.CANCELED], v.rec.reports(cid)


async def duplicate_client_id_across_sessions(v: VenueHarness) -> None:
    """A restarted process re-submits an order the venue already has (same client id): still
    one order, reported as the working order it is (never REJECTED), and cancelable from the
    new session."""
    order = await resting(v, "dupx")
    cid = order.client_order_id
    rec2 = Recorder(v.venue)
    second = await v.new_session(rec2)
    submit(v, limit_order(v, cid, BUY, order.price), second)
    await until(lambda: bool(rec2.reports(cid)), "the second session's report")
    await second.drain()
    one_venue_order(v, cid)
    assert rec2.statuses(cid) == [S.ACCEPTED], rec2.reports(cid)
    second.cancel_order(order)
    await until(lambda: rec2.has(cid, S.CANCELED), "the cancel from the second session")
    await second.drain()
    assert v.venue_orders(cid)[0].status is S.CANCELED
    rec2.assert_clean()


async def lost_reply(v: VenueHarness, kind: LostReplyKind) -> None:
    """The venue runs a marketable placement and its answer is lost: resolved by client id, one
    order, FILLED with every fill once, never REJECTED (rule 3)."""
    order = limit_order(v, new_id(f"lost{kind[0]}"), BUY, v.marketable_price(BUY))
    cid = order.client_order_id
    v.lose_place_replies(1, kind)
    submit(v, order)
    await finished(v, order)
    assert v.faults_pending() == 0, "the lost-reply fault was not served"
    one_venue_order(v, cid)
    assert S.REJECTED not in v.rec.statuses(cid), v.rec.reports(cid)
    final = v.rec.last(cid)
    assert final is not None and final.status is S.FILLED, v.rec.reports(cid)
    fills = fills_match_venue(v, cid)
    assert close(sum(f.qty for f in fills), order.qty)


async def lost_reply_5xx(v: VenueHarness) -> None:
    await lost_reply(v, "5xx")


async def lost_reply_drop(v: VenueHarness) -> None:
    await lost_reply(v, "drop")


async def in_doubt_resolved_by_lookup(v: VenueHarness) -> None:
    """The placement ran but every answer about it was lost, so its outcome is unknown: the
    order is looked up by client id and reported ACCEPTED (it exists), never REJECTED
    (rule 3)."""
    order = limit_order(v, new_id("doubt"), BUY, v.resting_price(BUY))
    cid = order.client_order_id
    v.make_placement_in_doubt()
    submit(v, order)
    await until(lambda: bool(v.rec.reports(cid)), f"{cid}'s outcome", timeout=15)
    await v.gateway.drain()
    assert v.rec.statuses(cid) == [S.ACCEPTED], f"in-doubt order: {v.rec.reports(cid)}"
    one_venue_order(v, cid)
    assert v.faults_pending() == 0, "the lost-reply fault was not served"
    v.gateway.cancel_order(order)
    await finished(v, order)


# -- rule 6: cancel under a 429 storm, amend ---------------------------------------------------
async def rate_limit_storm_on_cancel(v: VenueHarness) -> None:
    """A 429 storm longer than the transport's own retries: the cancel is re-sent until it
    goes through — CANCELED, no CANCEL_FAILED, the whole storm served."""
    order = await resting(v, "storm")
    cid = order.client_order_id
    storm = 3 * max(v.rest_attempts, 1)
    v.fail_next(storm)
    v.gateway.cancel_order(order)

    def settled() -> bool:
        return ended(v.rec, order) or any(r.code is R.CANCEL_FAILED for r in v.rec.reports(cid))

    await until(settled, f"{cid} canceled through the storm", timeout=15)
    await v.gateway.drain()
    failed = [r for r in v.rec.reports(cid) if r.code is R.CANCEL_FAILED]
    assert not failed, f"the cancel gave up during the storm: {failed}"
    assert v.faults_pending() == 0, f"{v.faults_pending()} storm answers never asked for"
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.CANCELED], v.rec.reports(cid)
    assert v.venue_orders(cid)[0].status is S.CANCELED


async def rate_limited_placement(v: VenueHarness) -> None:
    """A placement refused by a 429 storm outlasting the transport's retries is a REJECTED
    report typed as *transient* (so the engine retries it later), not an exception, and leaves
    nothing at the venue; once the storm is over the same order goes through."""
    order = limit_order(v, new_id("rl"), BUY, v.resting_price(BUY))
    cid = order.client_order_id
    v.fail_next(2 * max(v.rest_attempts, 1))
    submit(v, order)
    await finished(v, order, timeout=15)
    final = v.rec.last(cid)
    assert final is not None and final.status is S.REJECTED, v.rec.reports(cid)
    assert final.code.transient, f"a rate-limit refusal typed {final.code} (not transient)"
    assert v.venue_orders(cid) == [], "refused, yet at the venue"
    v.fail_next(0)
    again = limit_order(v, new_id("rl"), BUY, order.price)
    submit(v, again)
    await until(lambda: v.rec.has(again.client_order_id, S.ACCEPTED), "the retry placed")
    v.gateway.cancel_order(again)
    await finished(v, again)


async def amend(v: VenueHarness) -> None:
    """Amend changes price and size at the venue, answered by a report repeating the working
    state with reason ``amended`` (rule 6); an insane amend is refused before the wire with a
    typed code. A venue that cannot amend answers ``amend failed`` with a typed code, cleanly."""
    inst = v.instrument()
    order = await resting(v, "amd")
    cid = order.client_order_id
    new_px = inst.round_price(order.price * 0.99)
    new_qty = inst.round_qty(order.qty * 2)
    v.gateway.amend_order(order, qty=new_qty, price=new_px)
    await until(lambda: len(v.rec.reports(cid)) >= 2, "the amend's outcome")
    await v.gateway.drain()
    outcome = v.rec.reports(cid)[1]
    (at_venue,) = v.venue_orders(cid)
    if v.why_not(Can.AMEND):
        assert outcome.status is S.ACCEPTED and outcome.reason.startswith("amend failed"), outcome
        assert outcome.code is not R.NONE, outcome
        assert close(at_venue.price, inst.round_price(order.price)), at_venue
    else:
        assert outcome.status is S.ACCEPTED and outcome.code is R.NONE, outcome
        assert outcome.reason.startswith("amended"), outcome
        assert close(at_venue.price, new_px) and close(at_venue.qty, new_qty), at_venue
        assert at_venue.status is S.ACCEPTED
    v.gateway.amend_order(order, price=math.nan)
    await until(lambda: len(v.rec.reports(cid)) >= 3, "the refused amend's outcome")
    await v.gateway.drain()
    refused = v.rec.reports(cid)[2]
    assert refused.status is S.ACCEPTED and refused.reason.startswith("amend failed"), refused
    assert refused.code is R.INVALID_PRICE, refused
    assert v.venue_orders(cid)[0].price == at_venue.price
    v.gateway.cancel_order(order)
    await finished(v, order)
    assert v.rec.last(cid).status is S.CANCELED  # type: ignore[union-attr]


# -- private stream drop + catch-up ---------------------------------------------------------------
async def _second_drop_changes_nothing(v: VenueHarness, cid: str) -> None:
    n_reports, n_fills = len(v.rec.reports(cid)), len(v.rec.fills(cid))
    before = len(v.rec.status_events(RECONNECTED))
    assert v.drop_private() >= 1
    await until(lambda: len(v.rec.status_events(RECONNECTED)) > before, "the 2nd reconnect")
    await asyncio.sleep(0.1)
    await v.gateway.drain()  # the catch-up that reconnect started has run
    assert len(v.rec.reports(cid)) == n_reports, "a finished order reported again"
    assert len(v.rec.fills(cid)) == n_fills, "a fill delivered again after a reconnect"


async def private_drop_fill_caught_up(v: VenueHarness) -> None:
    """The order fills while the private stream is down (its pushes are lost): after the
    reconnect the gateway catches up by itself — the fill exactly once, before the FILLED
    report; a second drop delivers nothing again."""
    order = await resting(v, "drop")
    cid = order.client_order_id
    # One synchronous block: the gateway cannot notice, let alone reconnect, before the fill.
    assert v.drop_private() >= 1, "no socket was dropped"
    v.trade_through(cid, order.qty)
    assert v.rec.statuses(cid) == [S.ACCEPTED]
    await finished(v, order, f"{cid} FILLED after the reconnect", timeout=15)
    assert v.rec.status_events(RECONNECTED), "no VenueStatus 'reconnected' (rule 8)"
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.FILLED], v.rec.reports(cid)
    fills = fills_match_venue(v, cid)
    assert close(sum(f.qty for f in fills), order.qty), fills
    assert_fill_then_report(v.rec, cid)
    await _second_drop_changes_nothing(v, cid)


async def private_drop_partial_no_duplicate(v: VenueHarness) -> None:
    """A partial fill seen live, the rest filled while the stream is down: the catch-up gets
    the order's fills again and must deliver only the missed one."""
    inst = v.instrument()
    qty = inst.round_qty(v.order_qty * 2)
    order = await resting(v, "dpart", BUY, qty)
    cid = order.client_order_id
    first = inst.round_qty(qty / 2)
    v.trade_through(cid, first)
    await until(lambda: v.rec.has(cid, S.PARTIALLY_FILLED), "the live partial fill")
    await v.gateway.drain()
    (live,) = v.rec.fills(cid)
    assert v.drop_private() >= 1
    v.trade_through(cid, qty - first)
    await finished(v, order, f"{cid} FILLED after the reconnect", timeout=15)
    assert v.rec.statuses(cid) == [S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED], v.rec.reports(cid)
    fills = fills_match_venue(v, cid)
    assert fills[0] == live and len(fills) == 2, fills
    assert close(sum(f.qty for f in fills), qty)
    assert_fill_then_report(v.rec, cid)
    await _second_drop_changes_nothing(v, cid)


# -- market data ---------------------------------------------------------------------------------
def _same_book(local: BookLevels | None, venue: BookLevels) -> bool:
    return local is not None and local.bids == venue.bids and local.asks == venue.asks


async def _book_matches_venue(v: VenueHarness, depth: int, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    venue = await v.venue_book(v.symbol, depth)
    while not _same_book(v.gateway.book(v.symbol, depth), venue):
        if loop.time() > deadline:
            local = v.gateway.book(v.symbol, depth)
            raise AssertionError(f"{what}: local book {local} != venue book {venue}")
        await asyncio.sleep(0.02)
        venue = await v.venue_book(v.symbol, depth)


#: what the gateway must say after each book fault: the book is rebuilt from a fresh
#: snapshot either way, but a dropped socket is a reconnect, not a resync
BOOK_FAULT_STATUS: dict[BookFault, str] = {
    "checksum": RESYNC,
    "gap": RESYNC,
    "unknown_id": RESYNC,
    "drop": RECONNECTED,
}


async def book_resync(v: VenueHarness) -> None:
    """The local book is verified: ``book()``/``quote()`` serve nothing before a subscription,
    then the venue's book and its top; each fault the harness can inject
    (:attr:`~.harness.VenueHarness.book_faults`: a bad checksum, a lost update, an unknown
    level id, a dropped public socket) is noticed (VenueStatus 'resync', or 'reconnected'
    after the drop), a fresh snapshot goes to the data sink, and the book then equals the
    venue's REST book again."""
    depth = 10
    assert v.gateway.book(v.symbol) is None, "book() before any subscription"
    assert v.gateway.quote(v.symbol) is None, "quote() before any subscription"
    await v.gateway.subscribe(v.symbol, ("book",))
    await until(lambda: v.gateway.book(v.symbol) is not None, "a verified local book")
    for _ in range(3):
        v.step_market()
        await asyncio.sleep(0.02)
    await _book_matches_venue(v, depth, "before any fault")
    top, quote = v.gateway.book(v.symbol, 1), v.gateway.quote(v.symbol)
    assert top is not None and quote is not None and quote.symbol == v.symbol
    assert (quote.bid, quote.ask) == (top.bids[0][0], top.asks[0][0]), (quote, top)

    def snapshots() -> int:
        return sum(1 for e in v.rec.market(v.symbol) if type(e) is BookLevels and e.snapshot)

    assert v.book_faults, "a harness with BOOK_FAULTS names at least one book fault"
    for kind in v.book_faults:
        said = BOOK_FAULT_STATUS[kind]
        before, snaps = len(v.rec.status_events(said)), snapshots()
        v.corrupt_book(kind)
        for _ in range(3):  # the faulty update, then ordinary ones
            v.step_market()
            await asyncio.sleep(0.02)
        await until(lambda n=before, s=said: len(v.rec.status_events(s)) > n,  # type: ignore[misc]
                    f"VenueStatus {said!r} after a bad {kind}")  # fmt: skip
        await _book_matches_venue(v, depth, f"after the {kind} resync")
        assert snapshots() > snaps, f"the {kind} resync delivered no fresh snapshot"
    await v.gateway.unsubscribe(v.symbol, ("book",))


async def unsubscribe(v: VenueHarness) -> None:
    """Subscribed channels deliver events carrying the instrument id; after unsubscribe none
    arrive while the market keeps moving, and the book is no longer served."""
    await v.gateway.subscribe(v.symbol, ("book", "trades"))

    def seen(kind: type) -> bool:
        return any(type(e) is kind for e in v.rec.market(v.symbol))

    for _ in range(100):
        if seen(BookLevels) and seen(TradeTick):
            break
        v.step_market()
        await asyncio.sleep(0.01)
    await until(lambda: seen(BookLevels) and seen(TradeTick), "book and trade events")
    now = time.time_ns()
    for e in v.rec.market(v.symbol):  # rule 7: stamped on the engine clock's (wall) time base
        assert abs(e.ts - now) < 60_000_000_000, f"ts {e.ts} is not wall-clock ns: {e}"
    await v.gateway.unsubscribe(v.symbol, ("book", "trades"))
    await asyncio.sleep(0.1)  # frames already on the way
    n = len(v.rec.market(v.symbol))
    for _ in range(20):
        v.step_market()
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.2)
    late = v.rec.market(v.symbol)[n:]
    assert late == [], f"{len(late)} events after unsubscribe, e.g. {late[0]}"
    assert v.gateway.book(v.symbol) is None, "book() still served after unsubscribe"


# -- queries ---------------------------------------------------------------------------------------
def money_moves(v: VenueHarness, fills: list[Fill]) -> dict[str, float]:
    """How much each currency's balance moves by these fills (a closed round trip, so no
    position is left to value): spot swaps base for quote; a linear contract pays its PnL in
    the settle currency, an inverse one in the base; each fee comes out of its own currency."""
    moves: dict[str, float] = {}

    def add(ccy: str, amount: float) -> None:
        moves[ccy] = moves.get(ccy, 0.0) + amount

    for f in fills:
        inst = v.instrument(f.symbol)
        sign = f.side.sign
        if inst.inverse:
            add(inst.settle, sign * f.qty * inst.contract_value / f.price)
        else:
            pays = inst.settle if inst.is_derivative else inst.quote
            add(pays, -sign * f.qty * f.price * inst.contract_value)
            if not inst.is_derivative:
                add(inst.base, sign * f.qty)
        add(f.fee_ccy, -f.fee)
    return moves


async def queries(v: VenueHarness) -> None:
    """``fetch_open_orders`` / ``fetch_fills`` / ``fetch_balances`` / ``fetch_positions`` agree
    with what happened: the working order and only it, every fill with our ids oldest first,
    balances moved by exactly a round trip's fills (fees in their currency), no position
    left."""
    since = time.time_ns() - 1_000_000_000
    before = {b.key: b.total for b in await v.gateway.fetch_balances()}
    open_one = await resting(v, "qopen")
    gone = await resting(v, "qgone", SELL)
    v.gateway.cancel_order(gone)
    await finished(v, gone)
    taken = limit_order(v, new_id("qtake"), BUY, v.marketable_price(BUY))
    submit(v, taken)
    await finished(v, taken)
    back = Order(new_id("qback"), v.symbol, SELL, v.rec.filled(taken.client_order_id))
    submit(v, back)  # the round trip's way back, at market
    await finished(v, back)
    ours = {o.client_order_id for o in (open_one, gone, taken, back)}

    listed = [r for r in await v.gateway.fetch_open_orders() if r.client_order_id in ours]
    assert [r.client_order_id for r in listed] == [open_one.client_order_id], listed
    assert listed[0].symbol == v.symbol and listed[0].status is S.ACCEPTED

    fetched = [f for f in await v.gateway.fetch_fills(since) if f.client_order_id in ours]
    delivered = [f for f in v.rec.log if type(f) is Fill and f.client_order_id in ours]
    assert {f.client_order_id for f in delivered} == {taken.client_order_id, back.client_order_id}
    assert sorted(f.trade_id for f in fetched) == sorted(f.trade_id for f in delivered), (
        f"fetch_fills {fetched} != delivered {delivered}"
    )
    assert [f.ts for f in fetched] == sorted(f.ts for f in fetched), "fills not oldest first"
    assert all(f.symbol == v.symbol for f in fetched)
    assert await v.gateway.fetch_fills(time.time_ns() + 3_600_000_000_000) == []

    after = await v.gateway.fetch_balances()
    assert {b.venue for b in after} == {v.venue}, "BalanceUpdate.venue not set (rule 8)"
    totals = {b.key: b.total for b in after}
    # keyed by wallet and asset (BalanceUpdate.key): the main symbol trades the main wallet,
    # whose keys are the bare assets money_moves uses; another wallet (Binance USD-M) apart
    for asset, moved in money_moves(v, delivered).items():
        got = totals.get(asset, 0.0) - before.get(asset, 0.0)
        assert math.isclose(got, moved, rel_tol=1e-6, abs_tol=1e-8), (
            f"{asset} moved {got}, the fills say {moved}"
        )
    assert all(p.symbol != v.symbol or p.qty == 0 for p in await v.gateway.fetch_positions())
    v.gateway.cancel_order(open_one)
    await finished(v, open_one)


async def positions(v: VenueHarness) -> None:
    """A derivative bought then sold back: ``fetch_positions`` shows the signed quantity by
    instrument id, then nothing."""
    inst = v.instrument(v.derivative)
    qty = max(inst.min_size, inst.lot_size) * 2
    buy = limit_order(v, new_id("pbuy"), BUY, v.marketable_price(BUY, v.derivative), qty,
                      v.derivative)  # fmt: skip
    submit(v, buy)
    await finished(v, buy)
    assert v.rec.last(buy.client_order_id).status is S.FILLED  # type: ignore[union-attr]
    held = [p for p in await v.gateway.fetch_positions() if p.symbol == v.derivative]
    assert len(held) == 1 and close(held[0].qty, qty), held
    sell = Order(new_id("psell"), v.derivative, SELL, qty, reduce_only=True)
    submit(v, sell)
    await finished(v, sell)
    assert v.rec.last(sell.client_order_id).status is S.FILLED  # type: ignore[union-attr]
    left = [p for p in await v.gateway.fetch_positions() if p.symbol == v.derivative]
    assert all(p.qty == 0 for p in left), left


# -- rule 5: numbers on the wire -------------------------------------------------------------------
async def wire_decimals(v: VenueHarness) -> None:
    """Prices and sizes reach the wire rounded to tick/lot as plain decimal text (no exponent,
    no float artefacts), for a placement and an amend given off-grid floats."""
    inst = v.instrument()
    price = v.resting_price(BUY) * (1 + 1.234567e-7)
    qty = v.order_qty * 1.2345678901
    order = limit_order(v, new_id("wire"), BUY, price, qty)
    submit(v, order)
    await until(lambda: v.rec.has(order.client_order_id, S.ACCEPTED), "the off-grid order")
    await v.gateway.drain()
    new_price, new_qty = price * 0.9876543219, qty * 1.7654321
    v.gateway.amend_order(order, qty=new_qty, price=new_price)
    await v.gateway.drain()
    vcid = v.venue_client_id(order.client_order_id)
    sent = [w for w in v.wire_orders() if w.client_id == vcid]
    kinds = [w.kind for w in sent]
    assert "place" in kinds, f"no placement of {vcid} seen on the wire: {v.wire_orders()}"
    want = {"place": (price, qty), "amend": (new_price, new_qty)}
    for w in sent:
        if w.kind == "amend" and v.why_not(Can.AMEND):
            continue
        px, sz = want[w.kind]
        for text, value, exact in ((w.price, px, inst.format_price(px)),
                                   (w.size, sz, inst.format_qty(sz))):  # fmt: skip
            assert text is not None, f"{w.kind} of {vcid} carries no number: {w}"
            assert PLAIN_DECIMAL.fullmatch(text), f"{w.kind}: {text!r} is not plain decimal text"
            assert Decimal(text) == Decimal(exact), f"{w.kind}: {text!r} for {value!r}, not {exact}"
    if not v.why_not(Can.AMEND):
        assert "amend" in kinds, f"no amend of {vcid} seen on the wire"
    v.gateway.cancel_order(order)
    await finished(v, order)


# -- the list ----------------------------------------------------------------------------
Check = Callable[[VenueHarness], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Spec:
    fn: Check
    needs: tuple[Can, ...] = ()

    @property
    def name(self) -> str:
        return self.fn.__name__


CHECKS: list[Spec] = [
    Spec(identity),
    Spec(place_resting),
    Spec(cancel),
    Spec(cancel_while_placing),
    Spec(fill_marketable),
    Spec(partial_fill),
    Spec(reject),
    Spec(reject_rounding_to_zero),
    Spec(duplicate_client_id),
    Spec(duplicate_client_id_across_sessions, (Can.SECOND_SESSION,)),
    Spec(lost_reply_5xx, (Can.LOST_REPLY,)),
    Spec(lost_reply_drop, (Can.LOST_REPLY,)),
    Spec(in_doubt_resolved_by_lookup, (Can.LOST_REPLY,)),
    Spec(rate_limit_storm_on_cancel, (Can.RATE_LIMIT_FAULT,)),
    Spec(rate_limited_placement, (Can.RATE_LIMIT_FAULT,)),
    Spec(amend),
    Spec(private_drop_fill_caught_up, (Can.PRIVATE_DROP,)),
    Spec(private_drop_partial_no_duplicate, (Can.PRIVATE_DROP,)),
    Spec(book_resync, (Can.MARKET_DATA, Can.BOOK_FAULTS)),
    Spec(unsubscribe, (Can.MARKET_DATA,)),
    Spec(queries),
    Spec(positions, (Can.DERIVATIVES,)),
    Spec(wire_decimals, (Can.WIRE,)),
]
