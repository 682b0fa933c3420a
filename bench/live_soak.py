"""Soak of the live runtime (not a CI test): >= 30 minutes against the OKX emulator with every
WebSocket dropped every 5 s; prints RSS, journal size and event counts once a minute so a
flat RSS and bounded memory can be read off, and checks venue == journal at the end.

    .venv/bin/python bench/live_soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.live.config import parse_live_config
from tradeloop.live.runtime import LiveRuntime

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


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def soak(minutes: float, folder: Path) -> None:
    k, s, p = "soak-key", "soak-secret", "soak-pass"
    os.environ.update(SOAK_KEY=k, SOAK_SECRET=s, SOAK_PASS=p)
    emu = OkxEmulator(EmulatorConfig(api_key=k, api_secret=s, passphrase=p,
                                     balances={"USDT": 1e6, "BTC": 1.0}, symbols=["BTC-USDT"],
                                     seed=11, tick_interval_ms=50))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    (folder / "flip.py").write_text(STRATEGY)
    keys = {"api_key": "SOAK_KEY", "secret": "SOAK_SECRET", "passphrase": "SOAK_PASS"}
    data = {
        "run": {"cash": 10_000.0},
        "instrument": [{"symbol": "BTC-USDT.OKX"}],
        "strategy": [
            {"file": str(folder / "flip.py"), "id": "a", "bar": "1s"},
            {
                "file": str(folder / "flip.py"),
                "id": "b",
                "bar": "2s",
                "params": {"every": 3, "qty": 0.02},
            },
            {"file": str(folder / "flip.py"), "id": "shadow", "bar": "1s", "mode": "shadow"},
        ],
        "live": {"journal": str(folder / "soak.sqlite"), "status_interval": "60s"},
        "account": [{"name": "okx", "venue": "okx", "url": url, "keys": keys}],
    }
    rt = LiveRuntime(parse_live_config(data, "soak", folder, "soak"))
    stop = asyncio.Event()

    async def drops() -> None:
        while True:
            await asyncio.sleep(5)
            emu.faults.drop_ws()

    async def report() -> None:
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(60)
            j = rt.journal
            size = sum(f.stat().st_size for f in folder.glob("soak.sqlite*"))
            counts = j.counts() if j is not None else {}
            oms = sum(len(g.kernel.oms.orders) for g in rt.groups)
            print(f"{(time.monotonic() - t0) / 60:5.1f} min  rss {rss_mb():7.1f} MB  "
                  f"journal {size / 2**20:6.2f} MB  {counts}  oms orders in memory {oms}  "
                  f"filtered {rt.filter.dropped}", flush=True)  # fmt: skip

    tasks = [asyncio.create_task(drops()), asyncio.create_task(report())]
    try:
        await rt.run(stop, minutes * 60)
        venue_btc = emu.trading.account.sim.balances()["BTC"].total
        g = next(g for g in rt.groups if g.key == "okx")
        pos = g.kernel.portfolio.positions["BTC-USDT.OKX"].qty
        print(f"end: venue BTC {venue_btc:.8f} = 1 + engine {pos:.8f}: "
              f"{abs(venue_btc - 1 - pos) < 1e-9}; peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")  # fmt: skip
    finally:
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await emu.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tl-soak-") as tmp:
        asyncio.run(soak(args.minutes, Path(tmp)))


if __name__ == "__main__":
    main()
