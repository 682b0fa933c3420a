"""Replay of the real OKX WS capture (2022, BTC-USDT books + trades) through the emulator:
clients rebuild the book from our pushes and every checksum verifies, across the loop-around."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tradeloop.emulator.okx.replay import load_capture
from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import WsClient, is_push, make_config
from .test_ws import LocalBook

pytestmark = pytest.mark.shared


def test_capture_parses(shared_data: Path) -> None:
    recs = load_capture(shared_data / "captures" / "OKX.ws.1.0", {"BTC-USDT", "ETH-USDT"})
    assert set(recs) == {"BTC-USDT"}
    books = [r for r in recs["BTC-USDT"] if hasattr(r, "snapshot")]
    assert books[0].snapshot and len(books) == 98


async def test_replayed_books_verify(shared_data: Path) -> None:
    emu = OkxEmulator(
        make_config(
            symbols=["BTC-USDT", "ETH-USDT"],
            tick_interval_ms=10,
            replay_file=str(shared_data / "captures" / "OKX.ws.1.0"),
        )
    )
    await emu.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as s:
            ws = WsClient(await s.ws_connect(emu.base_url.replace("http", "ws") + "/ws/v5/public"))
            await ws.send(
                {
                    "op": "subscribe",
                    "args": [
                        {"channel": "books", "instId": "BTC-USDT"},
                        {"channel": "trades", "instId": "BTC-USDT"},
                    ],
                }
            )
            book = LocalBook()
            last = -1
            for n in range(130):  # > one pass over the 97 recorded updates
                m = await ws.wait(is_push("books"))
                d = m["data"][0]
                book.apply(d, snapshot=m["action"] == "snapshot")
                assert n == 0 or d["prevSeqId"] == last
                assert book.checksum() == d["checksum"]
                last = d["seqId"]
            assert 25_000 < min(float(p) for p in book.asks) < 35_000  # the 2022 prices
            trade = await ws.wait(is_push("trades"))
            assert 25_000 < float(trade["data"][0]["px"]) < 35_000
            await ws.ws.close()
        assert emu.driver.markets["BTC-USDT"].loops >= 1  # type: ignore[attr-defined]
        # user orders match against the replayed liquidity
        item = emu.trading.place(
            {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "market",
                "sz": "0.01",
                "tgtCcy": "base_ccy",
            }
        )
        assert item["sCode"] == "0"
        info = emu.trading.account.find(item["ordId"])
        assert info is not None and 25_000 < info.fills[0].price < 35_000
    finally:
        await emu.stop()
