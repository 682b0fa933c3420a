"""Dashboard push benchmark: latency from an engine event to the browser's render (p50/p99)
and the dashboard's CPU cost, at 50 market updates and 10 order updates a second.

A model and push hub on a stand-in runtime (one instrument, no venue) are fed trades at
``--market`` per second and order open/close updates at ``--orders`` per second, each stamped
with the wall time it was produced; headless Chromium (Debian's, via Playwright) renders them
and records ``render time - stamp`` after the next animation frame. CPU is this process's CPU
time per second of wall time, with no browser connected and with one connected.

    .venv/bin/python bench/dashboard.py --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from types import SimpleNamespace
from typing import Any

from tradeloop.dashboard.model import DashboardModel
from tradeloop.dashboard.push import Hub
from tradeloop.dashboard.server import DashboardServer
from tradeloop.model import Side, TradeTick

SYM = "BTC-USDT.OKX"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class StandIn:
    """The parts of ``LiveRuntime`` the dashboard reads."""

    def __init__(self) -> None:
        self.instruments = {SYM: None}
        self.groups: list[Any] = []
        self.listeners: list[Any] = []
        self.reports: list[Any] = []
        self.journal = None
        self.clock = SimpleNamespace(now=time.time_ns)

    def snapshot(self) -> dict[str, Any]:
        return {"deployment": "bench", "groups": [], "accounts": {}, "uptime_s": 0.0}


async def load(model: DashboardModel, hub: Hub, seconds: float, market: int,
               orders: int) -> None:  # fmt: skip
    start = time.monotonic()
    n = k = 0
    price = 60_000.0
    while (now := time.monotonic()) - start < seconds:
        while n < (now - start) * market:
            n += 1
            price += (-1) ** n * 0.5
            model.on_trade(TradeTick(time.time_ns(), SYM, price, 0.01, Side.BUY, str(n)))
        while k < (now - start) * orders:
            k += 1
            oid = f"o{k // 2}"
            row = {"id": oid, "s": SYM, "side": "buy", "qty": 0.01, "price": price - 50,
                   "type": "limit", "status": "accepted", "filled": 0.0, "strategy": "b",
                   "group": "g", "open": k % 2 == 1, "w": time.time() * 1000.0}  # fmt: skip
            hub.publish(("o", oid), {"k": "order", "o": row})
        await asyncio.sleep(0.002)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def main(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    rt: Any = StandIn()
    holder: list[DashboardModel] = []
    hub = Hub(lambda: holder[0].snapshot(), window_s=args.window)
    model = DashboardModel(rt, hub)
    holder.append(model)
    model.attach()
    server = DashboardServer(rt, model, hub, "127.0.0.1", 0, None)
    url = await server.start()
    c0, t0 = time.process_time(), time.monotonic()
    await load(model, hub, args.seconds / 2, args.market, args.orders)
    idle_cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=args.chromium, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(url)
        await page.select_option("#period", "1")
        await asyncio.sleep(1.0)
        await page.evaluate("window.__tl.T.lat.length = 0")
        c0, t0 = time.process_time(), time.monotonic()
        await load(model, hub, args.seconds, args.market, args.orders)
        cpu = (time.process_time() - c0) / (time.monotonic() - t0)
        await asyncio.sleep(0.5)
        lat: list[list[Any]] = await page.evaluate("window.__tl.T.lat")
        batches = await page.evaluate("window.__tl.T.batches")
        await browser.close()
    await server.stop()
    model.detach()
    for kind in ("candle", "order"):
        xs = [float(ms) for k, ms in lat if k == kind]
        print(f"{kind:7s} n={len(xs):5d}  p50 {pct(xs, 0.5):6.1f} ms  p99 {pct(xs, 0.99):6.1f} ms"
              f"  mean {statistics.fmean(xs) if xs else float('nan'):6.1f} ms")  # fmt: skip
    print(
        f"messages to the browser: {batches} in {args.seconds:.0f} s "
        f"({batches / args.seconds:.1f}/s; window {args.window * 1000:.0f} ms)"
    )
    print(
        f"server CPU: {idle_cpu * 100:.1f}% of a core with no browser, "
        f"{cpu * 100:.1f}% with one browser connected (feeder included)"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--market", type=int, default=50, help="market updates a second")
    ap.add_argument("--orders", type=int, default=10, help="order updates a second")
    ap.add_argument("--window", type=float, default=0.05, help="coalescing window (s)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    asyncio.run(main(ap.parse_args()))
