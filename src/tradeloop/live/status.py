"""The periodic status line: one INFO line per kernel group, readable in a terminal or a log
search (positions, PnL per strategy, risk state, connections, filtered ticks); and the same
facts as plain data for the dashboard (:func:`runtime_snapshot`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeloop.live.runtime import LiveRuntime


def status_lines(rt: LiveRuntime) -> list[str]:
    out = []
    for g in rt.groups:
        k = g.kernel
        p, r = k.portfolio, k.risk
        pos = " ".join(f"{s}={q.qty:g}" for s, q in p.positions.items() if q.qty) or "flat"
        pnl = " ".join(
            f"{s.id}={sum((a, b, -c)):+.2f}"
            for s in g.strategies
            for a, b, c in (p.strategy_pnl(s.id),)
        )
        conns = " ".join(f"{a}={rt.feed.views[a].connection}" for a in sorted(g.accounts)
                         if a in rt.feed.views) or "-"  # fmt: skip
        state = r.state.value.upper()
        if r.halted_venues:
            state += " (halted: " + ", ".join(sorted(r.halted_venues)) + ")"
        out.append(
            f"status [{g.key}{' shadow' if g.shadow else ''}] {state} equity {p.equity():,.2f} "
            f"pos {pos} | pnl {pnl} | open orders {len(k.oms.open_orders)} | conn {conns} | "
            f"filtered {rt.filter.dropped}"
        )
    return out


def runtime_snapshot(rt: LiveRuntime) -> dict[str, Any]:
    """Everything a dashboard shows, as plain data (cheap; call it at any time)."""
    groups = []
    for g in rt.groups:
        p, r = g.kernel.portfolio, g.kernel.risk
        groups.append({
            "group": g.key,
            "shadow": g.shadow,
            "accounts": sorted(g.accounts),
            "risk": {"state": r.state.value, "reason": g.risk_reason,
                     "day_start_equity": r.day_start_equity,
                     "halted_venues": dict(r.halted_venues)},
            "equity": p.equity(),
            "positions": {s: pos.qty for s, pos in p.positions.items() if pos.qty},
            "funding": dict(p.funding),
            "open_orders": len(g.kernel.oms.open_orders),
            "strategies": {
                s.id: dict(zip(("realized", "unrealized", "fees"),
                               p.strategy_pnl(s.id), strict=True))
                | {"funding": p.books[s.id].funding,
                   "positions": {k: v.qty for k, v in p.books[s.id].positions.items()
                                 if v.qty}}
                for s in g.strategies
            },
        })  # fmt: skip
    return {
        "deployment": rt.settings.deployment,
        "journal": str(rt.settings.journal),
        "uptime_s": time.monotonic() - rt.started_at if rt.started_at else 0.0,
        "groups": groups,
        "accounts": {
            a: {"connection": v.connection, "balances": dict(v.balances)}
            for a, v in rt.feed.views.items()
        },
        "filtered": {f"{s} {r}": n for (s, r), n in rt.filter.counts.items()},
    }
