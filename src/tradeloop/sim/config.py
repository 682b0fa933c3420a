"""Knobs of the simulated venue, frozen so a backtest's assumptions cannot drift mid-run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class BarFill(str, Enum):
    """When bar mode fills an order. Only NEXT_OPEN exists: an order placed at ``t`` is first
    seen by the first bar with ``start >= t`` (no look-ahead into a bar already under way)."""

    NEXT_OPEN = "next_open"


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulated venue behaves.

    Attributes:
        latency_ns: delay between ``submit``/``cancel``/``amend`` and the venue acting on it.
            0 = immediate. Delayed requests run in ``advance(ts)`` or at the next market event
            whose ``ts`` is at or past their due time.
        bar_fill: bar-mode fill rule (see :class:`BarFill`).
        slippage_bps: adverse slippage applied to taker fills at a bar's open, in basis points
            (buys pay ``open * (1 + bps/1e4)``). Limit orders never fill beyond their price.
        max_volume_fraction: in bar mode, the share of a bar's volume (same units as order
            size) our orders may take per bar, shared by all orders on the symbol in priority
            order. ``None`` = unlimited; the remainder of a market order waits for the next bar.
        leverage: default leverage for derivative instruments (``set_leverage`` overrides it).
        market_lock_buffer: a qty-sized market buy locks ``qty * ref_price * (1 + buffer)``
            (plus fee) because its fill price is not known yet; ref = best ask or last price.
        queue_position: L2 mode: a resting order joins behind the displayed external size at
            its price (True) or at the front of the queue (False).
        keep_fill_history: keep every Fill for ``fills()``; switch off for huge sweeps.
        fee_in_received_ccy: spot fees are charged in the currency the fill pays out — a buy's
            fee in the base currency, a sell's in the quote — as OKX does. ``False`` (the
            backtest default) charges every spot fee in the quote currency.
        fee_decimals: round each fill's fee to this many decimals before booking it, as a
            venue's ledger does (8 = a satoshi for BTC). The fee a venue reports is then the
            fee it charged, so balances reconcile to the unit. ``None`` books the exact fee.
    """

    latency_ns: int = 0
    bar_fill: BarFill = BarFill.NEXT_OPEN
    slippage_bps: float = 0.0
    max_volume_fraction: float | None = None
    leverage: float = 1.0
    market_lock_buffer: float = 0.05
    queue_position: bool = True
    keep_fill_history: bool = True
    fee_in_received_ccy: bool = False
    fee_decimals: int | None = None

    def __post_init__(self) -> None:
        if self.latency_ns < 0:
            raise ValueError("latency_ns must be >= 0")
        if not (self.slippage_bps >= 0 and math.isfinite(self.slippage_bps)):
            raise ValueError("slippage_bps must be a finite number >= 0")
        frac = self.max_volume_fraction
        if frac is not None and not (0 < frac <= 1):
            raise ValueError("max_volume_fraction must be in (0, 1] or None")
        if not self.leverage > 0:
            raise ValueError("leverage must be > 0")
        if not self.market_lock_buffer >= 0:
            raise ValueError("market_lock_buffer must be >= 0")
