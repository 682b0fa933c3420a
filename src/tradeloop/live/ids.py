"""Client order ids that say which deployment placed an order.

Every id is ``t`` + an 8-hex-digit tag derived from the deployment name + a per-process session
part (base36 milliseconds) + a counter, all alphanumeric and at most 32 characters (OKX's
clOrdId rule). At start-up an order or fill whose client id starts with ``t<tag>`` is ours —
placed by this deployment in this or an earlier process — and anything else on the account is
foreign (another program, the web UI, the FMZ bridge) and is never booked into a strategy.
The session part keeps a restarted process from reusing a previous process's ids.
"""

from __future__ import annotations

import hashlib
import time

from tradeloop.core.ids import IdGenerator


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def deployment_prefix(deployment: str) -> str:
    """``t`` + 8 hex digits of the deployment name's SHA-1 (stable across processes)."""
    return "t" + hashlib.sha1(deployment.encode()).hexdigest()[:8]


def session_ids(deployment: str, now_ns: int | None = None) -> IdGenerator:
    """The id generator of one process of ``deployment``."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    return IdGenerator(deployment_prefix(deployment) + _base36(ms))


def is_own(client_order_id: str, prefix: str) -> bool:
    return client_order_id.startswith(prefix)
