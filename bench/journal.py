"""Cost of the live journal, and start-up reconciliation time with 1,000 open orders.

Part 1 (no network): per order, ``Journal.order_intent`` (the row committed before the order
is sent) and one ``order_event`` (its acknowledgement); per fill, what the runtime commits in
one transaction — the fill row, the group's portfolio state (JSON of a 5-strategy, 5-instrument
portfolio) and the risk state. p50/p99 in microseconds, for ``synchronous=FULL`` (the default:
an fsync per commit) and ``NORMAL`` (survives a process crash, not a power cut).

Part 2 (loopback emulator): a deployment places 1,000 resting limit orders, its process is
abandoned without any shutdown, and a new runtime reconciles the account: registers the 1,000
orders from the journal and adopts them (``restart_orders = "keep"``), reads fills, compares
positions. Wall time of ``LiveRuntime.reconcile``.

Part 3 (``--rss N``, no network): the process's RSS while N orders (row, two state changes, a
fill, a state row each) are journaled, with SQLite's default page cache (2,000 KiB) and with a
64 KiB one: the cache grows with the journal until it is full, which a soak reads as RSS creep.

    .venv/bin/python bench/journal.py [--orders 2000] [--open 1000] [--skip-reconcile] [--rss N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from tradeloop.engine.portfolio import Portfolio
from tradeloop.live.journal import OWN, Journal
from tradeloop.live.state import portfolio_state
from tradeloop.model import (
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def portfolio() -> Portfolio:
    insts = {
        f"C{i}-USDT.OKX": Instrument(f"C{i}-USDT.OKX", f"C{i}", "USDT", venue="OKX")
        for i in range(5)
    }
    p = Portfolio(insts, 10_000.0)
    for k in range(5):
        p.add_strategy(f"s{k}", 2_000.0)
        for s in insts:
            p.books[f"s{k}"].position(s).apply_fill(0.1 * (k + 1), 100.0 + k, 0.01)
            p.books[f"s{k}"].targets[s] = 0.1
    return p


def bench_journal(durability: str, n: int, folder: Path) -> dict[str, float]:
    j = Journal(folder / f"bench-{durability}.sqlite", durability)
    p = portfolio()
    order_us: list[float] = []
    fill_us: list[float] = []
    for i in range(n):
        o = Order(f"tbench{durability}{i}", "C0-USDT.OKX", Side.BUY, 0.01, OrderType.LIMIT, 100.0)
        o.status = OrderStatus.SUBMITTED
        t0 = time.perf_counter()
        j.order_intent(o, "acct", "acct", i)
        j.order_event(OrderReport(i, o.client_order_id, "v", o.symbol, OrderStatus.ACCEPTED))
        order_us.append((time.perf_counter() - t0) * 1e6)
        f = Fill(i, o.client_order_id, "v", str(i), o.symbol, Side.BUY, 100.0, 0.01, 0.0,
                 "USDT", Liquidity.TAKER)  # fmt: skip
        t0 = time.perf_counter()
        with j.batch():
            j.fill("acct", f, OWN)
            j.put_state("portfolio:acct", portfolio_state(p), i)
            j.put_state("risk:acct", {"state": "active", "day": 1, "day_start_equity": 1e4}, i)
        fill_us.append((time.perf_counter() - t0) * 1e6)
    size = sum(f.stat().st_size for f in folder.glob(f"bench-{durability}.sqlite*"))
    j.close()
    return {
        "order_p50": statistics.median(order_us),
        "order_p99": pct(order_us, 0.99),
        "fill_p50": statistics.median(fill_us),
        "fill_p99": pct(fill_us, 0.99),
        "bytes_per_order": size / n,
    }


async def bench_reconcile(n_open: int, folder: Path) -> dict[str, float]:
    from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
    from tradeloop.live.config import parse_live_config
    from tradeloop.live.runtime import LiveRuntime

    k, s, ph = "bench-key", "bench-secret", "bench-pass"
    os.environ.update(B_KEY=k, B_SECRET=s, B_PASS=ph)
    emu = OkxEmulator(EmulatorConfig(api_key=k, api_secret=s, passphrase=ph,
                                     balances={"USDT": 10_000_000.0}, symbols=["BTC-USDT"],
                                     seed=1, tick_interval_ms=200))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    strat = folder / "noop.py"
    strat.write_text("from tradeloop.engine.strategy import Strategy\n\n"
                     "class Noop(Strategy):\n    pass\n")  # fmt: skip
    data = {
        "run": {"cash": 10_000_000.0},
        "instrument": [{"symbol": "BTC-USDT.OKX"}],
        "strategy": [{"file": str(strat), "id": "noop"}],
        "live": {"journal": str(folder / "rec.sqlite"), "restart_orders": "keep", "warmup": False},
        "account": [
            {
                "name": "okx-b",
                "venue": "okx",
                "url": url,
                "keys": {"api_key": "B_KEY", "secret": "B_SECRET", "passphrase": "B_PASS"},
            }
        ],
    }
    cfg = parse_live_config(data, "bench", folder, "bench-rec")
    try:
        rt = LiveRuntime(cfg)
        await rt.start()
        rt.restore()
        await rt.reconcile()
        g = rt.groups[0]
        for i in range(n_open):
            g.kernel.oms.submit(
                Order("", "BTC-USDT.OKX", Side.BUY, 0.001, OrderType.LIMIT,
                      round(30_000.0 - i * 0.1, 1), strategy_id="noop")
            )  # fmt: skip
            if i % 50 == 49:
                await asyncio.sleep(0)
        for _ in range(600):
            if (
                sum(o.status is OrderStatus.ACCEPTED for o in g.kernel.oms.orders.values())
                >= n_open
            ):
                break
            await asyncio.sleep(0.1)
        for gw in rt.started:  # abandon the process: nothing canceled, nothing closed
            await gw.stop()
        assert rt.journal is not None
        rt.journal.db.close()
        rt2 = LiveRuntime(cfg)
        await rt2.start()
        rt2.restore()
        t0 = time.perf_counter()
        await rt2.reconcile()
        took = time.perf_counter() - t0
        adopted = len(rt2.reports[0].adopted)
        await rt2.shutdown()
        return {"reconcile_s": took, "adopted": adopted}
    finally:
        await emu.stop()


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_rss(n: int, folder: Path, cache_kib: int | None) -> list[tuple[int, float, float]]:
    """(orders journaled, journal MB, RSS MB) every n/6 orders."""
    path = folder / f"rss-{cache_kib}.sqlite"
    j = Journal(path)
    if cache_kib is not None:
        j.db.execute(f"PRAGMA cache_size=-{cache_kib}")
    out = [(0, 0.0, rss_mb())]
    sym = "BTC-USDT.OKX"
    for i in range(1, n + 1):
        cid = f"tabcdef01lq2x3k9m{i}"
        j.order_intent(Order(cid, sym, Side.BUY, 0.01, strategy_id="a"), "okx", "okx", i)
        for st in (OrderStatus.ACCEPTED, OrderStatus.FILLED):
            j.order_event(OrderReport(i, cid, "v" + cid, sym, st, 0.01, 100.0))
        j.fill("okx", Fill(i, cid, "v" + cid, f"t{i}", sym, Side.BUY, 100.0, 0.01, 0.0, "USDT",
                           Liquidity.TAKER), OWN)  # fmt: skip
        j.put_state("portfolio:okx", {"i": i, "pos": [1.0] * 20}, i)
        if i % max(1, n // 6) == 0:
            size = sum(f.stat().st_size for f in folder.glob(path.name + "*"))
            out.append((i, size / 2**20, rss_mb()))
    j.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--open", type=int, default=1000)
    ap.add_argument("--skip-reconcile", action="store_true")
    ap.add_argument(
        "--rss",
        type=int,
        default=0,
        metavar="N",
        help="RSS while N orders are journaled, default and 64 KiB SQLite page cache (then exit)",
    )
    args = ap.parse_args()
    if args.rss:
        with tempfile.TemporaryDirectory(prefix="tl-bench-journal-") as tmp:
            for cache in (64, None):  # the small cache first: freed pages stay in RSS
                rows = bench_rss(args.rss, Path(tmp), cache)
                label = "default 2,000 KiB" if cache is None else f"{cache} KiB"
                print(
                    f"page cache {label}: "
                    + ", ".join(f"{i} orders {mb:.2f} MB -> RSS {r:.1f}" for i, mb, r in rows)
                )
        return
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="tl-bench-journal-") as tmp:
        folder = Path(tmp)
        print(f"journal cost, {args.orders} orders + {args.orders} fills, file in {tmp}")
        print("| durability | order p50 us | order p99 us | fill p50 us | fill p99 us "
              "| bytes/order+fill |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for d in ("full", "normal"):
            r = bench_journal(d, args.orders, folder)
            print(f"| {d} | {r['order_p50']:.0f} | {r['order_p99']:.0f} | {r['fill_p50']:.0f} "
                  f"| {r['fill_p99']:.0f} | {r['bytes_per_order']:.0f} |")  # fmt: skip
        if not args.skip_reconcile:
            r = asyncio.run(bench_reconcile(args.open, folder))
            print(f"start-up reconciliation with {args.open} open orders: "
                  f"{r['reconcile_s']:.2f} s ({r['adopted']:.0f} adopted)")  # fmt: skip


if __name__ == "__main__":
    main()
