"""Sweep throughput: 200 backtests of examples/sma_cross.py on the real 45k-bar BTC perpetual.

    .venv/bin/python bench/sweep.py [--runs 200] [--repeat 2] [--no-ray] [--only pool2,ray2]

Runs the same 200-point grid (fast 5..100 x slow 110..200) through ``run_sweep`` — the real
thing: planning, executor, per-row journal and Parquet, no HTML page — in the driver's own
process (``InlineExecutor``, for reference), then on the local process pool and on a local Ray
runtime with 1 and 2 workers. Prints runs/s, overhead per run as a share of a single run's
time, and the 1 -> 2 worker scaling, and checks every executor produced the same table.

    overhead share = (wall x workers / runs - single) / single

``single`` is the mean time of one run (backtest + statistics) inside a fresh, lean worker
process — what one ``tradeloop backtest`` costs. The share counts everything a user waits for
that is not that: starting workers, shipping data and tasks, results and files, idle workers
at the end, and runs that are slower inside an executor's process than in a lean one. The
machine has 2 cores shared with other work, so load average is printed before and after;
read the figures with it.

What is started once, before the data loads and outside the timed rounds, is what the CLI
starts before it loads the data: the pool's fork server (which imports the runner) and, for
Ray, the local runtime and its pooled worker processes' import of the runner
(``start_ray``). Everything after that is timed per round: for the pool, forking the workers
and handing them the data; for Ray, putting the data in the object store, each worker
fetching it, and the task round trips. Ray keeps its worker processes between sweeps (the
pool starts new ones per sweep), so a Ray round after the first reuses warm processes; the
per-round lines show whether the first round differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bars" / "btc-perp-20211231-20220201_1m.csv"
SMA = ROOT / "examples" / "sma_cross.py"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def grid(runs: int) -> list[str]:
    """``runs`` points (a multiple of 10): fast 5, 10, ... x slow 110..200."""
    n_fast = max(1, runs // 10)
    return [f"fast=5:{5 * n_fast}:5", "slow=110:200:10"]


def table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["run"], r["status"], r["trades_fingerprint"], r["final_equity"]) for r in rows]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200, help="grid size (multiple of 10)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    ap.add_argument("--repeat", type=int, default=2, help="rounds; the best wall time counts")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--only",
        default="inline,pool1,pool2,ray1,ray2",
        help="comma-separated executors to run (pool1 is always run: it defines `single`)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_file():
        print(f"SKIP: {args.data} not found (the real 45k-bar perp file from ../shared/data)")
        return 0

    from tradeloop.sweep.cli_sweep import add_arguments
    from tradeloop.sweep.executors import InlineExecutor, PoolExecutor, start_pool_server
    from tradeloop.sweep.inputs import build_context
    from tradeloop.sweep.sweep import SweepOptions, run_sweep

    only = {x.strip() for x in args.only.split(",")} | {"pool1"}
    use_ray = not args.no_ray and bool(only & {"ray1", "ray2"})
    start_pool_server()  # as `tradeloop sweep` does: the fork server starts while data loads
    ray_start = None
    if use_ray:
        if importlib.util.find_spec("ray") is None:
            print("ray not installed: skipping the Ray runs (pip install 'tradeloop[ray]')")
            use_ray = False
        else:
            from tradeloop.sweep.rayexec import RayExecutor, start_ray, stop_ray

            # as `tradeloop sweep --ray local` does: the runtime starts and its pooled workers
            # import the runner while the data loads (the pool's fork server does the same)
            t0 = time.perf_counter()
            start_ray("local", 2)
            ray_start = time.perf_counter() - t0
    p = argparse.ArgumentParser()
    add_arguments(p)
    ctx = build_context(p.parse_args([str(SMA), "--data", str(args.data)]))
    opts = SweepOptions(grid(args.runs), report=False)
    print(f"cpu: {cpu_model()} x {os.cpu_count()}; python {sys.version.split()[0]}")
    print(f"data: {args.data.name}, {len(ctx.bars):,} bars; grid {opts.params}")
    print(f"load average before: {load()}")

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    # best of --repeat rounds per executor; rounds alternate executors so that changing
    # background load hits all of them alike
    results: dict[str, tuple[float, list[tuple[Any, ...]]]] = {}
    run_times: dict[str, float] = {}
    makers: dict[str, Any] = {
        "inline": lambda: InlineExecutor(ctx),
        "pool1": lambda: PoolExecutor(ctx, 1),
        "pool2": lambda: PoolExecutor(ctx, 2),
    }
    if use_ray:
        makers["ray1"] = lambda: RayExecutor(ctx, "auto", 1)
        makers["ray2"] = lambda: RayExecutor(ctx, "auto", 2)
    makers = {k: v for k, v in makers.items() if k in only}
    try:
        for rnd in range(args.repeat):
            for name, make in makers.items():
                t0 = time.perf_counter()
                executor = make()
                out = run_sweep(ctx, opts, tmp / f"{name}-{rnd}", executor=executor)
                wall = time.perf_counter() - t0
                executor.close()
                assert out.errors == 0 and out.ran == args.runs, (out.errors, out.ran)
                print(f"  round {rnd + 1} {name}: {wall:.2f}s (load {load()})", flush=True)
                if name not in results or wall < results[name][0]:
                    results[name] = (wall, table(out.rows))
                    run_times[name] = sum(r["run_s"] for r in out.rows) / len(out.rows)
    finally:
        if use_ray:
            stop_ray()
    single = run_times["pool1"]

    base_table = results["inline" if "inline" in results else "pool1"][1]
    print()
    print(f"single run (mean in a 1-worker pool process): {single * 1e3:.1f} ms")
    print(
        "| executor | workers | wall s | runs/s | mean run in worker | overhead per run "
        "| same table |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (wall, tab) in results.items():
        workers = 1 if name == "inline" else int(name[-1])
        over = (wall * workers / args.runs - single) / single
        label = "in-process" if name == "inline" else name.rstrip("12")
        print(
            f"| {label} | {workers} | {wall:.2f} | {args.runs / wall:.2f} "
            f"| {run_times[name] * 1e3:.1f} ms | {over * 100:+.1f} % "
            f"| {'yes' if tab == base_table else 'NO'} |"
        )
    print()
    for kind in ("pool", "ray"):
        if f"{kind}1" in results and f"{kind}2" in results:
            scale = results[f"{kind}1"][0] / results[f"{kind}2"][0]
            print(f"{kind}: 1 -> 2 workers scaling {scale:.2f}x")
    if ray_start is not None:
        print(f"starting Ray (num_cpus=2) took {ray_start:.1f}s (not counted above)")
    print(f"load average after: {load()}")
    return 0 if all(t == base_table for _, t in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
