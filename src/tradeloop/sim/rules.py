"""Pure venue rules: what makes an order acceptable, what it must reserve, how sizes round.

Kept free of exchange state (callers pass in positions, prices, leverage) so each rule can be
read — and changed — on its own.

Derivative margin (one-way net positions, as OKX, BitMEX and Binance one-way mode check it):
an order first closes whatever opposite position there is, then opens the rest. Only the
opening part, ``max(0, |order qty| - |opposite position|)``, needs initial margin (plus its
taker fee); reduce-only orders and pure closes need none. A flip is judged against the free
margin *plus* what its closing part hands back (that part's share of the position's initial
margin, plus the PnL it realises, less its fee: ``Account.close_release``). The order's lock
is the opening part's margin only; the fill-time cap (``VenueLedger._cap``) re-checks against
the position as it is then, so a resting order whose position changed meanwhile is judged
afresh. Spot is unaffected.
"""

from __future__ import annotations

import math

from tradeloop.model import Instrument
from tradeloop.model.enums import BUY, MARKET, POST_ONLY, SELL, RejectReason
from tradeloop.sim.records import SimOrder

#: Why the venue refuses something: the typed reason (what front-ends map to venue codes and
#: the OMS acts on) and a human-readable detail.
Refusal = tuple[RejectReason, str]
_SIZE, _PRICE, _REDUCE = (
    RejectReason.INVALID_SIZE,
    RejectReason.INVALID_PRICE,
    RejectReason.REDUCE_ONLY,
)


def eps(inst: Instrument) -> float:
    """Size below which a remainder is float dust, not a real lot."""
    return inst.lot_size * 1e-6


def remaining(rec: SimOrder, inst: Instrument) -> float:
    """Remaining size without float dust (0.5 - 0.3 is 0.19999999999999996, not a lot
    multiple); a remainder that is not a whole number of lots is kept as it is."""
    rem = rec.qty - rec.filled_qty
    if rem <= 0:
        return 0.0
    clean = inst.round_qty(rem)
    return clean if abs(rem - clean) <= eps(inst) else rem


def is_done(rec: SimOrder, inst: Instrument) -> bool:
    return rec.qty > 0 and rec.qty - rec.filled_qty <= eps(inst)


def floor_fit(inst: Instrument, budget: float, unit: float) -> float:
    """Most whole lots whose cost (``unit`` per 1 size) stays within ``budget``."""
    if budget <= 0 or unit <= 0:
        return 0.0
    # Float floor is enough here: the cost check below steps down a lot if the float quotient
    # overshot, and a size sized from a budget has no exact "intended" value to preserve.
    lot = inst.lot_size
    steps = math.floor(budget / unit / lot)
    q = round(steps * lot, inst.qty_precision)
    if q > 0 and q * unit > budget:
        q = round((steps - 1) * lot, inst.qty_precision)
    return max(q, 0.0)


def order_problem(rec: SimOrder, inst: Instrument) -> Refusal | None:
    """Why the order's own fields are unacceptable, or None (no account or market state)."""
    is_market = rec.order_type is MARKET
    if rec.quote_qty != 0.0:
        if not (rec.quote_qty > 0 and math.isfinite(rec.quote_qty)):
            return _SIZE, "quote_qty must be > 0"
        if rec.qty != 0.0:
            return _SIZE, "give qty or quote_qty, not both"
        if not (is_market and rec.side is BUY and not inst.is_derivative):
            return _SIZE, "quote_qty is only for spot market buys"
    else:
        if not (rec.qty > 0 and math.isfinite(rec.qty)):
            return _SIZE, "qty must be > 0"
        if rec.qty < inst.min_size:
            return _SIZE, f"qty {rec.qty:g} below min_size {inst.min_size:g}"
    if is_market:
        if rec.tif is POST_ONLY:
            return RejectReason.OTHER, "post-only requires a limit order"
    elif not (rec.price > 0 and math.isfinite(rec.price)):
        return _PRICE, "limit price must be > 0"
    return None


def reduce_only_problem(
    rec: SimOrder, inst: Instrument, position_qty: float, qty: float
) -> Refusal | None:
    """Why a reduce-only order of ``qty`` would not only reduce the position, or None."""
    if not inst.is_derivative:
        # Spot holdings are the position: a reduce-only sell is an ordinary sell.
        return (_REDUCE, "reduce-only buy would increase a position") if rec.side is BUY else None
    closable = -rec.side.sign * position_qty
    if closable <= 0:
        return _REDUCE, "reduce-only order would increase the position"
    if qty > closable + eps(inst):
        return _REDUCE, "reduce-only qty exceeds the position"
    return None


def lock_need(
    rec: SimOrder,
    inst: Instrument,
    qty: float,
    price: float,
    *,
    market_ref: float | None,
    market_buffer: float,
    position_qty: float,
    leverage: float,
) -> tuple[str, float]:
    """Asset and amount an open order of total size ``qty`` at ``price`` must reserve, less
    what already filled. Market orders are priced at ``market_ref * (1 + market_buffer)``
    (0 when no price is known: the fill-time cap then protects the wallet). A derivative
    reserves margin for its opening part only (module docstring)."""
    rem = max(qty - rec.filled_qty, 0.0)
    if rec.order_type is MARKET:
        price = market_ref * (1 + market_buffer) if market_ref is not None else 0.0
    if inst.is_derivative:
        if rec.reduce_only:
            return inst.settle, 0.0
        closable = max(0.0, -rec.side.sign * position_qty)
        opening = max(rem - closable, 0.0)
        per_unit = 1.0 / leverage + max(inst.taker_fee, 0.0)
        return inst.settle, inst.settle_value(opening, price) * per_unit
    if rec.side is SELL:
        return inst.base, rem
    if rec.is_quote_sized:
        return inst.quote, rec.quote_qty - rec.spent_quote
    fee = max(inst.taker_fee, inst.maker_fee, 0.0)
    return inst.quote, rem * price * inst.contract_value * (1 + fee)
