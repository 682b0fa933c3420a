"""The ``funding`` channel: funding rates and mark prices polled from the OKX and BitMEX
emulators over loopback, stored, queried in the catalog, and turned into a funding file that
the backtest loader accepts (one row per settlement, the rate that was paid)."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest

from tradeloop.cli import main
from tradeloop.data.funding import load_funding
from tradeloop.emulator.bitmex import server as bitmex
from tradeloop.emulator.okx import server as okx
from tradeloop.store import schema as S
from tradeloop.store.catalog import query
from tradeloop.store.funding import FundingSource, funding_file_rows, write_funding_file
from tradeloop.store.reader import read_stream
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.okx.rest import OkxRestClient

from .threaded import served

SWAP = "BTC-USDT-SWAP"
MS = 1_000_000


async def _okx(interval_s: float = 1.0) -> okx.OkxEmulator:
    cfg = okx.EmulatorConfig(symbols=[SWAP], seed=5, tick_interval_ms=0,
                             funding_interval_s=interval_s)  # fmt: skip
    emu = okx.OkxEmulator(cfg)
    await emu.start("127.0.0.1", 0)
    return emu


async def _past(t_ns: int) -> None:
    """Wait until the wall clock is past ``t_ns`` (a funding time the venue announced)."""
    while time.time_ns() <= t_ns:
        await asyncio.sleep(0.02)


async def test_okx_funding_recorded_queried_and_a_funding_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = await _okx()
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("okx", [f"{SWAP}.OKX"], emu.base_url)
    rates = [0.0001, -0.0002, 0.00035]
    paid: list[int] = []
    try:
        async with OkxRestClient(emu.base_url) as client:
            for rate in rates:
                emu.config.funding_rate = rate
                await src.poll_once(client, rec)
                await src.poll_once(client, rec)
                rec.flush()
                t = read_stream(tmp_path, "OKX", S.FUNDING, SWAP)
                due = t.column("funding_time").to_pylist()[-1]
                paid.append(due)
                await _past(due)
            await src.poll_once(client, rec)  # an observation after the last settlement
            mid = emu.driver.markets[SWAP].mid()
    finally:
        await emu.stop()
    rec.roll()
    t = read_stream(tmp_path, "OKX", S.FUNDING, SWAP).to_pydict()
    assert len(t["rate"]) == 7 and src.failures == 0
    assert t["rate"][:6] == [rates[0], rates[0], rates[1], rates[1], rates[2], rates[2]]
    assert all(math.isfinite(m) and m == pytest.approx(mid, rel=0.05) for m in t["mark"])
    assert all(ft > ts for ft, ts in zip(t["funding_time"], t["ts_event"], strict=True))
    # the catalog sees the channel with its partition keys
    _cols, rows = query(tmp_path, "SELECT venue, instrument, count(*), min(rate), max(rate) "
                       "FROM funding GROUP BY ALL")  # fmt: skip
    assert rows == [("OKX", SWAP, 7, -0.0002, 0.00035)]
    # a funding file: one row per settlement passed, the rate that was due then
    out = tmp_path / "funding.csv"
    assert write_funding_file(tmp_path, "OKX", SWAP, out) == 3
    f = load_funding(out)
    assert f.ts.tolist() == paid and f.rate.tolist() == rates
    capsys.readouterr()
    _backtest_pays_funding(tmp_path, out, paid)
    out_text = capsys.readouterr().out
    assert "(3 payments)" in out_text
    assert "funding paid 0," not in out_text and "funding paid" in out_text


def _backtest_pays_funding(tmp: Path, funding: Path, paid: list[int]) -> None:
    """The file drives a perpetual backtest: 1 s bars across the settlements, a strategy that
    is long every other bar, so funding is paid at some of them."""
    first, last = paid[0] // 10**9 - 3, paid[-1] // 10**9 + 3
    bars = tmp / "bars.csv"
    bars.write_text("time,open,high,low,close,volume\n" + "".join(
        f"{s * 1000},100,101,99,100.5,10\n" for s in range(first, last + 1)))  # fmt: skip
    flip = Path(__file__).parents[1] / "strategies" / "flip.py"
    argv = ["backtest", str(flip), "--data", str(bars), "--symbol", SWAP, "--leverage", "2",
            "--funding", str(funding), "--out", str(tmp / "bt"), "--no-progress"]  # fmt: skip
    assert main(argv) == 0


def test_funding_file_rows_keep_the_last_rate_before_each_settlement() -> None:
    ts = [5, 1, 3, 12, 14, 25]
    rate = [0.2, 0.1, 0.15, 0.3, 0.35, 0.4]
    due = [10, 10, 10, 20, 20, 30]
    # 30 lies after the last observation (25): its rate may still change, so it is left out
    assert funding_file_rows(ts, rate, due) == [(10, 0.2), (20, 0.35)]
    assert funding_file_rows([], [], []) == []


async def test_bitmex_funding_and_mark_from_the_instrument_table(tmp_path: Path) -> None:
    cfg = bitmex.BitmexConfig(symbols=["XBTUSD"], seed=2, tick_interval_ms=0,
                              funding_rate=-0.00042)  # fmt: skip
    emu = bitmex.BitmexEmulator(cfg)
    await emu.start("127.0.0.1", 0)
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("BITMEX", ["XBTUSD.BITMEX"], emu.base_url)
    client = BitmexRestClient(emu.base_url, rate_limits=False)
    try:
        assert await src.poll_once(client, rec) == 1
        mid = emu.driver.markets["XBTUSD"].mid()
        due = emu.next_funding_ms(int(time.time() * 1000))
    finally:
        await client.close()
        await emu.stop()
    rec.roll()
    t = read_stream(tmp_path, "BITMEX", S.FUNDING, "XBTUSD").to_pydict()
    assert t["rate"] == [-0.00042]
    assert t["mark"][0] == pytest.approx(mid, rel=1e-9)
    assert abs(t["funding_time"][0] // MS - due) <= 8 * 3600 * 1000  # the next settlement
    assert t["funding_time"][0] // MS % 1000 == 0


async def test_bitfinex_funding_from_deriv_status(tmp_path: Path) -> None:
    from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator
    from tradeloop.venues.bitfinex.rest import BitfinexRestClient

    perp = "tBTCF0:USTF0"
    emu = BitfinexEmulator(BitfinexConfig(symbols=[perp], seed=2, tick_interval_ms=0,
                                          funding_rate=0.00025))  # fmt: skip
    await emu.start("127.0.0.1", 0)
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("bitfinex", [f"{perp}.BITFINEX"], emu.base_url)
    client = BitfinexRestClient(emu.base_url)
    try:
        assert await src.poll_once(client, rec) == 1
        m = emu.driver.markets[perp]
        mid, period = m.mid(), m.funding_interval_ms
    finally:
        await client.close()
        await emu.stop()
    rec.roll()
    t = read_stream(tmp_path, "BITFINEX", S.FUNDING, perp).to_pydict()
    assert t["rate"] == [0.00025]  # the emulator's CURRENT_FUNDING
    assert t["mark"][0] == pytest.approx(mid, abs=0.01)
    assert t["funding_time"][0] // MS % period == 0 and t["funding_time"][0] > t["ts_event"][0]


async def test_binance_usdm_funding_from_the_premium_index(tmp_path: Path) -> None:
    from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
    from tradeloop.store.funding import VENUES

    emu = BinanceEmulator(BinanceConfig(symbols=["BTCUSDT"], futures_symbols=["BTCUSDT"],
                                        seed=2, tick_interval_ms=0))  # fmt: skip
    await emu.start("127.0.0.1", 0)
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("binance", ["BTCUSDT-PERP.BINANCE", "BTCUSDT.BINANCE"], emu.base_url)
    client = VENUES["BINANCE"].make_client(emu.base_url)
    try:
        assert await src.poll_once(client, rec) == 1  # the spot symbol is not polled
        index = await client.call("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"})
    finally:
        await client.close()
        await emu.stop()
    rec.roll()
    t = read_stream(tmp_path, "BINANCE", S.FUNDING, "BTCUSDT-PERP").to_pydict()
    assert t["rate"] == [float(index["lastFundingRate"])] and t["rate"][0] != 0.0
    assert t["mark"][0] == pytest.approx(float(index["markPrice"]), rel=1e-9)
    assert t["funding_time"][0] // MS == index["nextFundingTime"] > t["ts_event"][0] // MS


async def test_a_failed_poll_is_counted_and_marks_a_gap(tmp_path: Path) -> None:
    emu = await _okx()
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("okx", [f"{SWAP}.OKX", "BTC-USDT.OKX"], emu.base_url)  # spot: dropped
    try:
        async with OkxRestClient(emu.base_url) as client:
            assert await src.poll_once(client, rec) == 1
            url = emu.base_url
        await emu.stop()
        async with OkxRestClient(url, timeout=1.0) as client:
            from tradeloop.venues.retry import RetryConfig

            client.http.retry = RetryConfig(max_attempts=1, base=0.01, cap=0.01)
            assert await src.poll_once(client, rec) == 0  # the venue is gone
    finally:
        await emu.stop()
    assert src.failures == 1 and src.symbols == [f"{SWAP}.OKX"]
    assert ("funding", f"{SWAP}.OKX") in rec._gap  # the next stored row will carry gap=True


def test_record_cli_funding_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tradeloop record --channels funding`` end to end against the OKX emulator."""
    with served(_okx) as emu:
        argv = ["record", "--venue", "okx", "--url", emu.base_url, "--symbols", SWAP,
                "--channels", "funding", "--funding-every", "0.1", "--duration", "0.5",
                "--flush", "0.1", "--filter", "--store", str(tmp_path)]  # fmt: skip
        assert main(argv) == 0
    assert "recorded" in capsys.readouterr().out
    t = read_stream(tmp_path, "OKX", S.FUNDING, SWAP)
    assert t.num_rows >= 1
    assert set(t.column("rate").to_pylist()) == {0.0001}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--venue", "ftx", "--symbols", "BTC-PERP", "--channels", "funding"],
         "funding: ftx is not supported (only okx, bitmex, bitfinex, binance)"),
        (["--venue", "okx", "--symbols", SWAP, "--channels", "funding,fundng"], "fundng"),
        (["--channels", "funding"], "--venue"),
    ],
)  # fmt: skip
def test_record_funding_bad_input_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    assert main(["record", *argv, "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (["tBTCF0:USTF0", 1700000000000, None, 100.0], "malformed row"),  # cut short
        ("oops", "malformed row"),
        (["tETHF0:USTF0", 1, None, 1, 1, None, 1, None, 2, 0, 0, None, 0.0001, None, None, 1.0],
         "answered 'tETHF0:USTF0'"),  # another instrument's rate
        (["tBTCF0:USTF0", 1, None, 1, 1, None, 1, None, 2, 0, 0, None, None, None, None, 1.0],
         "no current funding"),  # no rate is not a rate of 0
        ({"rate": 1}, "malformed row"),
    ],
)  # fmt: skip
async def test_a_bad_bitfinex_answer_is_a_failed_poll_not_a_row_or_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, row: object, why: str
) -> None:
    """A venue answer of the wrong shape over a real socket: counted, logged in one line,
    a gap marked, nothing stored, and the source keeps polling (it used to raise out of
    ``poll_once`` on a short row, and store a null rate as 0)."""
    from aiohttp import web

    from tradeloop.venues.bitfinex.rest import BitfinexRestClient

    async def deriv(_: web.Request) -> web.Response:
        return web.json_response([row])

    app = web.Application()
    app.router.add_get("/v2/status/deriv", deriv)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0)
    src = FundingSource("bitfinex", ["tBTCF0:USTF0.BITFINEX"], f"http://127.0.0.1:{port}")
    client = BitfinexRestClient(f"http://127.0.0.1:{port}")
    try:
        assert await src.poll_once(client, rec) == 0
        assert await src.poll_once(client, rec) == 0
    finally:
        await client.close()
        await runner.cleanup()
    assert src.failures == 2 and src.symbols == ["tBTCF0:USTF0.BITFINEX"]
    assert ("funding", "tBTCF0:USTF0.BITFINEX") in rec._gap
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("funding ")]
    assert len(lines) == 2 and all("\n" not in m for m in lines) and why in lines[0]
