"""The venue-neutral order lifecycle every gateway shares ("the kit").

What used to live inside the OKX gateway and knew nothing about OKX: order tracking by client
id, fill de-duplication by trade id, reports that never move an order backwards, placements in
doubt resolved by client id, cancels re-sent until a deadline (then a typed CANCEL_FAILED
report), a cancel asked while the placement is in flight held until it lands, amends, adoption of
orders a previous process placed, the catch-up after a private reconnect (rounds, then
``reconcile_failed``), and pruning of finished orders so a long live run stays bounded.

Layout: :mod:`.policy` (``RecoveryPolicy``, ``Retention``), :mod:`.hooks` (the seam below),
:mod:`.checks` (pre-trade checks), :mod:`.tracker` (tracks and the emission rules),
:mod:`.lifecycle` (``OrderLifecycle``, the request loops).

The hooks a venue implements (:class:`VenueHooks`) — every venue (OKX today; FTX, Bitfinex,
BitMEX, Binance next) implements exactly these and nothing else of the order lifecycle:

==========================================  ========================================================
hook                                        what the venue does
==========================================  ========================================================
``venue``                                   its name (``"OKX"``), the suffix of its instrument ids
``instrument(symbol_id)``                   the ``Instrument`` behind an id, or None
``venue_client_id(client_order_id)``        tradeloop client id -> the venue's (stable mapping)
``native_symbol(symbol_id)``                instrument id -> the venue's symbol (``BTC-USDT``)
``symbol_id(native)``                       the venue's symbol -> instrument id (``BTC-USDT.OKX``)
``streaming()``                             is the private order stream up (will changes be pushed)?
``place(order, track)`` (async)             send the order under ``track.venue_client_id``;
                                            return a ``PlaceAck`` (venue order id, ``existing``)
``cancel(track)`` (async)                   cancel by client id (idempotent)
``amend(track, qty, price)`` (async)        new total size and/or price
``fetch_order(track)`` (async)              current state as an ``OrderReport`` (by client id)
``fetch_fills(track)`` (async)              every ``Fill`` of the order, oldest first
``classify(exc)``                           a ``VenueError`` -> ``Verdict``: NOT_FOUND, FINISHED,
                                            DUPLICATE_ID, TRANSIENT, RATE_LIMITED (+ retry-after),
                                            UNKNOWN_OUTCOME, PERMANENT (+ ``RejectReason``)
==========================================  ========================================================

Most venues answer the identity hooks (``instrument`` .. ``streaming``, ``classify``) the same
way: :class:`ListedHooks` does, from the venue's ids, error table and client-id pattern.

A gateway owns one :class:`OrderLifecycle`, forwards ``submit_order`` / ``cancel_order`` /
``amend_order`` to it, feeds it the private stream's pushes (``push_track`` + ``fill`` +
``report``) and calls ``reconcile()`` when that stream reconnects.
"""

from tradeloop.venues.execution.checks import amend_problem, preflight, spend_size
from tradeloop.venues.execution.early import EarlyFills, OrderIds
from tradeloop.venues.execution.errors import ErrorTable, stable_client_id
from tradeloop.venues.execution.hooks import (
    ErrorKind,
    OrderTrack,
    PlaceAck,
    VenueHooks,
    Verdict,
)
from tradeloop.venues.execution.lifecycle import OrderLifecycle
from tradeloop.venues.execution.listed import ListedHooks
from tradeloop.venues.execution.policy import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.execution.tracker import OrderTracker

__all__ = [
    "DEFAULT_RECOVERY",
    "DEFAULT_RETENTION",
    "EarlyFills",
    "ErrorKind",
    "ErrorTable",
    "ListedHooks",
    "OrderIds",
    "OrderLifecycle",
    "OrderTrack",
    "OrderTracker",
    "PlaceAck",
    "RecoveryPolicy",
    "Retention",
    "VenueHooks",
    "Verdict",
    "amend_problem",
    "preflight",
    "spend_size",
    "stable_client_id",
]
