"""Seed 003's own BitMEX client (:mod:`.seed003`, ported from Python 2 with its listed fixes)
against the emulator with only the URLs changed: its ``generate_signature`` reproduces BitMEX's
published examples and signs a market order the emulator fills; its ``bitmexWS`` subscribed to
``quote:XBTUSD`` and ``orderBook10:XBTUSD`` receives quotes and books; opened with the api-*
headers (signed by the same function) it receives its order, execution and position rows."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator

from . import seed003
from .conftest import KEY, SECRET, config
from .test_rest import VECTOR_SECRET, VECTORS


@pytest.fixture
async def live_emu() -> AsyncIterator[BitmexEmulator]:
    server = BitmexEmulator(config(tick_interval_ms=30))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


def received(out: str) -> list[dict[str, Any]]:
    """The JSON messages the seed printed (``print(message)`` in ``__on_message``); another
    thread's print may land right after one, so each is decoded from the line's start."""
    dec = json.JSONDecoder()
    msgs = []
    for line in out.splitlines():
        if line.startswith("{"):
            msgs.append(dec.raw_decode(line)[0])
    return msgs


async def wait_for(
    capsys: pytest.CaptureFixture[str],
    seen: list[dict[str, Any]],
    text: list[str],
    pred: Callable[[], bool],
    what: str,
) -> None:
    end = time.monotonic() + 5.0
    while True:
        out = capsys.readouterr().out
        text.append(out)
        seen.extend(received(out))
        if pred():
            return
        if time.monotonic() > end:
            raise AssertionError(f"seed client never got {what}: {''.join(text)[-2000:]}")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("verb", "path", "expires", "data", "expected"), VECTORS)
def test_seed_signature_matches_bitmex_examples(
    verb: str, path: str, expires: int, data: str, expected: str
) -> None:
    url = "https://testnet.bitmex.com" + path  # the seed strips the host itself
    assert seed003.generate_signature(VECTOR_SECRET, verb, url, expires, data) == expected


async def close(emu: BitmexEmulator, ws: Any) -> None:
    """The server ends the session: the seed's ``run_forever`` (no ping) only notices its own
    ``ws.close()`` after websocket-client's 10 s select timeout."""
    thread: threading.Thread = ws.wst  # on_close deletes the attribute
    for conn in list(emu.hub.conns):
        conn.close_soon(1000, b"")
    await asyncio.to_thread(thread.join, 5)
    assert not thread.is_alive()


async def test_seed_client_against_emulator(
    live_emu: BitmexEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    base = live_emu.base_url
    seed003.BASE_URL = base + "/api/v1"  # the only change: where it connects
    ws_url = base.replace("http://", "ws://") + "/realtime"
    seen: list[dict[str, Any]] = []
    text: list[str] = []

    # the article's curl for daily bars, URL changed: a well-formed (empty, 2018) answer
    q = "binSize=1d&partial=false&symbol=XBTUSD&count=100&reverse=false"
    q += "&startTime=2018-12-01&endTime=2018-12-10"

    def get(url: str) -> Any:
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200
            return json.loads(r.read())

    assert await asyncio.to_thread(get, f"{seed003.BASE_URL}/trade/bucketed?{q}") == []

    # market data, unauthenticated
    md = seed003.bitmexWS()
    md.ws_url = ws_url
    md.connect()
    await wait_for(capsys, seen, text, lambda: "Calling ws.__on_open()" in "".join(text), "open")
    md.subscribe_topic("quote:XBTUSD")
    md.subscribe_topic("orderBook10:XBTUSD")

    def quotes() -> list[dict[str, Any]]:
        return [m for m in seen if m.get("table") == "quote"]

    def books() -> list[dict[str, Any]]:
        return [m for m in seen if m.get("table") == "orderBook10"]

    await wait_for(capsys, seen, text, lambda: len(quotes()) >= 3 and len(books()) >= 2, "quotes")
    assert seen[0]["info"] == "Welcome to the BitMEX Realtime API."
    acks = [m["subscribe"] for m in seen if m.get("success")]
    assert acks == ["quote:XBTUSD", "orderBook10:XBTUSD"]
    assert quotes()[0]["action"] == "partial"
    for m in quotes():
        (row,) = m["data"]
        assert row["symbol"] == "XBTUSD" and row["bidPrice"] < row["askPrice"]
    top = books()[-1]["data"][0]
    assert top["bids"][0][0] < top["asks"][0][0] and len(top["bids"]) == 10
    await close(live_emu, md)

    # the article's order + private streams, authenticated by headers on the upgrade
    expires = int(round(time.time()) + 5)
    priv = seed003.bitmexWS()
    priv.ws_url = ws_url
    priv.header = [
        f"api-expires: {expires}",
        f"api-key: {KEY}",
        "api-signature: " + seed003.generate_signature(SECRET, "GET", ws_url, expires, ""),
    ]
    seen.clear()
    text.clear()
    priv.connect()
    await wait_for(capsys, seen, text, lambda: bool(seen), "welcome")
    for topic in ("order", "execution", "position"):
        priv.subscribe_topic(topic)
    await wait_for(capsys, seen, text, lambda: sum(bool(m.get("success")) for m in seen) == 3,
                   "private acks")  # fmt: skip
    assert not [m for m in seen if "error" in m]

    # the article's 20 contracts (XBTUSD's lot was 1 in 2018; BitMEX's lotSize is 100 now, and
    # the emulator refuses it as BitMEX does today) ...
    data = "symbol=XBTUSD&side=Buy&orderQty=20&ordType=Market"
    with pytest.raises(urllib.error.HTTPError) as err:
        await asyncio.to_thread(seed003.place_order, KEY, SECRET, data)
    assert err.value.code == 400
    assert "multiple of lot size: 100" in json.loads(err.value.read())["error"]["message"]
    # ... so the one data change: a lot of 100
    data = "symbol=XBTUSD&side=Buy&orderQty=100&ordType=Market"
    order = await asyncio.to_thread(seed003.place_order, KEY, SECRET, data)
    assert (order["ordStatus"], order["orderQty"], order["cumQty"]) == ("Filled", 100, 100)
    oid = order["orderID"]

    def rows(table: str) -> list[dict[str, Any]]:
        return [d for m in seen if m.get("table") == table for d in m["data"]]

    await wait_for(
        capsys, seen, text,
        lambda: any(r.get("currentQty") == 100 for r in rows("position"))
        and any(r.get("execType") == "Trade" for r in rows("execution")),
        "its order, execution and position",
    )  # fmt: skip
    assert {r.get("ordStatus") for r in rows("order") if r["orderID"] == oid} >= {"Filled"}
    (fill,) = [r for r in rows("execution") if r["execType"] == "Trade"]
    assert (fill["orderID"], fill["lastQty"], fill["side"]) == (oid, 100, "Buy")
    await close(live_emu, priv)
    # the emulator's own books agree with what the seed was told
    pos = live_emu.trading.account.sim.positions()["XBTUSD"]
    assert pos.qty == 100


async def test_seed_signatures_refused_when_wrong(live_emu: BitmexEmulator) -> None:
    """The article's fixed example ``expires = 1518064236`` is long past: refused as expired,
    and a wrong secret is refused, both with BitMEX's 401 envelope."""
    url = live_emu.base_url + "/api/v1/order"
    data = "symbol=XBTUSD&side=Buy&orderQty=20&ordType=Market"
    for secret, expires, why in (
        (SECRET, 1518064236, "expired"),
        ("wrong", int(time.time()) + 5, "Signature not valid"),
    ):
        sig = seed003.generate_signature(secret, "POST", url, expires, data)
        headers = {"api-key": KEY, "api-expires": str(expires), "api-signature": sig,
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        req = urllib.request.Request(url, data=data.encode(), method="POST", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as err:
            await asyncio.to_thread(urllib.request.urlopen, req, None, 5)
        assert err.value.code == 401
        assert why in json.loads(err.value.read())["error"]["message"]
