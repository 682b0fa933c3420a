"""The emulator's routed USD-M WebSockets over real sockets: ``/fapi/public`` carries only the
book streams, ``/fapi/market`` only the others, a stream on the wrong route is acknowledged and
never delivered (Binance's observed answer), and ``/fapi/private/ws?listenKey=&events=`` sends
only the named user data events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tradeloop.emulator.binance.futures import FuturesSide
from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws

Connect = Callable[[str], Awaitable[Ws]]


async def _frames_until_answer(ws: Ws, rid: int) -> tuple[list[Any], Any]:
    """Every frame before the answer to a LIST_SUBSCRIPTIONS with id ``rid`` (sent now: the
    steps made before are already pushed), and that answer."""
    await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": rid})
    frames = []
    while (m := await ws.recv()).get("id") != rid:
        frames.append(m)
    return frames, m


def _side(emu: BinanceEmulator) -> FuturesSide:
    assert emu.futures is not None
    return emu.futures


async def test_a_path_stream_on_the_wrong_route_is_never_sent(
    emu: BinanceEmulator, connect: Connect
) -> None:
    side = _side(emu)
    ws = await connect("/fapi/public/ws/btcusdt@aggTrade/btcusdt@depth@100ms")
    assert side.hub.misrouted == [("public", "btcusdt@aggTrade")]
    for _ in range(30):
        emu.step()
    frames, answer = await _frames_until_answer(ws, 5)
    assert answer["result"] == ["btcusdt@depth@100ms"]
    assert frames and all(f["e"] == "depthUpdate" for f in frames)
    assert emu.served["WS /fapi/public/ws"] == 1 and emu.served["WS /fapi/ws"] == 0


async def test_subscribe_on_the_wrong_route_is_acknowledged_and_refused(
    emu: BinanceEmulator, connect: Connect
) -> None:
    side = _side(emu)
    ws = await connect("/fapi/market/stream?streams=btcusdt@markPrice")
    await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "btcusdt@kline_1m"],
                   "id": 1})  # fmt: skip
    assert await ws.until(lambda m: m.get("id") == 1) == {"result": None, "id": 1}
    assert side.hub.misrouted == [("market", "btcusdt@bookTicker")]
    for _ in range(30):
        emu.step()
    frames, answer = await _frames_until_answer(ws, 2)
    assert answer["result"] == ["btcusdt@kline_1m", "btcusdt@markPrice"]
    assert {f["stream"] for f in frames} <= {"btcusdt@kline_1m", "btcusdt@markPrice"}
    assert emu.served["WS /fapi/market/stream"] == 1


async def test_the_legacy_path_still_takes_every_stream(
    emu: BinanceEmulator, connect: Connect
) -> None:
    """Kept for older clients (Binance retired it 2026-04-23)."""
    ws = await connect("/fapi/ws/btcusdt@bookTicker/btcusdt@aggTrade")
    _, answer = await _frames_until_answer(ws, 3)
    assert answer["result"] == ["btcusdt@aggTrade", "btcusdt@bookTicker"]


async def test_private_route_sends_only_the_named_events(
    emu: BinanceEmulator, rest: Rest, connect: Connect
) -> None:
    side = _side(emu)
    lk = (await rest.call("POST", "/fapi/v1/listenKey", {}, key_only=True))[1]["listenKey"]
    ws = await connect(f"/fapi/private/ws?listenKey={lk}&events=ORDER_TRADE_UPDATE")
    await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 4})
    assert await ws.recv() == {"result": None, "id": 4}
    assert side.hub.misrouted == [("private", "btcusdt@aggTrade")]
    status, body, _ = await rest.call(
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        signed=True,
    )
    assert status == 200, body
    got = [await ws.recv()]
    while got[-1]["o"]["X"] != "FILLED":  # an ACCOUNT_UPDATE comes in between when unfiltered
        got.append(await ws.recv())
    assert {m["e"] for m in got} == {"ORDER_TRADE_UPDATE"} and got[0]["o"]["x"] == "NEW"
    assert emu.served["WS /fapi/private/ws"] == 1
