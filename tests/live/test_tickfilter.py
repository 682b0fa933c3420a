"""The abnormal-tick filter: bad prints are counted and never passed; a real level shift is
accepted after a few agreeing ticks; the same rules clean bars for a backtest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tradeloop.data.tickfilter import (
    CROSSED,
    JUMP,
    NON_POSITIVE,
    OUT_OF_ORDER,
    FilterConfig,
    TickFilter,
    filter_bars,
)
from tradeloop.model import Bar, QuoteTick, Side, TradeTick

SYM = "BTC-USDT.OKX"


def t(ts: int, px: float, qty: float = 1.0) -> TradeTick:
    return TradeTick(ts, SYM, px, qty, Side.BUY)


def test_each_rule() -> None:
    f = TickFilter(FilterConfig(k=8.0, min_scale=1e-4))
    prices = [100.0 + 0.01 * math.sin(i) for i in range(50)]
    assert all(f.accept(t(i, p)) for i, p in enumerate(prices))
    assert not f.accept(t(60, 150.0))  # fat finger
    assert not f.accept(t(61, -1.0))
    assert not f.accept(t(62, float("nan")))
    assert not f.accept(t(10, 100.0))  # older than the last accepted trade
    assert not f.accept(QuoteTick(63, SYM, 100.1, 1.0, 100.0, 1.0))  # crossed
    assert not f.accept(QuoteTick(64, SYM, 100.0, 1.0, 100.0, 1.0))  # locked
    assert f.accept(QuoteTick(65, SYM, 99.99, 1.0, 100.01, 1.0))
    assert f.accept(t(66, 100.02))
    c = f.counts
    assert c[(SYM, JUMP)] == 1 and c[(SYM, NON_POSITIVE)] == 2
    assert c[(SYM, OUT_OF_ORDER)] == 1 and c[(SYM, CROSSED)] == 2


def test_level_shift_is_accepted_after_confirmations() -> None:
    f = TickFilter(FilterConfig(k=8.0, min_scale=1e-4, confirm=3))
    for i in range(30):
        assert f.accept(t(i, 100.0 + 0.01 * (i % 3)))
    got = [f.accept(t(100 + i, 110.0 + 0.01 * i)) for i in range(5)]
    assert got == [False, False, True, True, True]


def test_same_filter_cleans_backtest_bars() -> None:
    bars = [Bar(i + 1, SYM, i, 100, 101, 99, 100 + 0.1 * (i % 2), 5) for i in range(40)]
    bars[20] = Bar(21, SYM, 20, 100, 101, 99, 1000, 5)  # a bad close
    bars[30] = Bar(31, SYM, 30, 100, 99, 101, 100, 5)  # high < low
    kept, f = filter_bars(bars, FilterConfig(k=10.0))
    assert len(kept) == 38 and f.dropped == 2


def _csv(spike_at: int | None, n: int = 120) -> str:
    rows = ["timestamp,open,high,low,close,volume"]
    for i in range(n):
        c = 100.0 + 0.3 * math.sin(i / 3)
        if i == spike_at:
            c = 1000.0  # a print no one could trade at
        rows.append(f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00,{c},{c + 0.1},{c - 0.1},{c},5")
    return "\n".join(rows) + "\n"


def test_filter_series_drops_the_spike_bar_only(tmp_path: Path) -> None:
    from tradeloop.data.loaders import load_bars
    from tradeloop.data.tickfilter import filter_series

    path = tmp_path / "spike.csv"
    path.write_text(_csv(spike_at=70))
    bars = load_bars(path, symbol="BTC-USDT")
    kept, f = filter_series(bars, FilterConfig(k=12.0))
    assert len(kept) == len(bars) - 1 and 1000.0 not in kept.close
    assert f.counts == {("BTC-USDT", JUMP): 1}
    clean, f2 = filter_series(load_bars(_write(tmp_path, _csv(None)), symbol="BTC-USDT"))
    assert len(clean) == 120 and not f2.counts


def _write(tmp: Path, text: str) -> Path:
    p = tmp / "clean.csv"
    p.write_text(text)
    return p


def test_backtest_tick_filter_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tradeloop.cli import main

    data = tmp_path / "spike.csv"
    data.write_text(_csv(spike_at=70))
    sma = Path(__file__).resolve().parents[2] / "examples" / "sma_cross.py"
    common = [str(sma), "--data", str(data), "--no-report", "--no-progress"]
    assert main(["backtest", *common, "--out", str(tmp_path / "a"), "--tick-filter"]) == 0
    out = capsys.readouterr().out
    assert "tick filter (k=12): 1 of 120 bars dropped (1 price_jump)" in out
    assert main(["backtest", *common, "--out", str(tmp_path / "b")]) == 0
    assert "tick filter" not in capsys.readouterr().out  # off unless asked


def _run_config(tmp: Path, filter_table: str) -> Path:
    data = tmp / "spike.csv"
    data.write_text(_csv(spike_at=70))
    sma = Path(__file__).resolve().parents[2] / "examples" / "sma_cross.py"
    cfg = tmp / "run.toml"
    cfg.write_text(
        f'[[instrument]]\nsymbol = "BTC-USDT"\ndata = "{data}"\n\n'
        f'[[strategy]]\nfile = "{sma}"\nparams = {{ fast = 3, slow = 8 }}\n\n{filter_table}'
    )
    return cfg


def test_config_backtest_uses_the_filter_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run config's [filter] table cleans the data of a config-file backtest (the same table
    the live runtime reads); per-instrument overrides win; without the table nothing changes."""
    from tradeloop.cli import main

    common = ["--no-report", "--no-progress"]
    cfg = _run_config(tmp_path, "[filter]\nk = 12.0\n")
    assert main(["backtest", str(cfg), *common, "--out", str(tmp_path / "a")]) == 0
    assert "tick filter: 1 of 120 bars dropped (1 price_jump)" in capsys.readouterr().out
    off = _run_config(tmp_path, '[filter.instrument."btc-usdt"]\nenabled = false\n')
    assert main(["backtest", str(off), *common, "--out", str(tmp_path / "b")]) == 0
    assert "tick filter" not in capsys.readouterr().out
    bare = _run_config(tmp_path, "")
    assert main(["backtest", str(bare), *common, "--out", str(tmp_path / "c")]) == 0
    assert "tick filter" not in capsys.readouterr().out  # off unless asked
    assert main(["backtest", str(bare), *common, "--out", str(tmp_path / "d"),
                 "--tick-filter", "12"]) == 0  # fmt: skip
    assert "tick filter: 1 of 120 bars dropped" in capsys.readouterr().out
    bad = _run_config(tmp_path, "[filter]\nk = 12.0\nwindw = 3\n")
    assert main(["backtest", str(bad), *common, "--out", str(tmp_path / "e")]) == 2
    assert "[filter]: unknown key 'windw'" in capsys.readouterr().err


def test_live_tickfilter_reexport() -> None:
    """Callers of the old location (store/cli_record.py) keep working."""
    from tradeloop.data import tickfilter as low
    from tradeloop.live import tickfilter as old

    assert old.TickFilter is low.TickFilter and old.filter_series is low.filter_series
