"""Bitfinex trigger orders on the emulator over a real socket: EXCHANGE STOP, STOP LIMIT and
TRAILING STOP fire on the last price and push an ``ou`` with the child's type; OCO is a limit
plus a linked stop (either one ending cancels the other); refusals name the field; a
perpetual order's ``lev`` sets the position's leverage. The market is frozen: the last price
moves only when a test prints a trade on the simulator's tape."""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.bitfinex.server import BitfinexEmulator
from tradeloop.model import Side

from .helpers import SYM, Msg, Ws, authed, collect, place, print_trade, px


def kinds(msgs: list[Msg], oid: int) -> list[str]:
    return [m[1] for m in msgs if m[1] in ("on", "ou", "oc") and m[2][0] == oid]


async def test_exchange_stop_fires_into_a_market_order(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    stop = px(bfx, 0.95)
    n = await place(wsc, {"cid": 11, "type": "EXCHANGE STOP", "symbol": SYM, "amount": "-0.01",
                          "price": stop})  # fmt: skip
    assert n[6] == "SUCCESS", n
    o = n[4]
    assert (o[8], o[13], str(o[16])) == ("EXCHANGE STOP", "ACTIVE", stop)
    await wsc.until(lambda m: m[1] == "on")
    print_trade(bfx, px(bfx, 0.99))  # above the stop: nothing
    assert [r[8] for r in bfx.trading.open_orders()] == ["EXCHANGE STOP"]
    print_trade(bfx, px(bfx, 0.94))
    msgs = await collect(wsc, lambda m: m[1] == "oc")
    assert kinds(msgs, o[0]) == ["ou", "oc"]
    ou = next(m[2] for m in msgs if m[1] == "ou")
    assert (ou[8], ou[9], ou[13]) == ("EXCHANGE MARKET", "EXCHANGE STOP", "ACTIVE")
    assert msgs[-1][2][13].startswith("EXECUTED @") and msgs[-1][2][6] == 0
    assert any(m[1] == "te" and m[2][3] == o[0] for m in msgs)
    assert bfx.trading.open_orders() == []


async def test_stop_limit_becomes_a_limit_at_price_aux_limit(
    bfx: BitfinexEmulator, wsc: Ws
) -> None:
    await authed(wsc)
    stop, limit = px(bfx, 1.02), px(bfx, 1.03)
    n = await place(wsc, {"cid": 12, "type": "EXCHANGE STOP LIMIT", "symbol": SYM,
                          "amount": "0.01", "price": stop, "price_aux_limit": limit})  # fmt: skip
    o = n[4]
    assert (o[8], str(o[16]), str(o[19])) == ("EXCHANGE STOP LIMIT", stop, limit)
    print_trade(bfx, px(bfx, 1.05), Side.BUY)
    msgs = await collect(wsc, lambda m: m[1] == "oc")
    ou = next(m[2] for m in msgs if m[1] == "ou")
    assert (ou[8], ou[9], str(ou[16])) == ("EXCHANGE LIMIT", "EXCHANGE STOP", limit)
    assert msgs[-1][2][13].startswith("EXECUTED @")  # the limit was above the ask: it took


async def test_trailing_stop_follows_then_fires(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    inst = bfx.instruments[SYM]
    dist = inst.format_price(bfx.driver.markets[SYM].mid() * 0.02)
    n = await place(wsc, {"cid": 13, "type": "EXCHANGE TRAILING STOP", "symbol": SYM,
                          "amount": "-0.01", "price_trailing": dist})  # fmt: skip
    assert n[6] == "SUCCESS", n
    high = px(bfx, 1.05)
    print_trade(bfx, high, Side.BUY)
    (row,) = bfx.trading.open_orders()
    level = inst.format_price(float(high) - float(dist))
    assert (row[8], bytes(row[16]).decode(), bytes(row[18]).decode()) == (
        "EXCHANGE TRAILING STOP", level, dist)  # fmt: skip
    print_trade(bfx, inst.format_price(float(level) + inst.tick_size))  # above: holds
    assert len(bfx.trading.open_orders()) == 1
    print_trade(bfx, level)
    msgs = await collect(wsc, lambda m: m[1] == "oc")
    ou = next(m[2] for m in msgs if m[1] == "ou")
    assert (ou[8], ou[9]) == ("EXCHANGE MARKET", "EXCHANGE TRAILING STOP")
    assert msgs[-1][2][13].startswith("EXECUTED @")


async def _oco(bfx: BitfinexEmulator, wsc: Ws, cid: int) -> tuple[Msg, Msg]:
    """A sell OCO: limit 5 % above the mid, stop 5 % below; (limit, stop) ORDER arrays."""
    n = await place(wsc, {"cid": cid, "gid": 9, "type": "EXCHANGE LIMIT", "symbol": SYM,
                          "amount": "-0.01", "price": px(bfx, 1.05), "flags": 16384,
                          "price_oco_stop": px(bfx, 0.95)})  # fmt: skip
    assert n[6] == "SUCCESS", n
    ons = await collect(wsc, lambda m: m[1] == "on" and m[2][8] == "EXCHANGE STOP")
    stop = ons[-1][2]
    limit = n[4]
    assert limit[12] == stop[12] == 16384 and (stop[2], stop[1]) == (cid, 9)
    assert stop[25] == limit[0] and str(stop[16]) == px(bfx, 0.95)
    return limit, stop


async def test_oco_limit_fill_cancels_the_stop(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    limit, stop = await _oco(bfx, wsc, 21)
    assert len(bfx.trading.open_orders()) == 2
    print_trade(bfx, px(bfx, 1.06), Side.BUY)  # trades 0.001 through the limit: a part fill
    msgs = await collect(wsc, lambda m: m[1] == "oc" and m[2][0] == stop[0])
    assert msgs[-1][2][13] == "CANCELED"
    assert any(m[1] == "ou" and m[2][0] == limit[0] and "PARTIALLY" in m[2][13] for m in msgs)
    print_trade(bfx, px(bfx, 0.90))  # the stop is gone: nothing fires
    assert [r[0] for r in bfx.trading.open_orders()] == [limit[0]]
    assert {f.client_order_id for _, f in bfx.trading.account.fills()} == {str(limit[0])}


async def test_oco_stop_firing_cancels_the_limit(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    limit, stop = await _oco(bfx, wsc, 22)
    print_trade(bfx, px(bfx, 0.94))
    msgs = await collect(wsc, lambda m: m[1] == "oc" and m[2][0] == stop[0])
    order = [(m[1], m[2][0]) for m in msgs if m[1] in ("ou", "oc")]
    assert order[:2] == [("ou", stop[0]), ("oc", limit[0])]  # fired, then the limit canceled
    assert msgs[-1][2][13].startswith("EXECUTED @")
    assert bfx.trading.open_orders() == []


async def test_oco_cancel_one_cancels_both(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    limit, stop = await _oco(bfx, wsc, 23)
    await wsc.send([0, "oc", None, {"id": stop[0]}])
    msgs = await collect(wsc, lambda m: m[1] == "oc" and m[2][0] == limit[0])
    assert ("oc", stop[0]) in [(m[1], m[2][0]) for m in msgs]
    assert bfx.trading.open_orders() == []


async def test_trigger_refusals_name_the_field(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    base = {"symbol": SYM, "amount": "-0.01"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "EXCHANGE STOP"}, "price: invalid"),
        ({"type": "EXCHANGE STOP LIMIT", "price": px(bfx, 0.9)}, "price_aux_limit: invalid"),
        ({"type": "EXCHANGE TRAILING STOP"}, "price_trailing: invalid"),
        ({"type": "EXCHANGE TRAILING STOP", "price_trailing": "-5"}, "price_trailing: invalid"),
        ({"type": "EXCHANGE LIMIT", "price": px(bfx, 1.1), "flags": 16384},
         "price_oco_stop: invalid"),
        ({"type": "EXCHANGE MARKET", "flags": 16384, "price_oco_stop": px(bfx, 0.9)},
         "OCO (flag 16384) is for LIMIT orders"),
        ({"type": "EXCHANGE STOP LIMIT", "price": px(bfx, 0.9), "price_aux_limit": px(bfx, 0.9),
          "flags": 4096}, "post-only"),
    ]  # fmt: skip
    for extra, text in cases:
        n = await place(wsc, {**base, **extra})
        assert n[6] == "ERROR" and text in n[7], (extra, n)
    assert bfx.trading.open_orders() == []
    n = await place(wsc, {**base, "type": "EXCHANGE STOP", "price": px(bfx, 0.9)})
    await wsc.send([0, "ou", None, {"id": n[4][0], "price": px(bfx, 0.8)}])
    upd = await wsc.until(lambda m: m[1] == "n")
    assert upd[2][6] == "ERROR" and "untriggered stop" in upd[2][7]


async def test_perpetual_lev_sets_the_position_leverage(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    perp = "tBTCF0:USTF0"
    n = await place(wsc, {"cid": 31, "type": "MARKET", "symbol": perp, "amount": "0.01",
                          "lev": 7})  # fmt: skip
    assert n[6] == "SUCCESS", n
    pos = await wsc.until(lambda m: m[1] == "pn")  # a new position
    assert pos[2][0] == perp and pos[2][9] == 7
    assert bfx.trading.account.sim.leverage(perp) == 7
    n = await place(wsc, {"cid": 32, "type": "EXCHANGE MARKET", "symbol": SYM, "amount": "0.01",
                          "lev": 500})  # fmt: skip
    assert n[6] == "ERROR" and "lev: invalid" in n[7]


async def test_stop_limit_child_that_rests_is_announced_once(
    bfx: BitfinexEmulator, wsc: Ws
) -> None:
    await authed(wsc)
    stop, limit = px(bfx, 1.02), px(bfx, 0.97)  # fires on a rise, then bids below the book
    n = await place(wsc, {"cid": 14, "type": "EXCHANGE STOP LIMIT", "symbol": SYM,
                          "amount": "0.01", "price": stop, "price_aux_limit": limit})  # fmt: skip
    oid = n[4][0]
    await wsc.until(lambda m: m[1] == "on")
    print_trade(bfx, px(bfx, 1.03), Side.BUY)
    msgs = await collect(wsc, lambda m: m[1] == "ou" and m[2][0] == oid)
    await wsc.send([0, "oc", None, {"id": oid}])
    msgs += await collect(wsc, lambda m: m[1] == "oc" and m[2][0] == oid)
    assert kinds(msgs, oid) == ["ou", "oc"]
    (row,) = [m[2] for m in msgs if m[1] == "ou"]
    assert (row[8], str(row[16])) == ("EXCHANGE LIMIT", limit)


async def test_margin_stop_on_the_perpetual(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    perp = "tBTCF0:USTF0"
    stop = px(bfx, 0.9, perp)
    n = await place(wsc, {"type": "STOP", "symbol": perp, "amount": "-0.01", "price": stop,
                          "flags": 1024})  # fmt: skip
    assert n[6] == "SUCCESS", n
    assert (n[4][8], str(n[4][16]), n[4][12]) == ("STOP", stop, 1024)
    n = await place(wsc, {"type": "EXCHANGE STOP", "symbol": perp, "amount": "-0.01",
                          "price": stop})  # fmt: skip
    assert n[6] == "ERROR" and "derivatives take margin types" in n[7]
