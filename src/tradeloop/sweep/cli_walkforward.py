"""``tradeloop walkforward STRATEGY_OR_CONFIG --param ... --train 20d --test 5d [--anchored]``:
optimise in sample, run the winner out of sample, window after window; write the per-window
table (windows.csv/.parquet), the stitched out-of-sample curve (oos_equity.csv), every run
(results.csv/.parquet) and report.html into ``--out``."""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.core.errors import ConfigError
from tradeloop.core.outdir import writable_dir
from tradeloop.sweep.cli_common import add_arguments as _add_common
from tradeloop.sweep.cli_common import apply_config, sweep_options
from tradeloop.sweep.cli_sweep import finish, term_as_interrupt


def add_arguments(p: argparse.ArgumentParser) -> None:
    _add_common(p, "out/walkforward")
    p.add_argument("--train", help="in-sample span: bars (5000) or a duration (20d)")
    p.add_argument("--test", help="out-of-sample span, same kind as --train")
    p.add_argument("--step", help="shift between windows (default: --test)")
    p.add_argument(
        "--anchored",
        action="store_true",
        help="in-sample spans all start at the first bar (default: rolling)",
    )


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    from tradeloop.report.tables import fmt_pct, fmt_ratio
    from tradeloop.sweep.choose import workers_warming
    from tradeloop.sweep.inputs import build_context
    from tradeloop.sweep.walkforward import WalkForwardSpec, run_walkforward

    apply_config(args)
    if not args.train or not args.test:
        raise ConfigError("--train and --test are required (bars, e.g. 5000, or a duration, 20d)")
    opts = sweep_options(args)
    spec = WalkForwardSpec(str(args.train), str(args.test), args.step, bool(args.anchored))
    with workers_warming(args.workers, args.ray):  # start-up overlaps with loading the data
        ctx = build_context(args)
        with term_as_interrupt():
            wf = run_walkforward(ctx, opts, spec, Path(args.out))
    s = wf.summary
    if s and not wf.sweep.interrupted:
        print(
            f"walkforward: {len(wf.windows)} windows; stitched out-of-sample return "
            f"{fmt_pct(s['total_return'])}, sharpe {fmt_ratio(s['sharpe'])}, "
            f"max drawdown {fmt_pct(s['max_drawdown'])}"
        )
    return finish(wf.sweep, "walkforward", show_best=False)
