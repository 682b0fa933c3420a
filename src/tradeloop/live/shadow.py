"""Bounded memory for shadow strategies' simulated venue.

A shadow group trades against :class:`~tradeloop.sim.exchange.SimExchange`, which was built for
backtests and keeps every order it accepted and every fill it made (a backtest reads them at the
end). A live deployment runs for weeks, so :func:`trim_sim` forgets the oldest *finished*
orders and fills beyond ``keep`` — the journal has all of them (shadow fills are journaled
like live ones). Working orders are never touched.

The SimExchange has no public API for this; the trim reaches into its bookkeeping dicts
(``_orders``, ``_by_vid``, ``_rejected``, ``_fills``, ``_liquidations``) and into the
execution client's set of submitted client ids (its duplicate check), and is checked by
tests/live/test_shadow_trim.py so a change there is noticed.
"""

from __future__ import annotations

from typing import Any


def trim_sim(exchange: Any, keep: int) -> int:
    """Drop finished orders and fills beyond the newest ``keep`` of each (called when there
    are 2 x ``keep`` or more, so the cost is amortised); returns how many orders went."""
    orders: dict[str, Any] = exchange._orders
    gone = 0
    if len(orders) >= 2 * keep:
        finished = [cid for cid, rec in orders.items() if rec.status.is_terminal]
        for cid in finished[: max(0, len(finished) - keep)]:
            rec = orders.pop(cid)
            if rec.venue_order_id:
                exchange._by_vid.pop(rec.venue_order_id, None)
            gone += 1
    rejected: dict[str, Any] = exchange._rejected
    if len(rejected) >= 2 * keep:
        for cid in list(rejected)[: len(rejected) - keep]:
            del rejected[cid]
    for name in ("_fills", "_liquidations"):
        rows: list[Any] = getattr(exchange, name)
        if len(rows) >= 2 * keep:
            del rows[: len(rows) - keep]
    return gone


def trim_shadow(client: Any, keep: int) -> int:
    """:func:`trim_sim` on a :class:`~tradeloop.venues.sim.client.SimExecutionClient`'s
    exchange, then its duplicate-id set down to the orders the exchange still knows (the OMS
    never re-sends an id it finished with)."""
    exchange = client.exchange
    gone = trim_sim(exchange, keep)
    submitted: set[str] = client._submitted
    if len(submitted) >= 2 * keep:
        known = exchange._orders.keys() | exchange._rejected.keys()
        submitted.intersection_update(known)
    return gone
