"""BitMEX margin modes and liquidation over a real socket: ``POST /position/isolate`` and
``/position/leverage`` switch an XBTUSD position between isolated and cross as BitMEX does
(``crossMargin``, ``leverage``, ``initMarginReq``; a leverage the balance cannot carry is
refused and changes nothing); an isolated inverse position is liquidated at BitMEX's
published liquidation price ``E / (1 + 1/L - mm)`` and closed at its bankruptcy price
``E / (1 + 1/L)``; a cross position survives prices that would liquidate it isolated and
goes only when the wallet is exhausted. Liquidations show as BitMEX marks them (a ``Trade``
execution of an ImmediateOrCancel ``Limit`` order, no clOrdID, text ``Liquidation``), booked
in the integer wallet and its history.

Expected prices are computed here from the ledger's own numbers (the position's cost in
satoshi), with exact fractions, independently of the emulator's solver.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex import liquidation as liq
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client
from .test_ws import auth_args, recv
from .test_ws_tables import drain

SYM = "XBTUSD"
MM = Fraction(5, 1000)  # the emulator's XBTUSD maintenance rate (instrument maintMargin)
TAKER = Fraction(75, 100_000)
TICK = Fraction(1, 2)
SAT = 100_000_000


def on_tick(price: Fraction, long: bool, tick: Fraction = TICK) -> float:
    """BitMEX rounds a liquidation/bankruptcy price to the tick toward the mark."""
    n = math.ceil(price / tick) if long else math.floor(price / tick)
    return float(n * tick)


def move_mid(emu: BitmexEmulator, price: float) -> float:
    """Move the XBTUSD market so its mid (the mark) is about ``price``: re-centre the
    synthetic ladder and step once, as the market timer does."""
    m = emu.driver.markets[SYM]
    m.grid = round(price / m.instrument.tick_size / m.spacing)
    emu.step()
    return m.mid()


async def position(client: Client) -> dict[str, Any]:
    status, rows, _ = await client.call("GET", "/api/v1/position")
    assert status == 200
    return next(r for r in rows if r["symbol"] == SYM)


async def buy(client: Client, qty: int) -> None:
    status, row, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": SYM, "orderQty": qty, "ordType": "Market"}
    )
    assert status == 200 and row["ordStatus"] == "Filled", row


async def wallet(client: Client) -> int:
    _, w, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    return int(w["amount"])


async def test_isolate_and_cross_switch(client: Client, emu: BitmexEmulator) -> None:
    status, row, _ = await client.call(
        "POST", "/api/v1/position/isolate", {"symbol": SYM, "enabled": False}
    )
    assert status == 200
    assert (row["crossMargin"], row["leverage"], row["initMarginReq"]) == (True, 100, 0.01)
    assert (await position(client))["crossMargin"] is True
    # isolating a cross position keeps the leverage it showed
    _, row, _ = await client.call("POST", "/api/v1/position/isolate", {"symbol": SYM})
    assert (row["crossMargin"], row["leverage"]) == (False, 100)
    # leverage 0 is cross; 0.01..100 isolates at that leverage (form-encoded as the swagger)
    _, row, _ = await client.call("POST", "/api/v1/position/leverage", "symbol=XBTUSD&leverage=0")
    assert (row["crossMargin"], row["leverage"]) == (True, 100)
    lev25 = {"symbol": SYM, "leverage": 25}
    _, row, _ = await client.call("POST", "/api/v1/position/leverage", lev25)
    assert (row["crossMargin"], row["leverage"], row["initMarginReq"]) == (False, 25, 0.04)
    # refusals: out of range, not a boolean, unknown symbol -- nothing changes
    for body, code in (
        ({"symbol": SYM, "leverage": 0.001}, 400),
        ({"symbol": SYM, "leverage": 101}, 400),
        ({"symbol": SYM, "leverage": "x"}, 400),
    ):
        status, err, _ = await client.call("POST", "/api/v1/position/leverage", body)
        assert status == code and err["error"]["name"] == "ValidationError", err
    status, err, _ = await client.call(
        "POST", "/api/v1/position/isolate", {"symbol": SYM, "enabled": "maybe"}
    )
    assert status == 400 and "enabled" in err["error"]["message"]
    status, err, _ = await client.call("POST", "/api/v1/position/isolate", {"symbol": "NOPE"})
    assert status == 404 and "Unknown symbol" in err["error"]["message"]
    row = await position(client)
    assert (row["crossMargin"], row["leverage"]) == (False, 25)


async def test_leverage_the_balance_cannot_carry_is_refused(
    client: Client, emu: BitmexEmulator
) -> None:
    """A 600k USD XBTUSD long (~10 BTC) is fine at 100x on a 1 BTC wallet; isolating it at
    1x would need its whole value as margin: refused, the position keeps its mode."""
    await client.call("POST", "/api/v1/position/leverage", {"symbol": SYM, "leverage": 0})
    await buy(client, 600_000)
    status, err, _ = await client.call(
        "POST", "/api/v1/position/leverage", {"symbol": SYM, "leverage": 1}
    )
    row = await position(client)
    need = round(Fraction(-row["posCost"]) * (1 + TAKER))  # all of it at 1x, and the fee
    assert (status, err["error"]["message"]) == (
        400, f"Account has insufficient Available Balance, {need} XBt required")  # fmt: skip
    assert (row["crossMargin"], row["leverage"], row["currentQty"]) == (True, 100, 600_000)
    status, row, _ = await client.call(
        "POST", "/api/v1/position/leverage", {"symbol": SYM, "leverage": 20}
    )
    assert status == 200 and (row["crossMargin"], row["leverage"]) == (False, 20)


async def test_isolated_inverse_liquidation(client: Client, emu: BitmexEmulator) -> None:
    lev, qty = 50, 100_000
    await client.call("POST", "/api/v1/position/leverage", {"symbol": SYM, "leverage": lev})
    w0 = await wallet(client)
    await buy(client, qty)
    row = await position(client)
    cost = -row["posCost"]  # an inverse long costs XBt: negative
    entry = Fraction(qty * SAT, cost)  # the harmonic mean of the fills, exactly
    init = Fraction(1, lev)
    liq, bankrupt = on_tick(entry / (1 + init - MM), True), on_tick(entry / (1 + init), True)
    assert (row["crossMargin"], row["leverage"]) == (False, lev)
    assert (row["liquidationPrice"], row["bankruptPrice"]) == (liq, bankrupt)
    assert row["posInit"] == round(Fraction(cost, lev))
    assert row["posMaint"] == round(MM * cost)
    # a mark above the liquidation price leaves it alone
    move_mid(emu, liq + 20)
    emu.check_liquidations()
    assert emu.liquidations == 0 and (await position(client))["currentQty"] == qty
    w1 = await wallet(client)
    move_mid(emu, liq - 20)
    emu.check_liquidations()
    emu.check_liquidations()  # once: nothing is left to liquidate
    assert emu.liquidations == 1
    row = await position(client)
    assert row["currentQty"] == 0 and row["liquidationPrice"] is None
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true&count=1")
    x = ex[0]
    assert (x["execType"], x["ordType"], x["timeInForce"], x["ordStatus"]) == (
        "Trade", "Limit", "ImmediateOrCancel", "Filled")  # fmt: skip
    assert (x["clOrdID"], x["text"], x["side"], x["lastQty"]) == ("", "Liquidation", "Sell", qty)
    assert x["lastPx"] == bankrupt and x["lastLiquidityInd"] == "RemovedLiquidity"
    value = round(Fraction(qty * SAT) / Fraction(bankrupt))
    assert x["execCost"] == value and x["execComm"] == round(TAKER * value)
    # the close realises (about) the isolated margin: cost - value at the bankruptcy price
    realised = cost - value
    assert abs(realised + Fraction(cost, lev)) < Fraction(qty * SAT) * (1 / liq - 1 / (liq + 1))
    _, hist, _ = await client.call("GET", "/api/v1/user/walletHistory")
    assert (hist[0]["transactType"], hist[0]["address"], hist[0]["tx"]) == (
        "RealisedPNL", SYM, x["execID"])  # fmt: skip
    assert hist[0]["amount"] == realised - x["execComm"]
    w2 = await wallet(client)
    assert w2 == w1 + realised - x["execComm"] == hist[0]["walletBalance"]
    assert 0 < w0 - w2 < 2 * Fraction(cost, lev)  # lost the margin and fees, not the wallet


async def test_cross_uses_the_wallet(client: Client, emu: BitmexEmulator) -> None:
    """About 1.7x of a 1 BTC wallet long in cross: a fall that would liquidate it isolated at
    the leverage cross shows (100x) does nothing; it goes when the wallet is exhausted, at a
    bankruptcy price that leaves the wallet at zero (the close fee included), never below."""
    qty = 100_000
    await client.call("POST", "/api/v1/position/isolate", {"symbol": SYM, "enabled": "false"})
    await buy(client, qty)
    row = await position(client)
    assert (row["crossMargin"], row["leverage"]) == (True, 100)
    cost, w = -row["posCost"], await wallet(client)
    a = Fraction(qty * SAT)
    liq = on_tick(a / (w + cost - MM * cost), True)
    bankrupt = on_tick(a * (1 + TAKER) / (w + cost), True)
    assert (row["liquidationPrice"], row["bankruptPrice"]) == (liq, bankrupt)
    entry = a / cost
    isolated_liq = float(entry / (1 + Fraction(1, 100) - MM))
    assert liq < 0.7 * isolated_liq  # the wallet carries it far further
    for mark in (isolated_liq - 100, liq + 20):
        move_mid(emu, mark)
        emu.check_liquidations()
        assert emu.liquidations == 0, mark
    assert (await position(client))["currentQty"] == qty
    move_mid(emu, liq - 20)
    emu.check_liquidations()
    assert emu.liquidations == 1
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true&count=1")
    assert ex[0]["text"] == "Liquidation" and ex[0]["lastPx"] == bankrupt
    after = await wallet(client)
    # zero but for the rounding of the bankruptcy price up to the tick (and one satoshi)
    slack = a / Fraction(bankrupt) - a / (Fraction(bankrupt) + TICK)
    assert 0 <= after <= slack + 1, (after, slack)
    _, margin, _ = await client.call("GET", "/api/v1/user/margin?currency=XBt")
    assert margin["walletBalance"] == after and margin["unrealisedPnl"] == 0


@pytest.mark.parametrize(
    ("symbol", "qty", "lev"),
    [
        ("XBTUSD", -100_000, 25),
        ("XBTUSDT", 200_000, 20),
        ("XBTUSDT", -200_000, 20),
        ("ETHUSD", 2_000, 10),
    ],
)
async def test_isolated_short_and_linear_prices(
    client: Client, emu: BitmexEmulator, symbol: str, qty: int, lev: int
) -> None:
    """The same rule for an inverse short (``E / (1 - 1/L + mm)``, bankrupt ``E / (1 - 1/L)``),
    the linear XBTUSDT in USDt (long ``E x (1 - 1/L + mm)``, short ``E x (1 + 1/L - mm)``) and
    the ETHUSD quanto in XBt (linear too), each liquidated once the mark passes it, at its
    bankruptcy price, rounded toward the mark."""
    await client.call("POST", "/api/v1/position/leverage", {"symbol": symbol, "leverage": lev})
    status, o, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": symbol, "orderQty": qty, "ordType": "Market"}
    )
    assert status == 200 and o["ordStatus"] == "Filled", o
    _, rows, _ = await client.call("GET", "/api/v1/position")
    row = next(r for r in rows if r["symbol"] == symbol)
    inverse, long = symbol == "XBTUSD", qty > 0
    cost = abs(row["posCost"])
    # value per contract per unit of price, in minor units: XBTUSD 1e8 / P; XBTUSDT 1e-6 BTC
    # in USDt (1e6 a USDT): 1 x P; the ETHUSD quanto 1e-6 XBT a USD: 100 satoshi x P
    unit = {"XBTUSD": SAT, "XBTUSDT": 1, "ETHUSD": 100}[symbol]
    entry = Fraction(abs(qty) * unit, cost) if inverse else Fraction(cost, abs(qty) * unit)
    init, sign = Fraction(1, lev), 1 if long else -1
    if inverse:
        liq, bankrupt = entry / (1 + sign * (init - MM)), entry / (1 + sign * init)
    else:
        liq, bankrupt = entry * (1 - sign * (init - MM)), entry * (1 - sign * init)
    assert row["currency"] == ("USDt" if symbol == "XBTUSDT" else "XBt")
    tick = Fraction(repr(emu.instruments[symbol].tick_size))
    assert (row["liquidationPrice"], row["bankruptPrice"]) == (
        on_tick(liq, long, tick), on_tick(bankrupt, long, tick))  # fmt: skip
    m = emu.driver.markets[symbol]
    m.grid = round((float(liq) - sign * 10) / m.instrument.tick_size / m.spacing)
    emu.step()
    emu.check_liquidations()
    assert emu.liquidations == 1
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true&count=1")
    assert (ex[0]["text"], ex[0]["lastPx"], ex[0]["side"]) == (
        "Liquidation", on_tick(bankrupt, long, tick), "Sell" if long else "Buy")  # fmt: skip


async def test_liquidation_over_the_socket(client: Client, emu: BitmexEmulator) -> None:
    """What a BitMEX client sees: the working order of the symbol canceled, the Liquidation
    execution, then the flat position and the wallet that paid for it."""
    await client.call("POST", "/api/v1/position/leverage", {"symbol": SYM, "leverage": 50})
    await buy(client, 100_000)
    ask = float(emu.driver.markets[SYM].px(emu.driver.markets[SYM].best_ask()))
    _, resting, _ = await client.call("POST", "/api/v1/order", {
        "symbol": SYM, "orderQty": -100, "price": ask + 500, "clOrdID": "tp1"})  # fmt: skip
    assert resting["ordStatus"] == "New"
    liq = (await position(client))["liquidationPrice"]
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "authKeyExpires", "args": auth_args()})
        await ws.send_json({"op": "subscribe", "args": ["execution", "position", "wallet"]})
        for _ in range(4):  # the auth ack, then an ack and a partial per table... drained below
            await recv(ws)
        await drain(ws)
        move_mid(emu, liq - 20)
        emu.check_liquidations()
        got = await drain(ws)
    execs = [r for m in got if m.get("table") == "execution" for r in m["data"]]
    assert [(r["execType"], r.get("clOrdID")) for r in execs] == [
        ("Canceled", "tp1"), ("Trade", "")]  # fmt: skip
    assert execs[1]["text"] == "Liquidation"
    pos = [r for m in got if m.get("table") == "position" for r in m["data"]]
    assert pos and pos[-1]["currentQty"] == 0 and pos[-1]["symbol"] == SYM
    wallets = [r for m in got if m.get("table") == "wallet" for r in m["data"]]
    assert wallets and wallets[-1]["amount"] == await wallet(client)
    _, orders, _ = await client.call("GET", "/api/v1/order?filter=%7B%22clOrdID%22%3A%22tp1%22%7D")
    assert orders[0]["ordStatus"] == "Canceled"


async def test_cross_counts_the_other_cross_positions(client: Client, emu: BitmexEmulator) -> None:
    """Cross positions share the wallet: an ETHUSD (quanto, settled in XBt) loss brings the
    XBTUSD long's liquidation price up by exactly what it takes from the pool -- the wallet
    plus the other position's unrealised PnL less its maintenance."""
    for sym in (SYM, "ETHUSD"):
        await client.call("POST", "/api/v1/position/isolate", {"symbol": sym, "enabled": False})
    await buy(client, 100_000)
    status, o, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "ETHUSD", "orderQty": 2000, "ordType": "Market"}
    )
    assert status == 200 and o["ordStatus"] == "Filled"
    before = (await position(client))["liquidationPrice"]
    eth = emu.driver.markets["ETHUSD"]
    eth.grid = round(eth.mid() * 0.9 / eth.instrument.tick_size / eth.spacing)
    emu.step()
    _, rows, _ = await client.call("GET", "/api/v1/position")
    x, e = (next(r for r in rows if r["symbol"] == s) for s in (SYM, "ETHUSD"))
    eth_cost = e["posCost"]  # a quanto long costs positive XBt: 100 satoshi per $ a contract
    eth_value = round(2000 * Fraction(repr(eth.mid())) * 100)
    pool = await wallet(client) + (eth_value - eth_cost) - MM * eth_cost
    assert eth_value < eth_cost  # ETHUSD fell: the pool shrank
    cost = -x["posCost"]
    liq = on_tick(Fraction(100_000 * SAT) / (pool + cost - MM * cost), True)
    assert x["liquidationPrice"] == liq > before


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5000).map(lambda n: n * 100),  # XBTUSD lots
    st.integers(2_000, 200_000),  # entry, whole USD
    st.sampled_from([1, 2, 3, 5, 10, 25, 50, 100]),
    st.booleans(),
)
def test_solver_is_the_published_formula(qty: int, price: int, lev: int, long: bool) -> None:
    """The emulator's solver, on an exact isolated XBTUSD position, gives BitMEX's published
    inverse prices exactly (before the tick): liquidation ``E / (1 ± (1/L - mm))``, bankruptcy
    ``E / (1 ± 1/L)``; a 1x short is never bankrupt."""
    inst = ct.instrument(SYM)
    cost = Fraction(qty * SAT, price)  # an exact cost: the entry is exactly ``price``
    signed = Fraction(qty if long else -qty)
    pool = liq.isolated_pool(1, lev) * cost  # cost / L (isolated_pool takes whole units)
    sign = 1 if long else -1
    got_liq = liq.threshold(inst, signed, cost, pool, MM * cost, Fraction(0))
    got_bankrupt = liq.threshold(inst, signed, cost, pool, Fraction(0), Fraction(0))
    assert got_liq == price / (1 + sign * (Fraction(1, lev) - MM))
    if not long and lev == 1:
        assert got_bankrupt is None
    else:
        assert got_bankrupt == price / (1 + sign * Fraction(1, lev))
