"""The public tape's money as BitMEX reports it, over a real socket: a trade's ``grossValue`` /
``homeNotional`` / ``foreignNotional``, a bin's ``trades`` / ``volume`` / ``turnover`` /
notionals (REST ``trade/bucketed``, ``partial`` and a ``startTime``/``endTime`` window) and the
instrument's 24 h figures -- satoshi / BTC / USD for the inverse XBTUSD, USDt / BTC / USDT for
the linear XBTUSDT -- each checked against the prints the same socket lists."""

from __future__ import annotations

import dataclasses
import json
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CAPTURE = SHARED / "captures" / "BITMEX.ws.1.0"
FIXTURES = SHARED / "bitmex" / "ws_fixtures_testnet_2020.json"
MINUTE = 60_000


def recorded_xbtusd_trades() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for line in CAPTURE.open(encoding="utf-8"):
        body = line.partition(": ")[2]
        if '"table":"trade"' in body:
            rows += [r for r in json.loads(body)["data"] if r["symbol"] == "XBTUSD"]
    return rows


def test_gross_value_is_bitmexs_on_every_recorded_print() -> None:
    """XBTUSD's grossValue is whole lots x the rounded satoshi value of one lot (2021 capture:
    lot 100; 2020 testnet fixture: lot 1), homeNotional is that in BTC, foreignNotional the
    USD size -- the rule the emulator prints by."""
    if not (CAPTURE.exists() and FIXTURES.exists()):
        pytest.skip(f"{SHARED} absent (shared data not mounted)")
    inst = ct.instrument("XBTUSD")
    rows = recorded_xbtusd_trades()
    assert len(rows) >= 10
    old = json.loads(FIXTURES.read_text())["symboledTradeInsert"][2]["data"]
    lot1 = dataclasses.replace(inst, lot_size=1.0, min_size=1.0)
    for i, r in [(inst, r) for r in rows] + [(lot1, r) for r in old]:
        size, price = Fraction(r["size"]), Fraction(str(r["price"]))
        gross = ct.gross_value(i, size, price)
        assert gross == r["grossValue"], r
        money = ct.Money(1, float(r["size"]), gross)
        assert money.home(i) == r["homeNotional"] and money.foreign(i) == r["foreignNotional"]


def test_linear_gross_value_is_exact() -> None:
    inst = ct.instrument("XBTUSDT")  # 1 contract = 1e-6 BTC, settled in USDt (1e-6 USDT)
    assert ct.gross_value(inst, Fraction(3000), Fraction("60000.5")) == 180_001_500
    money = ct.Money(1, 3000.0, 180_001_500)
    assert money.home(inst) == 0.003 and money.foreign(inst) == 180.0015


def future_minute() -> int:
    """A minute wholly after now, so steps stamped in it land in one fresh candle."""
    return (int(time.time() * 1000) // MINUTE + 2) * MINUTE


@pytest.mark.parametrize("symbol", ["XBTUSD", "XBTUSDT"])
async def test_bin_money_matches_its_prints(
    client: Client, emu: BitmexEmulator, symbol: str
) -> None:
    inst = emu.instruments[symbol]
    t0 = future_minute()
    for k in range(120):
        emu.step(t0 + 1_000 + k * 100)
    window = f"startTime={ct.iso(t0)}&endTime={ct.iso(t0 + MINUTE - 1)}"
    status, trades, _ = await client.call(
        "GET", f"/api/v1/trade?symbol={symbol}&count=1000&{window}"
    )
    assert status == 200 and len(trades) >= 20
    assert all(t0 <= ct.parse_iso(t["timestamp"]) < t0 + MINUTE for t in trades)  # type: ignore[operator]
    for t in trades:
        if inst.inverse:
            assert t["foreignNotional"] == t["size"]
            assert t["homeNotional"] == t["grossValue"] / 1e8
            assert abs(t["grossValue"] - t["size"] * 1e8 / t["price"]) <= t["size"] / 100
        else:
            assert t["grossValue"] == t["size"] * t["price"]  # USDt
            assert t["homeNotional"] == t["size"] / 1e6 and t["foreignNotional"] == pytest.approx(
                t["size"] * t["price"] / 1e6, rel=1e-12
            )
    # the bin closing at t0 + 1 min is in progress: only partial=true shows it
    close = ct.iso(t0 + MINUTE)
    q = f"/api/v1/trade/bucketed?symbol={symbol}&binSize=1m&startTime={close}&endTime={close}"
    status, bins, _ = await client.call("GET", q + "&partial=false")
    assert (status, bins) == (200, [])
    status, bins, _ = await client.call("GET", q + "&partial=true")
    assert status == 200 and len(bins) == 1
    b = bins[0]
    assert b["timestamp"] == close and b["trades"] == len(trades)
    assert b["volume"] == sum(t["size"] for t in trades)
    assert b["turnover"] == sum(t["grossValue"] for t in trades)
    assert b["lastSize"] == trades[-1]["size"]
    if inst.inverse:  # satoshi, BTC (Σ size/price, to BitMEX's lot rounding), USD
        assert b["homeNotional"] == b["turnover"] / 1e8
        exact = sum(Fraction(t["size"]) / Fraction(str(t["price"])) for t in trades)
        assert abs(b["homeNotional"] - float(exact)) <= b["volume"] / 100 / 1e8
        assert b["foreignNotional"] == b["volume"]
        assert b["vwap"] == pytest.approx(b["volume"] / b["homeNotional"], rel=1e-12)
    else:  # USDt, BTC, USDT
        assert b["homeNotional"] == pytest.approx(b["volume"] / 1e6, rel=1e-12)
        assert b["foreignNotional"] == b["turnover"] / 1e6
    assert b["low"] <= b["vwap"] <= b["high"]
    # the window's bins: closed ones only without partial, the in-progress one with it
    status, closed, _ = await client.call(
        "GET",
        f"/api/v1/trade/bucketed?symbol={symbol}&binSize=1m&partial=false&count=1000"
        f"&startTime={ct.iso(t0 - 30 * MINUTE)}",
    )
    assert status == 200 and closed and all(r["timestamp"] < close for r in closed)
    assert all(r["trades"] >= 1 for r in closed if r["volume"] > 0)


@pytest.mark.parametrize("symbol", ["XBTUSD", "XBTUSDT"])
async def test_instrument_24h_is_the_sum_of_its_bins(
    client: Client, emu: BitmexEmulator, symbol: str
) -> None:
    """volume24h / turnover24h / homeNotional24h / foreignNotional24h over the same minutes as
    the 1m bins from ``timestamp`` - 24 h (paged with ``start``, 1000 a page)."""
    now = int(time.time() * 1000)
    for k in range(40):
        emu.step(now + k * 100)
    status, rows, _ = await client.call("GET", f"/api/v1/instrument?symbol={symbol}")
    assert status == 200
    row = rows[0]
    at = ct.parse_iso(row["timestamp"])
    assert at is not None
    cutoff = int(at) - 1440 * MINUTE
    first_close = ct.iso(-(-cutoff // MINUTE) * MINUTE + MINUTE)  # first bin opening >= cutoff
    bins: list[dict[str, Any]] = []
    for start in (0, 1000):
        status, page, _ = await client.call(
            "GET",
            f"/api/v1/trade/bucketed?symbol={symbol}&binSize=1m&partial=true&count=1000"
            f"&start={start}&startTime={first_close}",
        )
        assert status == 200
        bins += page
    assert 1400 <= len(bins) <= 1441
    assert [b["timestamp"] for b in bins] == sorted({b["timestamp"] for b in bins})
    assert row["volume24h"] == sum(b["volume"] for b in bins) > 0
    assert row["turnover24h"] == sum(b["turnover"] for b in bins)
    assert row["homeNotional24h"] == pytest.approx(sum(b["homeNotional"] for b in bins))
    assert row["foreignNotional24h"] == pytest.approx(sum(b["foreignNotional"] for b in bins))
    if emu.instruments[symbol].inverse:
        assert row["homeNotional24h"] == row["turnover24h"] / 1e8
        assert row["foreignNotional24h"] == row["volume24h"]
    else:
        assert row["homeNotional24h"] == pytest.approx(row["volume24h"] / 1e6)
        assert row["foreignNotional24h"] == row["turnover24h"] / 1e6


async def test_a_users_taker_fill_is_on_the_tape(client: Client, emu: BitmexEmulator) -> None:
    """A market order's fill prints publicly (``record_trade``): it is counted in its bin."""
    m = emu.driver.markets["XBTUSD"]
    before = ct.tape(m).between(m.candles[-1].start, m.candles[-1].start + MINUTE)
    status, o, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 300, "ordType": "Market"}
    )
    assert status == 200 and o["ordStatus"] == "Filled"
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?symbol=XBTUSD")
    fills = [r for r in ex if r["execType"] == "Trade"]
    after = ct.tape(m).between(m.candles[-1].start, m.candles[-1].start + MINUTE)
    assert after.trades - before.trades == len(fills) and after.volume - before.volume == 300
    inst = emu.instruments["XBTUSD"]
    want = sum(
        ct.gross_value(inst, Fraction(r["lastQty"]), Fraction(str(r["lastPx"]))) for r in fills
    )
    assert after.turnover - before.turnover == want
