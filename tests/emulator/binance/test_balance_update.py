"""Deposits and withdrawals on the emulator's spot wallet (``BinanceTrading.move_funds``) reach
the WS API user data stream as Binance sends them: ``balanceUpdate`` with the delta, then
``outboundAccountPosition`` with the asset's new balance; REST agrees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws, ws_signed

Connect = Callable[[str], Awaitable[Ws]]


async def _btc(rest: Rest) -> str:
    status, acct, _ = await rest.call("GET", "/api/v3/account", {}, signed=True)
    assert status == 200, acct
    return next(b["free"] for b in acct["balances"] if b["asset"] == "BTC")


async def test_a_deposit_and_a_withdrawal_push_balance_update(
    emu: BinanceEmulator, connect: Connect, rest: Rest
) -> None:
    ws = await connect("/ws-api/v3")
    assert (await ws.call("session.logon", ws_signed({}, ed25519=True), rid="a"))["status"] == 200
    assert (await ws.call("userDataStream.subscribe", rid="b"))["status"] == 200
    emu.trading.move_funds("BTC", 0.5)
    moved = (await ws.recv())["event"]
    assert moved["e"] == "balanceUpdate" and (moved["a"], moved["d"]) == ("BTC", "0.50000000")
    assert {"E", "T"} <= set(moved)
    pos = (await ws.recv())["event"]
    assert pos["e"] == "outboundAccountPosition"
    assert pos["B"] == [{"a": "BTC", "f": "2.50000000", "l": "0.00000000"}]
    assert await _btc(rest) == "2.50000000"
    emu.trading.move_funds("BTC", -1.25)
    assert (await ws.recv())["event"]["d"] == "-1.25000000"
    assert (await ws.recv())["event"]["B"][0]["f"] == "1.25000000"
    with pytest.raises(ValueError, match="BTC"):
        emu.trading.move_funds("BTC", -5)  # more than is free: refused, nothing moves
    assert await _btc(rest) == "1.25000000"


async def test_a_transfer_to_futures_is_announced_on_both_wallets(
    emu: BinanceEmulator, connect: Connect, rest: Rest
) -> None:
    side = emu.futures
    assert side is not None
    ws = await connect("/ws-api/v3")
    assert (await ws.call("session.logon", ws_signed({}, ed25519=True), rid="a"))["status"] == 200
    assert (await ws.call("userDataStream.subscribe", rid="b"))["status"] == 200
    lk = (await rest.call("POST", "/fapi/v1/listenKey", {}, key_only=True))[1]["listenKey"]
    fws = await connect(f"/fapi/private/ws?listenKey={lk}&events=ACCOUNT_UPDATE")
    futures_usdt = side.trading.account.sim.account.total("USDT")
    move = {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "250.5"}
    status, body, _ = await rest.call("POST", "/sapi/v1/asset/transfer", move, signed=True)
    assert status == 200 and body["tranId"] > 0, body
    spot = (await ws.recv())["event"]
    assert (spot["e"], spot["a"], spot["d"]) == ("balanceUpdate", "USDT", "-250.50000000")
    fut = await fws.recv()
    assert fut["e"] == "ACCOUNT_UPDATE" and fut["a"]["m"] == "DEPOSIT"
    assert float(fut["a"]["B"][0]["wb"]) == futures_usdt + 250.5
    back = {"type": "UMFUTURE_MAIN", "asset": "USDT", "amount": str(futures_usdt + 1000)}
    status, body, _ = await rest.call("POST", "/sapi/v1/asset/transfer", back, signed=True)
    assert status == 400 and body["code"] == -5002  # more than the futures wallet has
    status, body, _ = await rest.call("POST", "/sapi/v1/asset/transfer",
                                      dict(move, type="NOPE"), signed=True)  # fmt: skip
    assert status == 400 and body["code"] == -1100
    assert side.trading.account.sim.account.total("USDT") == futures_usdt + 250.5
