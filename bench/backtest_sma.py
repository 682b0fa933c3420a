"""Throughput of the full backtest engine on the SMA(10)/SMA(50) long/flat rules.

    .venv/bin/python bench/backtest_sma.py [--bars 1000000]

Runs 1,000,000 synthetic 1-minute bars through the whole engine (bus, strategy, portfolio,
risk, OMS, simulated venue, accounting, equity recording) and, in the same process, a bare
pure-Python loop of the same rules (no engine at all), then prints both rates and their ratio.
The two must agree on the result, which is checked too, so the bare loop is a fair baseline.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASH = 10_000.0
LOT = 1e-20  # size step: tiny, so 27k fee-paying trades never grind equity below one lot


def bare_loop(
    opens: list[float], closes: list[float], fast: int, slow: int, cash: float, fee: float
) -> tuple[float, int]:
    """The SMA rules with nothing else: running sums, next-open fills, fee on notional."""
    fq: deque[float] = deque()
    sq: deque[float] = deque()
    fsum = ssum = 0.0
    qty = 0.0
    want = False
    pending: bool | None = None
    fills = 0
    for o, c in zip(opens, closes, strict=True):
        if pending is not None:
            if pending:
                q = cash / (o * (1.0 + fee))
                if q >= LOT:  # the venue refuses less than one lot
                    qty = q
                    cash -= qty * o * (1.0 + fee)
                    fills += 1
            elif qty:
                cash += qty * o * (1.0 - fee)
                qty = 0.0
                fills += 1
            pending = None
        fq.append(c)
        fsum += c
        if len(fq) > fast:
            fsum -= fq.popleft()
        sq.append(c)
        ssum += c
        if len(sq) > slow:
            ssum -= sq.popleft()
        if len(sq) == slow:
            long = fsum / fast > ssum / slow * (1.0 + 1e-10)
            if long != want:
                want = long
                pending = long
    return cash + qty * closes[-1], fills


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from tradeloop.data.synthetic import synthetic_bars
    from tradeloop.engine.backtest import BacktestConfig, run_backtest
    from tradeloop.model import Instrument

    spec = importlib.util.spec_from_file_location("sma_cross", ROOT / "examples" / "sma_cross.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    bars = synthetic_bars(n=args.bars, symbol="BTC-USDT", interval="1m", seed=42)
    inst = Instrument(
        "BTC-USDT", "BTC", "USDT", tick_size=0.01, lot_size=LOT, maker_fee=0.001, taker_fee=0.001
    )
    # CPU time of this single-threaded process is the figure other processes on the machine
    # can't disturb (wall time is printed too). Best of N, alternating engine and baseline.
    engine_cpu = bare_cpu = engine_wall = bare_wall = float("inf")
    opens, closes = bars.open.tolist(), bars.close.tolist()
    for _ in range(args.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        res = run_backtest(
            [mod.SmaCross(params={"fast": 10, "slow": 50})], bars, inst, BacktestConfig(cash=CASH)
        )
        engine_cpu = min(engine_cpu, time.process_time() - c0)
        engine_wall = min(engine_wall, time.perf_counter() - w0)
        c0, w0 = time.process_time(), time.perf_counter()
        bare_eq, bare_fills = bare_loop(opens, closes, 10, 50, CASH, 0.001)
        bare_cpu = min(bare_cpu, time.process_time() - c0)
        bare_wall = min(bare_wall, time.perf_counter() - w0)
    n = len(bars)
    # equities are compared relative to the starting cash: both may be ground to ~0 by fees
    agree = abs(res.final_equity - bare_eq) <= 1e-9 * CASH and len(res.fills) == bare_fills
    print(f"bars                 {n:,}")
    print(
        f"engine               {n / engine_cpu:,.0f} bars/s CPU  ({n / engine_wall:,.0f} wall; "
        f"{len(res.fills)} fills, final equity {res.final_equity:.6g})"
    )
    print(
        f"bare python loop     {n / bare_cpu:,.0f} bars/s CPU  ({n / bare_wall:,.0f} wall; "
        f"{bare_fills} fills, final equity {bare_eq:.6g})"
    )
    print(f"engine / bare        {bare_cpu / engine_cpu:.3f}")
    print(f"results agree        {agree}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
