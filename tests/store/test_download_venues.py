"""``tradeloop data download`` for Binance, BitMEX, Bitfinex and FTX, each against its own
emulator over loopback: candles and trades paged (small pages, trades sharing milliseconds
across page edges), interrupted and resumed under injected 429s, every row once; bad venue
and bar one line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tradeloop.cli import main
from tradeloop.store import download as D
from tradeloop.store import history as H
from tradeloop.store import schema as S
from tradeloop.store.reader import read_stream

from .threaded import served

MIN = 60_000


def _binance() -> Any:
    from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator

    return BinanceEmulator(BinanceConfig(symbols=["BTCUSDT"], seed=3, tick_interval_ms=0))


def _bitmex() -> Any:
    from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator

    return BitmexEmulator(BitmexConfig(symbols=["XBTUSD"], seed=3, tick_interval_ms=0))


def _bitfinex() -> Any:
    from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator

    return BitfinexEmulator(BitfinexConfig(symbols=["tBTCUSD"], seed=3, tick_interval_ms=0))


def _ftx() -> Any:
    from tradeloop.emulator.ftx.server import FtxConfig, FtxEmulator

    return FtxEmulator(FtxConfig(symbols=["BTC-PERP"], seed=3, tick_interval_ms=0))


VENUES: list[tuple[str, Callable[[], Any], str]] = [
    ("binance", _binance, "BTCUSDT"),
    ("bitmex", _bitmex, "XBTUSD"),
    ("bitfinex", _bitfinex, "tBTCUSD"),
    ("ftx", _ftx, "BTC-PERP"),
]


async def _start(make: Callable[[], Any]) -> Any:
    emu = make()
    await emu.start("127.0.0.1", 0)
    return emu


def _job(venue: str, kind: str, inst: str, start: int, end: int) -> D.Job:
    return D.Job(venue.upper(), kind, inst, "1m" if kind == "candles" else "", start, end)


@pytest.mark.parametrize(("venue", "make", "inst"), VENUES, ids=[v[0] for v in VENUES])
async def test_candles_paged_and_resumed(
    tmp_path: Path, venue: str, make: Callable[[], Any], inst: str
) -> None:
    emu = await _start(make)
    now = int(time.time() * 1000)
    end = now - now % MIN
    start = end - 130 * MIN
    truth = {c.start: c for c in emu.driver.markets[inst].aggregate(MIN)
             if start <= c.start < end}  # fmt: skip
    src: Any = H.SOURCES[venue](emu.base_url)
    src.limit = 40  # several pages (the venues serve any page size up to theirs)
    try:
        job = _job(venue, "candles", inst, start, end)
        state = job.state_path(tmp_path, "x")
        await D.download_window(src, job, tmp_path, state, bar_ms=MIN, max_pages=2, now_ms=now)
        assert not job.done and job.pages == 2
        resumed = D.load_job(state, _job(venue, "candles", inst, 0, 0))
        emu.faults.fail_next_429(2)  # the client's retries (and our waits) absorb them
        await D.download_window(src, resumed, tmp_path, state, bar_ms=MIN, now_ms=now,
                                pause=0.05)  # fmt: skip
        assert emu.faults.fail_remaining == 0  # both were answered
    finally:
        await src.close()
        await emu.stop()
    assert resumed.done and resumed.rows == len(truth) == 130
    t = read_stream(tmp_path, venue.upper(), S.BARS, inst).sort_by("start")
    starts = [v // 1_000_000 for v in t.column("start").to_pylist()]
    assert starts == sorted(truth)  # every bar once
    for col in ("open", "high", "low", "close"):
        want = [getattr(truth[s], col) for s in starts]
        assert t.column(col).to_pylist() == pytest.approx(want, rel=1e-9), col
    assert set(t.column("interval").to_pylist()) == {"1m"}


@pytest.mark.parametrize(("venue", "make", "inst"), VENUES, ids=[v[0] for v in VENUES])
async def test_trades_across_shared_milliseconds(
    tmp_path: Path, venue: str, make: Callable[[], Any], inst: str
) -> None:
    emu = await _start(make)
    base = int(time.time() * 1000) - 30_000
    for i in range(300):
        emu.step(base + i // 4)  # about four steps per millisecond: trades share stamps
    m = emu.driver.markets[inst]
    trades = [t for t in m.trades if base <= t.ts < base + 1_000]  # ours, not start-up ones
    assert len(trades) >= 100
    per_ms: dict[int, int] = {}
    for t in trades:
        per_ms[t.ts] = per_ms.get(t.ts, 0) + 1
    assert max(per_ms.values()) >= 2
    src: Any = H.SOURCES[venue](emu.base_url)
    src.limit = max(per_ms.values()) + 6  # pages end inside a shared millisecond
    try:
        job = _job(venue, "trades", inst, base, base + 1_000)
        state = job.state_path(tmp_path, "x")
        await D.download_window(src, job, tmp_path, state, max_pages=3)
        resumed = D.load_job(state, _job(venue, "trades", inst, 0, 0))
        await D.download_window(src, resumed, tmp_path, state)
    finally:
        await src.close()
        await emu.stop()
    assert resumed.done and resumed.pages > 4
    t = read_stream(tmp_path, venue.upper(), S.TRADES, inst)
    ids = t.column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) == len(trades)  # every trade once
    prices = dict(zip(ids, t.column("price").to_pylist(), strict=True))
    sides = dict(zip(ids, t.column("side").to_pylist(), strict=True))
    for tr in trades:
        key = next(i for i in ids if i == tr.trade_id or i.endswith(f"{int(tr.trade_id):012d}"))
        assert prices[key] == pytest.approx(float(tr.price), rel=1e-12)
        assert sides[key] == tr.side


def test_cli_download_each_venue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command end to end for one venue per kind of paging (Binance forward, FTX
    backward): complete, then already complete."""
    now = int(time.time() * 1000)
    end = now - now % MIN
    for venue, make, inst in (VENUES[0], VENUES[3]):

        async def make_started(make: Callable[[], Any] = make) -> Any:
            return await _start(make)

        with served(make_started) as emu:
            argv = ["data", "download", "--venue", venue, "--instrument", inst, "--bar", "1m",
                    "--from", str(end - 30 * MIN), "--to", str(end), "--url", emu.base_url,
                    "--store", str(tmp_path)]  # fmt: skip
            assert main(argv) == 0
            assert "30 rows" in capsys.readouterr().out
            assert main(argv) == 0
            assert "already complete (30 rows)" in capsys.readouterr().out
        assert read_stream(tmp_path, venue.upper(), S.BARS, inst).num_rows == 30


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--venue", "kraken"], "supported: okx, binance, bitmex, bitfinex, ftx"),
        (["--venue", "bitmex", "--bar", "15m"], "one of 1m, 5m, 1h, 1d"),
        (["--venue", "binance", "--bar", "7x"], "not a BINANCE candle size"),
    ],
)
def test_bad_venue_or_bar_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    base = ["data", "download", "--instrument", "X", "--from", "2024-01-01",
            "--store", str(tmp_path), "--url", "http://127.0.0.1:9"]  # fmt: skip
    assert main([*base, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


@pytest.mark.parametrize("kind", ["candles", "trades"])
def test_an_unknown_instrument_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """The venue refuses the symbol (Binance -1121): the command says so in one line and
    exits 2 (the VenueError used to escape ``main`` as a traceback)."""

    async def make_started() -> Any:
        return await _start(_binance)

    with served(make_started) as emu:
        argv = ["data", "download", "--venue", "binance", "--instrument", "NOPEUSDT",
                "--kind", kind, "--from", "2024-01-01", "--to", "2024-01-02",
                "--url", emu.base_url, "--store", str(tmp_path)]  # fmt: skip
        assert main(argv) == 2
    # (stderr may also hold logging's complaint about an earlier test's closed capture
    # stream, so the command's own line is picked out)
    err = capsys.readouterr().err
    mine = [ln for ln in err.splitlines() if ln.startswith("tradeloop data: error:")]
    assert len(mine) == 1 and "VenueError" not in err, err
    assert "BINANCE NOPEUSDT" in mine[0] and "-1121 Invalid symbol" in mine[0]
    assert mine[0].endswith("(0 rows kept; run again to resume)")
