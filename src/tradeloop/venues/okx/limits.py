"""What an OKX request costs against the client-side rate limiter (spec §2.3/§2.4).

OKX's trading limits are not "N requests per path": place, amend and cancel are limited per
instrument; batch endpoints count the orders in the batch, not the request; new and amended
orders also draw on a sub-account budget; and a WebSocket order op uses the very same limit as
its REST twin. :func:`okx_charges` turns one request (REST or WS) into the
:class:`~tradeloop.venues.ratelimit.Charge` s that express this, so the REST transport and the
private socket, sharing one :class:`~tradeloop.venues.ratelimit.RateLimiter`, throttle
together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tradeloop.venues.okx import constants as C
from tradeloop.venues.ratelimit import Charge


def _instrument(item: Mapping[str, Any]) -> str:
    """The bucket key of one order: ``instId`` (or ``instIdCode``, which ccxt sends on WS)."""
    return str(item.get("instId") or item.get("instIdCode") or "")


def okx_charges(group: str, items: Sequence[Mapping[str, Any]]) -> tuple[Charge, ...]:
    """Charges for one request to ``group`` (a REST path or a group from ``constants``)
    carrying ``items``: the order objects of a batch, or the one params/body mapping."""
    n = max(1, len(items))
    charges: list[Charge] = []
    if group in C.PER_INSTRUMENT:
        per_inst = Counter(_instrument(i) for i in items) or Counter({"": 1})
        for inst, count in per_inst.items():
            cost = count if group in C.PER_ORDER else 1
            charges.append(Charge(group, inst, float(cost)))
    else:
        charges.append(Charge(group, "", float(n if group in C.PER_ORDER else 1)))
    if group in C.NEW_OR_AMEND:
        charges.append(Charge(C.SUB_ACCOUNT_ORDERS, "", float(n)))
    return tuple(charges)


def rest_charges(
    method: str, path: str, params: Mapping[str, Any] | None, body: Any
) -> tuple[Charge, ...]:
    """Charges for one REST request (the order details GET shares its path with placing but
    not its limit)."""
    group = C.ORDER_DETAILS if method == "GET" and path == C.ORDER else path
    if isinstance(body, list):
        items = [i for i in body if isinstance(i, Mapping)]
    else:
        items = [body if isinstance(body, Mapping) and body else (params or {})]
    return okx_charges(group, items)


def ws_charges(op: str, args: Sequence[Mapping[str, Any]]) -> tuple[Charge, ...]:
    """Charges for one WebSocket op; ops without a REST twin (login, subscribe) cost nothing
    here (their limits are per connection, spec §2.5)."""
    group = C.WS_OP_GROUPS.get(op)
    return () if group is None else okx_charges(group, args)
