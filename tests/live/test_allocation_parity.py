"""One TOML, one allocation: a backtest build and a live build of the same config give each
strategy the same capital and the same per-instrument multipliers (``[allocation] method``,
strategy ``weight`` / ``multiplier`` and ``[[instrument]] multiplier``); risk parity, whose
rebalance schedule is backtest-only, is refused by the live config in one line."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
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


def test_live_refuses_risk_parity_in_one_line(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "http://127.0.0.1:9", "risk_parity")
    assert build_run(load_run_config(cfg)).config.setup is not None  # the backtest runs it
    with pytest.raises(ConfigError) as exc:
        load_live_config(cfg)
    assert "method = 'risk_parity' runs in backtests only" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_live_cli_refuses_risk_parity_exit_2_no_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    cfg = _config(tmp_path, "http://127.0.0.1:9", "risk_parity")
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "TRADELOOP_STATE_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", "live", str(cfg), "--check"],
                       capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "risk_parity" in lines[0], r.stderr
