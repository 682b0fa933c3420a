"""``tradeloop emulator bitmex --replay``: the real July 2021 capture (``BITMEX.ws.1.0``) as the
emulator's XBTUSD market. After every step the emulator's book is the capture's book rebuilt
from scratch here (by id, independently of the loader), a client applying the emulator's own
orderBookL2 pushes holds the same book, the loop-around starts over from the first partial,
orders fill against the recorded liquidity, and bad ``--replay`` input is one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitmex.replay import load_capture
from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.emulator.replay import BookRecord, ReplayMarket

from .conftest import Client, config
from .test_ws import Mirror, recv

pytestmark = pytest.mark.shared
SYMBOLS = {"XBTUSD", "ETHUSD", "XBTUSDT"}


Book = tuple[dict[int, str], dict[int, str]]  # ticks of 0.5 USD -> size, bids and asks


def _capture_books(path: Path) -> list[Book]:
    """XBTUSD's book after each of its orderBookL2 messages, from the first partial on."""
    ids: dict[int, tuple[str, int]] = {}
    bids: dict[int, str] = {}
    asks: dict[int, str] = {}
    out = []
    started = False
    for line in path.read_text().splitlines():
        text = line.partition(": ")[2]
        if " <- " in line or not text.startswith('{"table":"orderBookL2"'):
            continue
        msg = json.loads(text)
        rows = [r for r in msg["data"] if r["symbol"] == "XBTUSD"]
        if not rows or not (started or msg["action"] == "partial"):
            continue
        started = True
        if msg["action"] == "partial":
            ids.clear(), bids.clear(), asks.clear()
        for r in rows:
            if msg["action"] in ("partial", "insert"):
                ids[r["id"]] = (r["side"], round(r["price"] * 2))
            side, ticks = ids[r["id"]]
            book = bids if side == "Buy" else asks
            if msg["action"] == "delete":
                del ids[r["id"]], book[ticks]
            else:
                book[ticks] = str(r["size"])
        out.append((dict(bids), dict(asks)))
    return out


def _market_book(m: Any) -> Book:
    assert m.instrument.tick_size == 0.5
    return dict(m.bids), dict(m.asks)


def _mirror_book(mirror: Mirror) -> Book:
    rows = mirror.rows.values()
    return (
        {round(r["price"] * 2): str(r["size"]) for r in rows if r["side"] == "Buy"},
        {round(r["price"] * 2): str(r["size"]) for r in rows if r["side"] == "Sell"},
    )


def test_capture_parses(shared_data: Path) -> None:
    capture = shared_data / "captures" / "BITMEX.ws.1.0"
    recs = load_capture(capture, SYMBOLS)
    assert set(recs) == {"XBTUSD"}  # ETHUSD / XBTUSDT are not in it: they stay synthetic
    books = [r for r in recs["XBTUSD"] if isinstance(r, BookRecord)]
    assert books[0].snapshot and len(books) == len(_capture_books(capture))
    assert len(recs["XBTUSD"]) > len(books)  # inserted trades too


async def test_replayed_market_is_the_capture(shared_data: Path) -> None:
    capture = shared_data / "captures" / "BITMEX.ws.1.0"
    want = _capture_books(capture)
    emu = BitmexEmulator(config(replay_file=str(capture)))
    await emu.start("127.0.0.1", 0)
    try:
        m = emu.driver.markets["XBTUSD"]
        assert isinstance(m, ReplayMarket)
        assert not isinstance(emu.driver.markets["ETHUSD"], ReplayMarket)
        # the driver warms every market up by a few steps: where the replay stands now
        at = sum(isinstance(r, BookRecord) for r in m.records[: m.pos]) - 1
        assert at > 0 and _market_book(m) == want[at]
        async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
            await recv(ws)
            mirror = Mirror()
            trades: list[dict[str, Any]] = []

            async def watch(subscribe: bool) -> None:
                """(Un)subscribe and read up to the acks: the server has taken it in."""
                op = "subscribe" if subscribe else "unsubscribe"
                topics = ["orderBookL2:XBTUSD", "trade:XBTUSD"]
                await ws.send_json({"op": op, "args": topics})
                acked: set[str] = set()
                while acked != set(topics):
                    msg = await recv(ws, timeout=5.0)
                    if msg.get("success") and msg.get(op) in topics:
                        acked.add(msg[op])
                    elif subscribe and msg.get("table") == "orderBookL2":
                        mirror.apply(msg)

            async def caught_up() -> None:
                """Read pushes until the client's book is the market's (a push missing or
                wrong never gets there, and the read times out)."""
                while _mirror_book(mirror) != _market_book(m):
                    msg = await recv(ws, timeout=5.0)
                    if msg.get("table") == "orderBookL2":
                        mirror.apply(msg)
                    elif msg.get("table") == "trade" and msg["action"] == "insert":
                        trades.extend(msg["data"])

            # every step against the from-scratch rebuild; the client's book over the first
            # 100 steps and the last 100 (across the loop-around back to the first partial)
            t, n = int(time.time() * 1000), len(want)
            await watch(True)
            for k in range(1, n + 50):
                if k == 101:
                    await watch(False)
                elif k == n - 50:
                    await watch(True)
                emu.step(t + k)
                assert _market_book(m) == want[(at + k) % n], k
                if k <= 100 or k >= n - 50:
                    await caught_up()
            assert m.loops == 1
            assert trades and all(30_000 < t["price"] < 35_000 for t in trades)  # July 2021
        # our orders trade against the recorded liquidity, in XBt as ever
        async with aiohttp.ClientSession() as session:
            client = Client(session, emu.base_url)
            status, order, _ = await client.call(
                "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 500, "ordType": "Market"}
            )
            assert status == 200 and order["ordStatus"] == "Filled"
            assert 30_000 < order["avgPx"] < 35_000
            _, wallet, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
            assert wallet["amount"] < 100_000_000  # the taker commission, whole satoshi
    finally:
        await emu.stop()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        (b'1: {"table":"orderBookL2","action":"partial","data":[{"x":1}]}\n', "no orderBookL2"),
        (b"\xe9\x00\xff garbage", "cannot read it"),
    ],
)
def test_bad_replay_is_one_line(tmp_path: Path, content: bytes | None, says: str) -> None:
    path = tmp_path / "capture"
    if content is not None:
        path.write_bytes(content)
    cmd = [sys.executable, "-m", "tradeloop.cli", "emulator", "bitmex", "--port", "0",
           "--replay", str(path)]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.stderr
