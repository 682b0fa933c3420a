"""What of a kernel must survive a restart, as JSON: portfolio books and risk state.

The portfolio's per-strategy virtual positions, targets, capital, realised PnL and fees, the
account positions and cash cells, and the risk engine's day-start equity, trading state (and
why), breach day and halted venues. A restart restores them *in place* — the OMS holds
references to the portfolio's ``Position`` objects, so they are updated, never replaced — and
then reconciliation applies whatever happened at the venue meanwhile.

The daily-loss baseline is the point: a restart mid-day must not reset "what we had at UTC
midnight", or a losing deployment could lose the limit again after every crash.
"""

from __future__ import annotations

import logging
from typing import Any

from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import NS_PER_DAY, RiskEngine
from tradeloop.model import Position, TradingState
from tradeloop.model.position import exact, minor_value

log = logging.getLogger(__name__)


def _pos(p: Position) -> list[float]:
    return [p.qty, p.avg_price, p.realized_pnl, p.fees, p.cost]


def _set_pos(p: Position, v: list[float]) -> None:
    p.qty, p.avg_price, p.realized_pnl, p.fees = (float(x) for x in v[:4])
    if len(v) > 4:
        p.cost = int(v[4])
    elif p.per_unit and p.qty:  # a journal from before positions kept their cost
        p.cost = minor_value(exact(abs(p.qty)), exact(p.avg_price), exact(p.multiplier),
                             p.inverse, p.per_unit)  # fmt: skip


def portfolio_state(p: Portfolio) -> dict[str, Any]:
    return {
        "positions": {s: _pos(pos) for s, pos in p.positions.items() if pos.qty or pos.fees},
        "cash": [[c.venue, c.ccy, c.amount] for c in p.accounts.cells.values()],
        "books": {
            sid: {
                "capital": b.capital,
                "fills": b.fills,
                "funding": b.funding,
                "positions": {s: _pos(pos) for s, pos in b.positions.items()},
                "targets": dict(b.targets),
                "percent_targets": dict(b.percent_targets),
            }
            for sid, b in p.books.items()
        },
        "fees_paid": p.fees_paid,
        "fill_count": p.fill_count,
        "other_fees": dict(p.other_fees),
        "funding": dict(p.funding),
        "fees_by_symbol": dict(p.fees_by_symbol),
        "marks": dict(p.marks),
    }


def restore_portfolio(p: Portfolio, state: dict[str, Any]) -> list[str]:
    """Load ``state`` into ``p`` (instruments and strategies the run no longer has are
    skipped and named in the returned warnings)."""
    warnings: list[str] = []
    for sym, v in state.get("positions", {}).items():
        pos = p.positions.get(sym)
        if pos is None:
            warnings.append(f"journal holds a position in {sym}, which this run does not trade")
            continue
        _set_pos(pos, v)
    for venue, ccy, amount in state.get("cash", []):
        p.accounts.cell(venue, ccy).amount = float(amount)
    for sid, b in state.get("books", {}).items():
        book = p.books.get(sid)
        if book is None:
            warnings.append(f"journal holds strategy {sid}, which this run does not have")
            continue
        book.capital = float(b["capital"])
        book.fills = int(b.get("fills", 0))
        book.funding = float(b.get("funding", 0.0))
        for sym, v in b.get("positions", {}).items():
            inst = p.instruments.get(sym)
            if inst is None:
                continue
            _set_pos(book.position(inst), v)
        book.targets.update({s: float(q) for s, q in b.get("targets", {}).items()
                             if s in p.instruments})  # fmt: skip
        book.percent_targets.update(b.get("percent_targets", {}))
    p.fees_paid = float(state.get("fees_paid", 0.0))
    p.fill_count = int(state.get("fill_count", 0))
    p.other_fees.update(state.get("other_fees", {}))
    p.funding.update(state.get("funding", {}))
    p.fees_by_symbol.update(state.get("fees_by_symbol", {}))
    for sym, m in state.get("marks", {}).items():
        if sym in p.instruments:
            p.marks.setdefault(sym, float(m))
    exposed = p._exposed
    exposed.clear()
    for sym, pos in p.positions.items():
        if pos.qty:
            inst = p.instruments[sym]
            exposed[sym] = (pos, inst.is_derivative, inst.settle)
    return warnings


def risk_state(r: RiskEngine, reason: str = "") -> dict[str, Any]:
    return {
        "state": r.state.value,
        "day": r._day,
        "day_start_equity": r.day_start_equity,
        "breached_day": r.breached_day,
        "state_before_breach": r._state_before_breach.value,
        "halted_venues": dict(r.halted_venues),
        "reason": reason,
        "denials": r.denials,
    }


def restore_risk(r: RiskEngine, state: dict[str, Any], now_ns: int) -> str:
    """Load ``state`` into ``r``; returns a line saying what was kept. The day-start equity
    is kept only within the same UTC day (a new day starts a new baseline, as it would have
    at midnight), a breach only until the day after it, HALTED and venue halts always (an
    operator clears them)."""
    today = now_ns // NS_PER_DAY
    day = state.get("day")
    r.denials = int(state.get("denials", 0))
    r.halted_venues.update(state.get("halted_venues", {}))
    kept = []
    if day == today and state.get("day_start_equity") is not None:
        r._day = today
        r.day_start_equity = float(state["day_start_equity"])
        r.next_check_ns = 0
        kept.append(f"day-start equity {r.day_start_equity:.2f}")
    breached = state.get("breached_day")
    before = TradingState(state.get("state_before_breach", "active"))
    saved = TradingState(state.get("state", "active"))
    if breached is not None and breached == today:
        r.breached_day = breached
        r._state_before_breach = before
        r.state = saved
        kept.append(f"daily loss breach (state {saved.value})")
    elif saved is TradingState.HALTED or (breached is None and saved is not TradingState.ACTIVE):
        r.state = saved
        kept.append(f"state {saved.value}")
    elif breached is not None and before is TradingState.HALTED:
        r.state = TradingState.HALTED
        kept.append("state halted")
    if r.halted_venues:
        kept.append("halted venues " + ", ".join(sorted(r.halted_venues)))
    return "; ".join(kept) or "nothing (new UTC day)"
