"""Operator controls from the page: halt / reduce-only / resume, cancel, flatten.

Every action is applied through the engine's own mechanisms, never around them:

* an *account* (a kernel's account group) is switched by its risk engine
  (``RiskEngine.set_state``), which publishes the ``RiskEvent`` the runtime journals; a halt
  also cancels that group's working orders, and resume clears venue halts too (a reconcile
  failure needs a person's decision, and pressing resume is that decision);
* a *strategy* is gated at the strategy API (``Strategy.gate``): halted, its new targets and
  orders are ignored; reduce-only, only targets that shrink its position pass and its orders go
  out reduce-only — both freeze its standing targets at its current position, so nothing it
  asked for earlier keeps trading; the risk engine still checks whatever is sent;
* cancel goes to the OMS; flatten sets the targets to zero (account: every strategy's, under
  REDUCING risk so nothing re-opens it; strategy: its own, gated reduce-only).

Each action is journaled (``control`` events name who, from where and what) and logged at
WARNING, and shows in the page's control log.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tradeloop.model import TradingState

if TYPE_CHECKING:
    from tradeloop.dashboard.model import DashboardModel
    from tradeloop.engine.strategy import Strategy
    from tradeloop.live.runtime import Group, LiveRuntime

log = logging.getLogger(__name__)

ACTIONS = ("halt", "reduce", "resume", "cancel", "flatten")
_STATE = {"halt": TradingState.HALTED, "reduce": TradingState.REDUCING,
          "resume": TradingState.ACTIVE}  # fmt: skip
_GATE = {"halt": "halted", "reduce": "reducing", "resume": ""}


class ControlError(ValueError):
    """A control request that names nothing known or makes no sense (HTTP 400)."""


def _group(rt: LiveRuntime, key: str) -> Group:
    for g in rt.groups:
        if g.key == key or key in g.accounts:
            return g
    raise ControlError(f"unknown account {key!r}")


def _strategy(rt: LiveRuntime, sid: str) -> tuple[Group, Strategy]:
    for g in rt.groups:
        for s in g.strategies:
            if s.id == sid:
                return g, s
    raise ControlError(f"unknown strategy {sid!r}")


def _freeze(g: Group, s: Strategy) -> None:
    """Standing targets of ``s`` become its current positions; its own orders are canceled."""
    p = g.kernel.portfolio
    book = p.books[s.id]
    for sym in list(book.targets):
        pos = book.positions.get(sym)
        p.set_target(s.id, sym, pos.qty if pos is not None else 0.0)
    for o in list(g.kernel.oms.open_orders.values()):
        if o.strategy_id == s.id:
            g.kernel.oms.cancel(o)


def apply(rt: LiveRuntime, model: DashboardModel, req: dict[str, Any], who: str,
          remote: str) -> str:  # fmt: skip
    """Carry out one control request; returns what was done (one line) or raises
    :class:`ControlError`."""
    action, scope = str(req.get("action", "")), str(req.get("scope", ""))
    target, symbol = str(req.get("target", "")), str(req.get("symbol", ""))
    if action not in ACTIONS:
        raise ControlError(f"unknown action {action!r}")
    if req.get("confirm") is not True:
        raise ControlError("not confirmed")
    now = rt.clock.now()
    reason = f"{action} by {who} via dashboard"
    if action == "cancel":
        g, done = _cancel(rt, target)
    elif scope == "account":
        g = _group(rt, target)
        done = _account(g, action, symbol, reason, now)
    elif scope == "strategy":
        g, s = _strategy(rt, target)
        done = _strategy_action(g, s, action, symbol)
    else:
        raise ControlError(f"unknown scope {scope!r}")
    if rt.journal is not None:
        rt.journal.event("control", g.key, f"{done} (by {who} from {remote})", now)
    log.warning("control: %s (by %s from %s)", done, who, remote)
    model.control({"t": time.time(), "who": who, "from": remote, "action": action,
                   "scope": scope or "order", "target": target, "symbol": symbol,
                   "done": done})  # fmt: skip
    return done


def _cancel(rt: LiveRuntime, coid: str) -> tuple[Group, str]:
    for g in rt.groups:
        o = g.kernel.oms.open_orders.get(coid)
        if o is not None:
            g.kernel.oms.cancel(o)
            return g, f"cancel requested for order {coid} ({o.side.value} {o.qty} {o.symbol})"
    raise ControlError(f"no working order {coid!r}")


def _account(g: Group, action: str, symbol: str, reason: str, now: int) -> str:
    k = g.kernel
    if action == "flatten":
        if symbol not in k.instruments:
            raise ControlError(f"unknown instrument {symbol!r} in {g.key}")
        k.risk.set_state(TradingState.REDUCING, reason, now)
        k.oms.cancel_all(symbol)
        for s in g.strategies:
            k.portfolio.set_target(s.id, symbol, 0.0)
        return f"account {g.key}: flatten {symbol} (REDUCING)"
    k.risk.set_state(_STATE[action], reason, now)
    extra = ""
    if action == "halt":
        extra = f", {k.oms.cancel_all()} working order(s) canceled"
    elif action == "resume":
        for venue in list(k.risk.halted_venues):
            k.resume_venue(venue)
    return f"account {g.key}: {_STATE[action].value}{extra}"


def _strategy_action(g: Group, s: Strategy, action: str, symbol: str) -> str:
    if action == "flatten":
        sym = g.kernel.symbol_of(symbol) if symbol else ""
        s.gate = "reducing"
        for target_sym in [sym] if sym else list(g.kernel.portfolio.books[s.id].targets):
            g.kernel.portfolio.set_target(s.id, target_sym, 0.0)
        return f"strategy {s.id}: flatten {sym or 'all'} (reduce-only)"
    s.gate = _GATE[action]
    if action != "resume":
        _freeze(g, s)
    else:
        s._last_qty.clear()  # let it state its targets again
        s._last_pct.clear()
    return f"strategy {s.id}: {s.gate or 'active'}"
