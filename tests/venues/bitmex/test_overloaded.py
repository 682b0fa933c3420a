"""BitMEX's 503 "The system is currently overloaded" over a real socket. BitMEX refuses such
requests on arrival -- they never reach its matching engine -- so the connector retries a
placement through a short burst (one order at the venue, no refusal), and a burst longer than
its retries ends as a plain transient refusal (``venue_unavailable``): not an order in doubt,
so no lookups and no order at the venue. Any other 5xx keeps the kit's meaning (it may have
run: looked up before anything is said)."""

from __future__ import annotations

from tradeloop.core.errors import VenueError
from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import OrderStatus, RejectReason
from tradeloop.venues.bitmex.gateway import BitmexGateway
from tradeloop.venues.bitmex.rest import _Transport
from tradeloop.venues.outcomes import NotExecuted, outcome_unknown

from .conftest import Sink, until
from .test_e2e import order

OVERLOADED = "The system is currently overloaded. Please try again later."


def _final(sink: Sink, cid: str) -> OrderStatus | None:
    done = [r.status for r in sink.reports if r.client_order_id == cid and r.status.is_terminal]
    return done[0] if done else None


def _placed(emu: BitmexEmulator, cid: str) -> int:
    return sum(1 for i in emu.trading.account.infos.values() if i.client_id == cid)


async def test_short_overload_burst_is_retried_into_one_order(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    emu.faults.fail_next(2, "5xx")
    gateway.submit_order(order("busy1", 100))
    await until(lambda: _final(sink, "busy1") is not None, "busy1 finished", 10)
    await gateway.drain()
    assert _final(sink, "busy1") is OrderStatus.FILLED
    assert emu.faults.fail_remaining == 0 and _placed(emu, "busy1") == 1


async def test_long_overload_burst_is_a_transient_refusal_not_an_order_in_doubt(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    emu.faults.fail_next(50, "5xx")
    gateway.submit_order(order("busy2", 100))
    await until(lambda: _final(sink, "busy2") is not None, "busy2 finished", 15)
    left = emu.faults.fail_remaining
    emu.faults.fail_next(0, "5xx")
    await gateway.drain()
    (rej,) = [r for r in sink.reports if r.client_order_id == "busy2" and r.status.is_terminal]
    assert rej.status is OrderStatus.REJECTED and rej.code is RejectReason.VENUE_UNAVAILABLE
    assert "overloaded" in rej.reason
    assert _placed(emu, "busy2") == 0
    # the placement's attempts only (the kit's default: 4), no lookups of an order in doubt
    assert 50 - left == 4, 50 - left


def _envelope(message: str) -> dict[str, dict[str, str]]:
    return {"error": {"message": message, "name": "HTTPError"}}


def test_only_overloaded_503_is_known_not_to_have_run() -> None:
    t = _Transport.__new__(_Transport)
    busy = t.server_error("POST", "/api/v1/order", 503, _envelope(OVERLOADED))
    assert isinstance(busy, NotExecuted) and busy.retryable and busy.code == OVERLOADED
    assert not outcome_unknown(busy)
    other = t.server_error("POST", "/api/v1/order", 502, _envelope("Bad Gateway"))
    bare = t.server_error("POST", "/api/v1/order", 500, None)
    for exc in (other, bare):
        assert type(exc) is VenueError and outcome_unknown(exc), exc


async def test_overloaded_after_a_lost_reply_is_still_in_doubt(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    """The first attempt ran but its answer was lost; the retries meet 503 "overloaded".
    The last answer alone would say "not run", yet the first may have: the order is in
    doubt, looked up and found -- one order at the venue, never a refusal the strategy
    would answer with a second order."""
    gateway, sink = gw
    faults = emu.faults
    take = faults.take_lost_reply

    def lost_then_overloaded(method: str, path: str) -> object:
        lost = take(method, path)
        if lost is not None:
            faults.fail_next(3, "5xx")  # the placement's three retries
        return lost

    faults.take_lost_reply = lost_then_overloaded  # type: ignore[method-assign]
    faults.lose_replies(1, "drop", "POST /api/v1/order")
    live = gateway.on_private  # the order's pushes come late: the lookup must find it

    def held_back(table: str, action: str, rows: list[dict[str, object]]) -> None:
        if table not in ("order", "execution"):
            live(table, action, rows)

    gateway.on_private = held_back  # type: ignore[method-assign]
    try:
        gateway.submit_order(order("doubt1", 100))
        await until(lambda: _final(sink, "doubt1") is not None, "doubt1 finished", 15)
        await gateway.drain()
    finally:
        gateway.on_private = live  # type: ignore[method-assign]
        faults.take_lost_reply = take  # type: ignore[method-assign]
    assert _placed(emu, "doubt1") == 1
    assert _final(sink, "doubt1") is OrderStatus.FILLED
