"""One TOML, one allocation: a backtest build and a live build of the same config give each
strategy the same capital and the same per-instrument multipliers (``[allocation] method``,
strategy ``weight`` / ``multiplier`` and ``[[instrument]] multiplier``); risk parity, whose
rebalance schedule is backtest-only, is refused by the live config in one line."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from tradeloop.engine.runbuild import build_run
from tradeloop.engine.runconfig import load_run_config
from tradeloop.live.config import load_live_config
from tradeloop.live.runtime import LiveRuntime

from .helpers import STRATS, account_block, emulator

K, S, P = "alloc-key", "alloc-secret", "alloc-pass"


def _config(tmp: Path, url: str, method: str) -> Path:
    bars = tmp / "btc.csv"
    rows = [f"{1_700_000_000_000 + i * 60_000},100,103,99,{100 + i % 3},5" for i in range(10)]
    bars.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    strat = textwrap.dedent(f"""
        [[strategy]]
        file = "{STRATS}"
        class = "Flip"
        id = "{{sid}}"
        weight = {{w}}
        multiplier = {{m}}
        bar = "1m"
        """)
    text = (
        textwrap.dedent(f"""
        [run]
        cash = 10000

        [allocation]
        method = "{method}"

        [live]
        deployment = "alloc"
        journal = "{tmp / "j.sqlite"}"

        [[instrument]]
        symbol = "BTC-USDT.OKX"
        data = "{bars}"
        multiplier = 2.0
        """)
        + account_block("okx-a", url, "A")
        + strat.format(sid="big", w=3, m=1.5)
        + strat.format(sid="small", w=1, m=1.0)
    )
    path = tmp / "run.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("method", "want"),
    [("weights", {"big": 7500.0, "small": 2500.0}), ("equal", {"big": 5000.0, "small": 5000.0})],
)
async def test_backtest_and_live_allocate_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, want: dict[str, float]
) -> None:
    for part, value in (("KEY", K), ("SECRET", S), ("PASS", P)):
        monkeypatch.setenv(f"A_{part}", value)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    try:
        cfg = _config(tmp_path, url, method)
        built = build_run(load_run_config(cfg))
        back = {r.strategy.id: (r.capital, r.strategy.multipliers) for r in built.runs}
        rt = LiveRuntime(load_live_config(cfg))
        await rt.start()
        try:
            live = {s.id: (s.capital, s.multipliers) for g in rt.groups for s in g.strategies}
        finally:
            await rt.shutdown()
    finally:
        await asyncio.wait_for(emu.stop(), 10)
    assert live == back
    assert {k: v[0] for k, v in live.items()} == pytest.approx(want)
    assert live["big"][1] == {"BTC-USDT.OKX": 3.0} and live["small"][1] == {"BTC-USDT.OKX": 2.0}


async def test_live_runs_risk_parity_per_group_and_keeps_its_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Risk parity runs live as in the backtest (equal shares until it has samples, the same
    sampling and rebalance timers, named per account group so groups never replace each
    other's), and the marks it sampled survive a restart through the journal."""
    for part, value in (("KEY", K), ("SECRET", S), ("PASS", P)):
        monkeypatch.setenv(f"A_{part}", value)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    try:
        cfg = _config(tmp_path, url, "risk_parity")
        built = build_run(load_run_config(cfg))
        back = {r.strategy.id: r.capital for r in built.runs}
        rt = LiveRuntime(load_live_config(cfg))
        await rt.start()
        try:
            (g,) = rt.groups
            assert g.allocator is not None and g.allocator.name == f"alloc:{g.key}"
            assert {s.id: s.capital for s in g.strategies} == pytest.approx(back)
            sym = next(iter(g.allocator.prices))
            g.allocator.prices[sym].extend([100.0, 101.0, 99.5])
            rt._housekeeping("housekeeping", 0)
        finally:
            await rt.shutdown()
        again = LiveRuntime(load_live_config(cfg))
        await again.start()
        try:
            again.restore()  # what run() does after start()
            (g2,) = again.groups
            assert g2.allocator is not None
            assert list(g2.allocator.prices[sym])[:3] == [100.0, 101.0, 99.5]
        finally:
            await again.shutdown()
    finally:
        await asyncio.wait_for(emu.stop(), 10)
