"""What the dashboard shows, kept up to date from the runtime's kernels and listeners.

The model subscribes to each kernel's bus (trades for candles, bars for history, order reports
and fills), to the runtime's listeners (risk, account, status news), to the strategies'
annotation hook and to WARNING log records. Every handler does a little bookkeeping and one
:meth:`Hub.publish` — never I/O — because it runs inside the trading loop's dispatch.

Candles are built here from trades for every period the page offers (plus the strategies' own
bar periods, whose warm-up history seeds them), so switching the period in the page needs no
request: the snapshot carries recent candles of all periods. Times sent to the page are epoch
seconds (what the chart library takes); ``w`` stamps (wall ms when the engine saw the event)
let the page and the benchmark measure push latency.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from tradeloop.core.log import redact
from tradeloop.model import Bar, Fill, OrderReport, TradeTick

if TYPE_CHECKING:
    from tradeloop.dashboard.push import Hub
    from tradeloop.live.runtime import Group, LiveRuntime

log = logging.getLogger(__name__)

#: bar periods the page can switch between, in seconds
PERIODS = (1, 5, 60, 300, 900, 3600)
MAX_CANDLES = 500
NS = 1_000_000_000


class Candles:
    """Recent candles of one instrument and period: ``[t, o, h, l, c, v]`` lists by time."""

    __slots__ = ("period", "rows", "times")

    def __init__(self, period: int) -> None:
        self.period = period
        self.times: list[int] = []
        self.rows: list[list[float]] = []

    def trade(self, ts_s: float, price: float, qty: float) -> list[float]:
        t = int(ts_s) // self.period * self.period
        rows = self.rows
        if rows and rows[-1][0] == t:
            c = rows[-1]
            if price > c[2]:
                c[2] = price
            if price < c[3]:
                c[3] = price
            c[4] = price
            c[5] += qty
            return c
        if rows and t < rows[-1][0]:
            return rows[-1]  # a late trade for a closed candle: keep the chart monotonic
        c = [t, price, price, price, price, qty]
        self._append(t, c)
        return c

    def bar(self, t: int, o: float, h: float, low: float, close: float, v: float) -> list[float]:
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return self.rows[i]  # live trades already built it
        c = [t, o, h, low, close, v]
        self.times.insert(i, t)
        self.rows.insert(i, c)
        self._trim()
        return c

    def _append(self, t: int, c: list[float]) -> None:
        self.times.append(t)
        self.rows.append(c)
        self._trim()

    def _trim(self) -> None:
        if len(self.rows) > MAX_CANDLES:
            del self.rows[:100]
            del self.times[:100]


class _WarningHandler(logging.Handler):
    def __init__(self, model: DashboardModel) -> None:
        super().__init__(logging.WARNING)
        self.model = model

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tradeloop.dashboard.push"):
            return  # a stalled browser's own warning must not feed more pushes to browsers
        try:
            text = redact(f"{record.levelname} {record.name}: {record.getMessage()}")
        except Exception:
            return
        self.model.warning(record.created, text)


class DashboardModel:
    def __init__(self, runtime: LiveRuntime, hub: Hub) -> None:
        self.rt = runtime
        self.hub = hub
        self.candles: dict[str, dict[int, Candles]] = {}
        self.fills: deque[dict[str, Any]] = deque(maxlen=300)
        self.orders: dict[str, dict[str, Any]] = {}
        self.marks: deque[dict[str, Any]] = deque(maxlen=500)
        self.lines: dict[str, dict[str, Any]] = {}
        self.series: dict[str, dict[str, Any]] = {}
        self.equity: dict[str, deque[list[float]]] = {}
        self.warnings: deque[dict[str, Any]] = deque(maxlen=100)
        self.controls: deque[dict[str, Any]] = deque(maxlen=100)
        self.status: dict[str, Any] = {}
        self._n = 0
        self._handler = _WarningHandler(self)

    # -- wiring -----------------------------------------------------------------------------
    def attach(self) -> None:
        traded: set[str] = set()
        for sym in self.rt.instruments:
            self.candles[sym] = {p: Candles(p) for p in PERIODS}
        for g in self.rt.groups:
            bus = g.kernel.bus
            bus.subscribe(Fill, partial(self.on_fill, g))
            bus.subscribe(OrderReport, partial(self.on_report, g))
            bus.subscribe(Bar, self.on_bar)
            if not traded.issuperset(g.kernel.instruments):
                bus.subscribe(TradeTick, self.on_trade)  # one kernel per instrument is enough
                traded.update(g.kernel.instruments)
            for s in g.strategies:
                s.on_annotation = self.on_annotation
            for o in g.kernel.oms.open_orders.values():
                self._order(g, o.client_order_id, time.time() * 1000.0)
        self.rt.listeners.append(self.on_runtime)
        logging.getLogger().addHandler(self._handler)
        self.refresh()

    def detach(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        if self.on_runtime in self.rt.listeners:
            self.rt.listeners.remove(self.on_runtime)

    def _id(self) -> int:
        self._n += 1
        return self._n

    # -- market data ----------------------------------------------------------------------
    def on_trade(self, t: TradeTick) -> None:
        per = self.candles.get(t.symbol)
        if per is None:
            return
        ts, w = t.ts / NS, time.time() * 1000.0
        for p, cs in per.items():
            c = cs.trade(ts, t.price, t.qty)
            self.hub.publish(("c", t.symbol, p), {"k": "candle", "s": t.symbol, "p": p,
                                                  "c": c, "w": w})  # fmt: skip

    def on_bar(self, b: Bar) -> None:
        per = self.candles.get(b.symbol)
        if per is None:
            return
        p = (b.ts - b.start) // NS
        if p <= 0:
            return
        cs = per.get(p)
        if cs is None:
            cs = per[p] = Candles(p)
        c = cs.bar(b.start // NS, b.open, b.high, b.low, b.close, b.volume)
        self.hub.publish(("c", b.symbol, p), {"k": "candle", "s": b.symbol, "p": p, "c": c,
                                              "w": time.time() * 1000.0})  # fmt: skip

    # -- orders and fills -------------------------------------------------------------------
    def on_report(self, g: Group, r: OrderReport) -> None:
        self._order(g, r.client_order_id, time.time() * 1000.0)

    def _order(self, g: Group, coid: str, w: float) -> None:
        oms = g.kernel.oms
        o = oms.orders.get(coid)
        if o is None:
            return
        live = coid in oms.open_orders
        row = {"id": coid, "s": o.symbol, "side": o.side.value, "qty": o.qty, "price": o.price,
               "type": o.order_type.value, "status": o.status.value, "filled": o.filled_qty,
               "strategy": o.strategy_id, "group": g.key, "open": live, "w": w}  # fmt: skip
        if live:
            self.orders[coid] = row
        else:
            self.orders.pop(coid, None)
        self.hub.publish(("o", coid), {"k": "order", "o": row})

    def on_fill(self, g: Group, f: Fill) -> None:
        row = {"id": f"{g.key}:{f.trade_id or self._id()}", "t": f.ts / NS, "s": f.symbol,
               "side": f.side.value, "qty": f.qty, "price": f.price, "fee": f.fee,
               "strategy": f.strategy_id, "order": f.client_order_id, "group": g.key,
               "w": time.time() * 1000.0}  # fmt: skip
        self.fills.append(row)
        self.hub.publish(("f", row["id"]), {"k": "fill", "f": row})

    # -- strategy annotations -----------------------------------------------------------------
    def on_annotation(self, kind: str, a: dict[str, Any]) -> None:
        a = dict(a, t=a["ts"] / NS, w=time.time() * 1000.0)
        if kind == "mark":
            a["id"] = self._id()
            self.marks.append(a)
            self.hub.publish(("m", a["id"]), {"k": "mark", "m": a})
        elif kind == "line":
            key = f"{a['strategy']}|{a['symbol']}|{a['name']}"
            a["id"] = key
            if a["price"] is None:
                self.lines.pop(key, None)
            else:
                self.lines[key] = a
            self.hub.publish(("l", key), {"k": "line", "l": a})
        elif kind == "series":
            key = f"{a['strategy']}|{a['symbol']}|{a['name']}"
            fresh = {"id": key, "strategy": a["strategy"], "s": a["symbol"], "name": a["name"],
                     "color": a["color"], "points": deque(maxlen=2000)}  # fmt: skip
            s = self.series.setdefault(key, fresh)
            pts: deque[list[float]] = s["points"]
            t = int(a["t"])
            if pts and pts[-1][0] == t:
                pts[-1][1] = a["value"]
            elif not pts or t > pts[-1][0]:
                pts.append([t, a["value"]])
            self.hub.publish(("sp", key, t), {"k": "point", "id": key, "s": a["symbol"],
                                              "name": a["name"], "strategy": a["strategy"],
                                              "color": a["color"], "pt": [t, a["value"]],
                                              "w": a["w"]})  # fmt: skip

    # -- status, risk, warnings, controls ----------------------------------------------------
    def on_runtime(self, kind: str, payload: dict[str, Any]) -> None:
        if kind in ("risk", "account"):
            self.refresh()

    def refresh(self) -> None:
        """Re-read the runtime's snapshot (1 Hz timer and on risk/account news)."""
        st = self.rt.snapshot()
        st["reconcile"] = [r.line() for r in self.rt.reports]
        for g in st["groups"]:
            kernel = next(x.kernel for x in self.rt.groups if x.key == g["group"])
            g["gates"] = {s.id: s.gate for s in kernel.strategies}
            g["position_rows"] = [
                {"s": sym, "qty": pos.qty, "entry": pos.avg_price,
                 "mark": kernel.portfolio.marks.get(sym)}
                for sym, pos in kernel.portfolio.positions.items() if pos.qty
            ]  # fmt: skip
        self.status = st
        now = time.time()
        for g in st["groups"]:
            eq = self.equity.setdefault(g["group"], deque(maxlen=4000))
            t = int(now)
            if eq and eq[-1][0] == t:
                eq[-1][1] = g["equity"]
            else:
                eq.append([t, g["equity"]])
            self.hub.publish(("e", g["group"], t), {"k": "equity", "g": g["group"],
                                                    "pt": [t, g["equity"]]})  # fmt: skip
        self.hub.publish("status", {"k": "status", "st": st})

    def warning(self, created: float, text: str) -> None:
        row = {"id": self._id(), "t": created, "text": text[:500]}
        self.warnings.append(row)
        self.hub.publish(("w", row["id"]), {"k": "warning", "w": row})

    def control(self, row: dict[str, Any]) -> None:
        row = dict(row, id=self._id())
        self.controls.append(row)
        self.hub.publish(("x", row["id"]), {"k": "control", "x": row})
        self.refresh()

    def snapshot(self) -> dict[str, Any]:
        return {
            "instruments": list(self.candles),
            "periods": sorted({p for per in self.candles.values() for p in per}),
            "candles": {
                s: {str(p): cs.rows for p, cs in per.items()} for s, per in self.candles.items()
            },
            "fills": list(self.fills),
            "orders": list(self.orders.values()),
            "marks": list(self.marks),
            "lines": list(self.lines.values()),
            "series": [dict(s, points=list(s["points"])) for s in self.series.values()],
            "equity": {g: list(pts) for g, pts in self.equity.items()},
            "warnings": list(self.warnings),
            "controls": list(self.controls),
            "status": self.status,
        }
