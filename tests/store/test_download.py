"""``tradeloop data download`` against the OKX emulator over loopback: pages, rate limits,
resume after an interruption (no duplicates), trades, and bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tradeloop.cli import main
from tradeloop.emulator.okx import server as emulator
from tradeloop.store import download as D
from tradeloop.store import schema as S
from tradeloop.store.reader import read_stream
from tradeloop.venues.okx.rest import OkxRestClient

SYM = "BTC-USDT"
MIN = 60_000


async def _emu() -> emulator.OkxEmulator:
    emu = emulator.OkxEmulator(emulator.EmulatorConfig(symbols=[SYM], seed=3, tick_interval_ms=0))
    await emu.start("127.0.0.1", 0)
    return emu


def _job(kind: str, start: int, end: int) -> D.Job:
    return D.Job("OKX", kind, SYM, "1m" if kind == "candles" else "", start, end)


async def test_candles_paged_rate_limited_and_resumed(tmp_path: Path) -> None:
    emu = await _emu()
    try:
        now = int(time.time() * 1000)
        end = now - now % MIN
        start = end - 450 * MIN  # 450 closed bars: five pages of 100
        truth = {
            c.start: c for c in emu.driver.markets[SYM].aggregate(MIN) if start <= c.start < end
        }
        async with OkxRestClient(emu.base_url) as client:
            src = D.OkxHistory(client)
            # one go, with 429s injected (the client's retries and ours absorb them)
            emu.faults.fail_next_429(6)
            full = _job("candles", start, end)
            one = tmp_path / "one"
            await D.download_candles(src, full, one, full.state_path(one, "x"), pause=0.05)
            # interrupted after two pages, then resumed from the saved cursor
            two = tmp_path / "two"
            first = _job("candles", start, end)
            state = first.state_path(two, "x")
            await D.download_candles(src, first, two, state, max_pages=2)
            assert not first.done and first.rows == 200
            resumed = D.load_job(state, _job("candles", 0, 0))
            assert resumed.cursor == first.cursor
            await D.download_candles(src, resumed, two, state)
    finally:
        await emu.stop()
    assert full.done and resumed.done and full.rows == len(truth) == 450
    assert full.pages >= 5
    for root in (one, two):
        t = read_stream(root, "OKX", S.BARS, SYM).sort_by("start")
        starts = [v // 1_000_000 for v in t.column("start").to_pylist()]
        assert starts == sorted(truth)  # every bar once, none twice
        closes = t.column("close").to_pylist()
        assert closes == pytest.approx([truth[s].close for s in starts], rel=1e-9)
        assert set(pc.unique(t.column("interval")).to_pylist()) == {"1m"}


async def test_trades_download_stops_when_nothing_older(tmp_path: Path) -> None:
    emu = await _emu()
    try:
        for _ in range(60):
            emu.step()
        m = emu.driver.markets[SYM]
        want = {t.trade_id for t in m.trades}
        assert want
        async with OkxRestClient(emu.base_url) as client:
            job = _job("trades", 0, int(time.time() * 1000) + 60_000)
            await D.download_trades(D.OkxHistory(client), job, tmp_path, tmp_path / "s.json")
    finally:
        await emu.stop()
    assert job.done
    t = read_stream(tmp_path, "OKX", S.TRADES, SYM)
    ids = t.column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) and set(ids) <= want and len(ids) == min(len(want), 100)
    assert set(t.column("side").to_pylist()) <= {"buy", "sell"}


class _Paged:
    """A venue that honours ``after`` on trade ids (what OKX does; the emulator serves only
    its latest trades), with a rate limit on the third request."""

    venue = "OKX"

    def __init__(self, n: int) -> None:
        self.rows = [
            {"tradeId": str(i), "px": "100.5", "sz": "0.1", "side": "buy", "ts": str(1_000 * i)}
            for i in range(1, n + 1)
        ]
        self.calls = 0

    async def candles(self, inst: str, bar: str, after_ms: int) -> list[list[str]]:
        return []

    async def trades(self, inst: str, after_id: str) -> list[dict[str, str]]:
        from tradeloop.core.errors import RateLimited

        self.calls += 1
        if self.calls == 3:
            raise RateLimited("OKX 50011 too many requests", "50011", 0.01)
        older = [r for r in self.rows if not after_id or int(r["tradeId"]) < int(after_id)]
        return list(reversed(older))[:100]


async def test_trades_follow_the_id_cursor_to_the_start(tmp_path: Path) -> None:
    src = _Paged(350)
    job = _job("trades", 50_000, 10**9)  # trades 50.. (ts = 1000 * id)
    await D.download_trades(src, job, tmp_path, tmp_path / "s.json", pause=0.01)
    assert job.done and job.waits == 1
    ids = read_stream(tmp_path, "OKX", S.TRADES, SYM).column("trade_id").to_pylist()
    assert sorted(map(int, ids)) == list(range(50, 351))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--from", "yesterday"], "--from"),
        (["--from", "2024-01-02", "--to", "2024-01-01"], "--to"),
        (["--from", "2024-01-01", "--bar", "7m"], "--bar"),
    ],
)
def test_bad_input_is_a_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    base = ["data", "download", "--venue", "okx", "--instrument", SYM, "--store", str(tmp_path)]
    assert main([*base, *argv, "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_cli_download_resumes_to_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command end to end over loopback: stopped after two pages, resumed, complete, and
    a third run finds the job done."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, emulator.OkxEmulator] = {}

    async def serve() -> None:
        holder["emu"] = await _emu()
        ready.set()

    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    assert ready.wait(10)
    emu = holder["emu"]
    try:
        now = int(time.time() * 1000)
        end = now - now % MIN
        argv = ["data", "download", "--venue", "okx", "--instrument", SYM, "--bar", "1m",
                "--from", str(end - 250 * MIN), "--to", str(end), "--url", emu.base_url,
                "--store", str(tmp_path)]  # fmt: skip
        assert main([*argv, "--max-pages", "2"]) == 0
        assert "stopped (run again to resume)" in capsys.readouterr().out
        assert main(argv) == 0
        assert "complete" in capsys.readouterr().out
        assert main(argv) == 0
        assert "already complete (250 rows)" in capsys.readouterr().out
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
    t = read_stream(tmp_path, "OKX", S.BARS, SYM)
    starts = t.column("start").to_pylist()
    assert len(starts) == len(set(starts)) == 250
