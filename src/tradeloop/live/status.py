"""The periodic status line: one INFO line per kernel group, readable in a terminal or a log
search (positions, PnL per strategy, risk state, connections, filtered ticks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
