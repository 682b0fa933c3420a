"""Soak of the live runtime (not a CI test): >= 30 minutes against the OKX emulator with every
WebSocket dropped every 5 s; reports RSS, journal size and event counts every few minutes so a
flat RSS and bounded memory can be read off, and checks venue == engine at the end.

The emulator runs in a child process, so the RSS measured is the runtime's alone (the emulator
keeps every order it ever saw, as a venue does). ``--cap`` lowers the finished-order retention of
the OMS and of the gateway's order tracker (production: 5,000 and 10,000) so that both caps are
reached within minutes at the soak's order rate (the shadow venue's trim uses the same bound);
from then on every structure of the runtime is at its steady size and RSS must stay flat.
``--tracemalloc`` diffs allocations against a snapshot taken when the caps are first full
(largest growth first; it slows the run: use it to find a leak).

    .venv/bin/python bench/live_soak.py --minutes 45 --cap 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import multiprocessing as mp
import os
import resource
import tempfile
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.live.config import parse_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime
from tradeloop.venues.execution import Retention
from tradeloop.venues.okx.gateway import OkxGateway

log = logging.getLogger("soak")

STRATEGY = """
from tradeloop.engine.strategy import Strategy

class Flip(Strategy):
    params = {"qty": 0.01, "every": 2}

    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        self.n += 1
        self.state["bars"] = self.state.get("bars", 0) + 1
        self.target(bar.symbol, self.p.qty if (self.n // self.p.every) % 2 else 0.0)
"""
KEYS = ("soak-key", "soak-secret", "soak-pass")


def rss_mb(pid: str = "self") -> float:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the venue, in its own process ---------------------------------------------------------------
def venue_main(conn: Connection, drop_every_s: float) -> None:
    """Run the emulator; drop every socket every ``drop_every_s``; answer "stats" and "stop"."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_venue(conn, drop_every_s))


async def _venue(conn: Connection, drop_every_s: float) -> None:
    k, s, p = KEYS
    emu = OkxEmulator(EmulatorConfig(api_key=k, api_secret=s, passphrase=p,
                                     balances={"USDT": 1e6, "BTC": 1.0}, symbols=["BTC-USDT"],
                                     seed=11, tick_interval_ms=50))  # fmt: skip
    conn.send(await emu.start("127.0.0.1", 0))
    next_drop = time.monotonic() + drop_every_s
    try:
        while True:
            await asyncio.sleep(0.2)
            if time.monotonic() >= next_drop:
                emu.faults.drop_ws()
                next_drop += drop_every_s
            if conn.poll():
                cmd = conn.recv()
                if cmd == "stop":
                    break
                btc = emu.trading.account.sim.balances()["BTC"].total
                conn.send({"btc": btc, "drops": emu.faults.drops, "rss": rss_mb()})
    finally:
        await emu.stop()


# -- the runtime ---------------------------------------------------------------------------------
def config(folder: Path, url: str) -> dict[str, Any]:
    (folder / "flip.py").write_text(STRATEGY)
    keys = {"api_key": "SOAK_KEY", "secret": "SOAK_SECRET", "passphrase": "SOAK_PASS"}
    flip = str(folder / "flip.py")
    return {
        "run": {"cash": 10_000.0},
        "instrument": [{"symbol": "BTC-USDT.OKX"}],
        "strategy": [
            {"file": flip, "id": "a", "bar": "1s"},
            {"file": flip, "id": "b", "bar": "2s", "params": {"every": 3, "qty": 0.02}},
            {"file": flip, "id": "shadow", "bar": "1s", "mode": "shadow"},
        ],
        "live": {"journal": str(folder / "soak.sqlite"), "status_interval": "60s"},
        "account": [{"name": "okx", "venue": "okx", "url": url, "keys": keys}],
    }


class Probe:
    """Everything the report prints, read off a running runtime."""

    def __init__(self, rt: LiveRuntime, gw: OkxGateway, folder: Path, cap: int) -> None:
        self.rt, self.gw, self.folder, self.cap = rt, gw, folder, cap
        self.t0 = time.monotonic()
        self.full_at: float | None = None
        self.base: tracemalloc.Snapshot | None = None
        self.closed = False

    def oms_orders(self) -> int:
        return sum(len(g.kernel.oms.orders) for g in self.rt.groups)

    def caps_full(self) -> bool:
        """Every bounded structure at its bound: each group's OMS (live and shadow), the
        gateway's tracker, the runtime's recent-fills deque."""
        groups = self.rt.groups
        return (
            bool(groups)
            and all(len(g.kernel.oms.orders) >= self.cap for g in groups)
            and self.gw.orders.tracker.finished_count >= self.cap
            and len(self.rt.fills) == self.rt.fills.maxlen
        )

    def line(self, venue: dict[str, Any]) -> str:
        j = self.rt.journal
        size = sum(f.stat().st_size for f in self.folder.glob("soak.sqlite*"))
        if j is None or self.closed:
            j = Journal(self.folder / "soak.sqlite")  # reopened after shutdown: final counts
            counts = j.counts()
            j.close()
        else:
            counts = j.counts()
        return (f"{(time.monotonic() - self.t0) / 60:5.1f} min  rss {rss_mb():6.1f} MB  "
                f"venue-proc rss {venue['rss']:6.1f} MB  journal {size / 2**20:6.2f} MB  "
                f"{counts}  oms orders {self.oms_orders()}  gateway tracked "
                f"{len(self.gw.orders.tracker)}  ws drops {venue['drops']}  "
                f"filtered {self.rt.filter.dropped}")  # fmt: skip

    def leak_check(self) -> None:
        if not tracemalloc.is_tracing():
            return
        gc.collect()  # aiohttp's request/response cycles are garbage, not growth
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        if self.base is None:
            self.base = snap
            print("  tracemalloc: baseline taken", flush=True)
            return
        grew = sorted(snap.compare_to(self.base, "lineno"), key=lambda st: -st.size_diff)
        for stat in grew[:8]:
            print(f"  tracemalloc: {stat}", flush=True)


async def ask(conn: Connection, cmd: str) -> Any:
    conn.send(cmd)
    while not conn.poll():
        await asyncio.sleep(0.05)
    return conn.recv()


async def soak(args: argparse.Namespace, folder: Path, conn: Connection) -> bool:
    url = conn.recv()
    k, s, p = KEYS
    os.environ.update(SOAK_KEY=k, SOAK_SECRET=s, SOAK_PASS=p)
    gw = OkxGateway(url, k, s, p, retention=Retention(finished_horizon_s=6 * 3600.0,
                                                      max_finished=args.cap))  # fmt: skip
    cfg = parse_live_config(config(folder, url), "soak", folder, "soak")
    rt = LiveRuntime(cfg, gateways={"okx": gw}, max_finished_orders=args.cap)
    probe = Probe(rt, gw, folder, args.cap)

    async def report() -> None:
        next_at = probe.t0 + args.report_s
        cache_set = not args.journal_cache_kib
        while True:
            await asyncio.sleep(1.0)
            if not cache_set and rt.journal is not None:
                # SQLite's page cache (default 2,000 KiB) fills as the journal grows: RSS
                # creeps until it is full; a small one shows the runtime's own memory sooner
                rt.journal.db.execute(f"PRAGMA cache_size=-{args.journal_cache_kib}")
                cache_set = True
            if probe.full_at is None and rt.groups and probe.caps_full():
                probe.full_at = time.monotonic()
                print(
                    f"caps full ({args.cap} finished orders in every OMS and the gateway, "
                    f"{rt.fills.maxlen} recent fills):",
                    flush=True,
                )
                print(probe.line(await ask(conn, "stats")), flush=True)
                probe.leak_check()
            if time.monotonic() >= next_at:
                next_at += args.report_s
                print(probe.line(await ask(conn, "stats")), flush=True)
                if probe.full_at is not None:
                    probe.leak_check()

    task = asyncio.create_task(report())
    try:
        await rt.run(asyncio.Event(), args.minutes * 60)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    venue = await ask(conn, "stats")
    probe.closed = True
    print(probe.line(venue), flush=True)
    g = next(g for g in rt.groups if g.key == "okx")
    pos = g.kernel.portfolio.positions["BTC-USDT.OKX"].qty
    same = abs(venue["btc"] - 1 - pos) < 1e-9
    flat_min = (time.monotonic() - probe.full_at) / 60 if probe.full_at else 0.0
    print(f"end: venue BTC {venue['btc']:.8f} = 1 + engine {pos:.8f}: {same}; "
          f"minutes after caps full {flat_min:.1f}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")  # fmt: skip
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=45.0)
    ap.add_argument("--cap", type=int, default=300, help="finished orders kept (OMS, gateway)")
    ap.add_argument("--report-s", type=float, default=300.0, help="seconds between reports")
    ap.add_argument("--drop-every", type=float, default=5.0, help="seconds between WS drops")
    ap.add_argument("--tracemalloc", action="store_true", help="diff allocations after the caps")
    ap.add_argument(
        "--journal-cache-kib",
        type=int,
        default=0,
        help="SQLite page cache of the journal (default: SQLite's 2,000 KiB)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.tracemalloc:
        tracemalloc.start(8)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=venue_main, args=(child, args.drop_every), daemon=True)
    proc.start()
    ok = False
    try:
        with tempfile.TemporaryDirectory(prefix="tl-soak-") as tmp:
            ok = asyncio.run(soak(args, Path(tmp), parent))
    finally:
        parent.send("stop")
        proc.join(10)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
