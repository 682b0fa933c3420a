"""Balances, order locks, derivative positions and margin of the one simulated account.

Spot: each asset has a wallet ``total``; open orders reserve part of it (``locked``), so
``free = total - locked`` is what new orders may use. Derivatives (linear, one-way net
positions): the settle asset's ``locked`` is open-order margin plus the initial margin of open
positions (``|qty| * avg_price * contract_value / leverage``); realised PnL, fees and funding
move ``total``. Unrealised PnL is reported, never credited (liquidation is not modelled).
"""

from __future__ import annotations

import dataclasses
import logging

from tradeloop.model import Balance, Instrument, Position, Side
from tradeloop.model.enums import BUY

log = logging.getLogger(__name__)


class Account:
    """Pure bookkeeping: the exchange decides *what* happens, this records the money."""

    def __init__(self, balances: dict[str, float], default_leverage: float) -> None:
        self._total: dict[str, float] = {a: float(v) for a, v in balances.items()}
        self._order_locked: dict[str, float] = {}
        self._lock_holders: dict[str, int] = {}  # open orders holding a lock, per asset
        self._positions: dict[str, Position] = {}
        self._pos_asset: dict[str, str] = {}
        self._pos_margin: dict[str, float] = {}  # symbol -> initial margin of its position
        self._leverage: dict[str, float] = {}
        self._default_leverage = default_leverage

    # -- balances -------------------------------------------------------------------------
    def total(self, asset: str) -> float:
        return self._total.get(asset, 0.0)

    def locked(self, asset: str) -> float:
        margin = 0.0
        if self._pos_margin:
            for sym, m in self._pos_margin.items():
                if self._pos_asset[sym] == asset:
                    margin += m
        return self._order_locked.get(asset, 0.0) + margin

    def free(self, asset: str) -> float:
        return self.total(asset) - self.locked(asset)

    def balances(self) -> dict[str, Balance]:
        assets = set(self._total) | set(self._order_locked) | set(self._pos_asset.values())
        return {a: Balance(a, self.total(a), self.locked(a)) for a in sorted(assets)}

    def credit(self, asset: str, amount: float) -> None:
        """Move ``amount`` (signed) into the wallet: fills, fees, PnL, funding, deposits."""
        self._total[asset] = self._total.get(asset, 0.0) + amount

    # -- order locks ----------------------------------------------------------------------
    def lock(self, asset: str, amount: float) -> None:
        """Reserve ``amount`` for one new open order (call ``unlock_all`` when it ends)."""
        self._order_locked[asset] = self._order_locked.get(asset, 0.0) + amount
        self._lock_holders[asset] = self._lock_holders.get(asset, 0) + 1

    def release(self, asset: str, amount: float) -> None:
        """Give back part of an order's lock (it filled); the order stays a holder."""
        self._order_locked[asset] = self._order_locked.get(asset, 0.0) - amount

    def adjust_lock(self, asset: str, delta: float) -> None:
        """Grow or shrink a live order's lock (amend)."""
        self._order_locked[asset] = self._order_locked.get(asset, 0.0) + delta

    def unlock_all(self, asset: str, amount: float) -> None:
        """An order holding ``amount`` ended. When the last holder ends the lock is snapped to
        exactly 0 so float dust never leaves phantom locked funds."""
        n = self._lock_holders.get(asset, 0) - 1
        if n <= 0:
            self._lock_holders.pop(asset, None)
            self._order_locked[asset] = 0.0
        else:
            self._lock_holders[asset] = n
            self._order_locked[asset] = self._order_locked.get(asset, 0.0) - amount

    # -- spot fills -----------------------------------------------------------------------
    def apply_spot_fill(
        self,
        inst: Instrument,
        side: Side,
        qty: float,
        price: float,
        fee: float,
        fee_in_base: bool = False,
    ) -> None:
        """Move the money of one spot execution; ``fee`` is in the base currency when
        ``fee_in_base`` (a buy's fee taken from what it receives), else in the quote."""
        notional = qty * price * inst.contract_value
        if side is BUY:
            if fee_in_base:
                self.credit(inst.quote, -notional)
                self.credit(inst.base, qty - fee)
                return
            self.credit(inst.quote, -notional - fee)
            self.credit(inst.base, qty)
        else:
            self.credit(inst.base, -qty)
            self.credit(inst.quote, notional - fee)

    # -- derivatives ----------------------------------------------------------------------
    def leverage(self, symbol: str) -> float:
        return self._leverage.get(symbol, self._default_leverage)

    def set_leverage(self, inst: Instrument, leverage: float) -> bool:
        """Change leverage; refused (False) if the position's new margin exceeds the wallet."""
        if not leverage > 0:
            return False
        old = self._leverage.get(inst.symbol)
        self._leverage[inst.symbol] = leverage
        self._refresh_position_margin(inst)
        if self.free(inst.settle) < 0:
            if old is None:
                del self._leverage[inst.symbol]
            else:
                self._leverage[inst.symbol] = old
            self._refresh_position_margin(inst)
            return False
        return True

    def position(self, symbol: str) -> Position | None:
        return self._positions.get(symbol)

    def position_qty(self, symbol: str) -> float:
        pos = self._positions.get(symbol)
        return pos.qty if pos is not None else 0.0

    def positions(self) -> dict[str, Position]:
        return {s: dataclasses.replace(p) for s, p in self._positions.items()}

    def apply_derivative_fill(
        self, inst: Instrument, side: Side, qty: float, price: float, fee: float
    ) -> float:
        """Book one execution into the net position; returns the realised PnL."""
        pos = self._positions.get(inst.symbol)
        if pos is None:
            pos = Position.of(inst)
            self._positions[inst.symbol] = pos
            self._pos_asset[inst.symbol] = inst.settle
        realized = pos.apply_fill(qty if side is BUY else -qty, price, fee)
        self.credit(inst.settle, realized - fee)
        self._refresh_position_margin(inst)
        return realized

    def initial_margin(self, inst: Instrument, qty: float, price: float) -> float:
        return inst.settle_value(abs(qty), price) / self.leverage(inst.symbol)

    def close_release(
        self, inst: Instrument, closed: float, price: float, fee_rate: float
    ) -> float:
        """What closing ``closed`` contracts of the position at ``price`` hands back for new
        margin: their share of the position's initial margin, plus the PnL they realise, less
        their fee (negative when a loss exceeds the margin freed). 0 when nothing is closed."""
        pos = self._positions.get(inst.symbol)
        if pos is None or not pos.qty or closed <= 0:
            return 0.0
        share = min(closed / abs(pos.qty), 1.0)
        margin = self._pos_margin.get(inst.symbol, 0.0) * share
        if price <= 0:  # no price known yet: the margin alone (the fill re-checks)
            return margin
        fee = inst.settle_value(abs(pos.qty) * share, price) * max(fee_rate, 0.0)
        return margin + pos.unrealized(price) * share - fee

    def _refresh_position_margin(self, inst: Instrument) -> None:
        pos = self._positions.get(inst.symbol)
        if pos is None:
            return
        self._pos_margin[inst.symbol] = self.initial_margin(inst, pos.qty, pos.avg_price)

    def apply_funding(self, inst: Instrument, rate: float, mark_price: float) -> float:
        """Settle one funding payment; returns what the account paid (negative = received).
        Longs pay positive rates: ``payment = position value (settle ccy) * rate``."""
        qty = self.position_qty(inst.symbol)
        payment = inst.settle_value(qty, mark_price) * rate
        if payment:
            self.credit(inst.settle, -payment)
        return payment

    def unrealized_pnl(self, symbol: str, mark: float) -> float:
        pos = self._positions.get(symbol)
        return pos.unrealized(mark) if pos is not None else 0.0
