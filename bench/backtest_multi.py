"""Throughput of a multi-instrument, multi-strategy backtest (issue 15's figure).

    .venv/bin/python bench/backtest_multi.py [--instruments 10] [--bars 100000]

Ten synthetic 1-minute instruments, one SMA-cross strategy each on 1m bars and one on 15m
bars (resampled in the engine), all through one kernel and one simulated venue. Prints
bar-events per second (every row the replay handles: 1m bars plus resampled 15m bars).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instruments", type=int, default=10)
    ap.add_argument("--bars", type=int, default=100_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "examples"))
    from sma_cross import SmaCross

    from tradeloop.data.synthetic import synthetic_bars
    from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun, run_multi_backtest
    from tradeloop.model import Instrument

    feeds, runs = [], []
    for i in range(args.instruments):
        inst = Instrument.of(f"C{i}-USDT", "SIM", f"C{i}", "USDT", tick_size=0.01, lot_size=1e-8)
        bars = synthetic_bars(n=args.bars, symbol=inst.symbol, interval="1m", seed=i)
        feeds.append(Feed(inst, bars))
        n = inst.native
        runs.append(StrategyRun(SmaCross(f"m{i}", {"fast": 10, "slow": 50}), (n,),
                                {n: (60_000_000_000,)}))  # fmt: skip
        runs.append(StrategyRun(SmaCross(f"q{i}", {"fast": 5, "slow": 20}), (n,),
                                {n: (900_000_000_000,)}))  # fmt: skip
    c0 = time.process_time()
    res = run_multi_backtest(feeds, runs, MultiConfig(cash=100_000.0))
    cpu = time.process_time() - c0
    print(f"instruments          {args.instruments} x {args.bars:,} bars, {len(runs)} strategies")
    print(f"events               {res.events:,} ({len(res.fills):,} fills, "
          f"final equity {res.final_equity:.6f})")  # fmt: skip
    print(f"replay               {res.events / res.elapsed_s:,.0f} bar-events/s wall "
          f"({res.elapsed_s:.2f}s)")  # fmt: skip
    print(f"replay CPU           {res.events / res.cpu_s:,.0f} bar-events/s ({res.cpu_s:.2f}s)")
    print(f"whole run            {res.events / cpu:,.0f} bar-events/s CPU incl. setup")
    return 0


if __name__ == "__main__":
    sys.exit(main())
