"""BitMEX's JSON shapes for the account: order, execution, position, margin and wallet rows.

Kept apart from order entry (:mod:`.trading`) because every path -- REST answers, WS partials,
WS pushes -- renders the same rows, and BitMEX's money fields need one careful conversion:
the simulator keeps BTC/USDT floats, BitMEX reports whole ``XBt`` / ``USDt`` minor units, with
its sign conventions (an inverse long has a *negative* cost, a linear long a positive one).
"""

from __future__ import annotations

import time
import uuid
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex import liquidation as liq
from tradeloop.emulator.bitmex.rest import BitmexError
from tradeloop.emulator.limits import clip
from tradeloop.model import Fill, Liquidity, OrderStatus, RejectReason, Side
from tradeloop.model.instrument import Instrument
from tradeloop.model.position import exact
from tradeloop.sim import margin as sim_margin
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.bitmex.ledger import SatLedger
    from tradeloop.emulator.bitmex.server import BitmexEmulator

S = OrderStatus
ACCOUNT = 1234567
STATUS = {
    S.ACCEPTED: "New",
    S.PARTIALLY_FILLED: "PartiallyFilled",
    S.FILLED: "Filled",
    S.CANCELED: "Canceled",
    S.EXPIRED: "Canceled",
    S.REJECTED: "Rejected",
}


def uuid_of(seed: int, n: int, kind: int = 0) -> str:
    """A stable UUID-shaped id (BitMEX's orderID / execID / trdMatchID are UUIDs)."""
    return str(uuid.UUID(int=(seed << 96) | (kind << 80) | n))


class BitmexViews:
    """The row builders; :class:`~.trading.BitmexTrading` supplies the state."""

    emu: BitmexEmulator
    account: SimAccount
    cross: dict[str, bool]
    ledger: SatLedger

    def _next(self, kind: int) -> str:
        raise NotImplementedError

    # -- shapes ------------------------------------------------------------------------------
    def inst(self, symbol: str) -> Instrument:
        return self.emu.instruments[symbol]

    def order_row(self, info: OrderInfo, rec: SimOrder) -> dict[str, Any]:
        inst, x = self.inst(info.symbol), info.extra
        status = STATUS.get(rec.status, "New")
        if rec.code is RejectReason.POST_ONLY_WOULD_TAKE:  # BitMEX accepts, then cancels it
            status = "Canceled"
        leaves = 0.0 if rec.status.is_terminal else rec.qty - rec.filled_qty
        return {
            "orderID": x["uuid"],
            "clOrdID": info.client_id,
            "clOrdLinkID": "",
            "account": ACCOUNT,
            "symbol": info.symbol,
            "side": "Buy" if rec.side is Side.BUY else "Sell",
            "simpleOrderQty": None,
            "orderQty": ct.num(inst.format_qty(rec.qty)),
            "price": ct.num(inst.format_price(rec.price)) if x["ordType"] == "Limit" else None,
            "displayQty": None,
            "stopPx": None,
            "pegOffsetValue": None,
            "pegPriceType": "",
            "currency": inst.quote,
            "settlCurrency": ct.settl_code(inst),
            "ordType": x["ordType"],
            "timeInForce": x["timeInForce"],
            "execInst": x["execInst"],
            "contingencyType": "",
            "exDestination": "XBME",
            "ordStatus": status,
            "triggered": "",
            "workingIndicator": not rec.status.is_terminal,
            "ordRejReason": "",
            "simpleLeavesQty": None,
            "leavesQty": ct.num(inst.format_qty(max(leaves, 0.0))),
            "simpleCumQty": None,
            "cumQty": ct.num(inst.format_qty(rec.filled_qty)),
            "avgPx": rec.avg_price if rec.filled_qty else None,
            "multiLegReportingType": "SingleSecurity",
            "text": x.get("cancel_text") or x["text"],
            "transactTime": ct.iso(info.c_time),
            "timestamp": ct.iso(info.u_time),
        }

    def exec_row(
        self, info: OrderInfo, rec: SimOrder, exec_type: str, fill: Fill | None = None
    ) -> dict[str, Any]:
        row = self.order_row(info, rec)
        inst = self.inst(info.symbol)
        row.update(
            execID=self._next(1),
            execType=exec_type,
            lastQty=None,
            lastPx=None,
            lastLiquidityInd="",
            commission=None,
            trdMatchID="",
            execCost=None,
            execComm=None,
            homeNotional=None,
            foreignNotional=None,
        )
        if fill is not None:
            value = inst.settle_value(fill.qty, fill.price)
            buy = fill.side is Side.BUY
            sat = ct.value_minor(inst, ct.exact(fill.qty), ct.exact(fill.price))
            cost = sat * (-1 if buy == inst.inverse else 1)
            maker = fill.liquidity is Liquidity.MAKER
            row.update(
                lastQty=ct.num(inst.format_qty(fill.qty)),
                lastPx=fill.price,
                lastLiquidityInd="AddedLiquidity" if maker else "RemovedLiquidity",
                commission=inst.maker_fee if maker else inst.taker_fee,
                trdMatchID=uuid_of(self.emu.config.seed, int(fill.trade_id), 2),
                execCost=cost,
                execComm=ct.to_minor(inst.settle, fill.fee),
                homeNotional=(
                    fill.qty / fill.price if inst.inverse else fill.qty * inst.contract_value
                )
                * (1 if buy else -1),
                foreignNotional=(fill.qty if inst.inverse else value) * (-1 if buy else 1),
                transactTime=ct.iso(fill.ts // 1_000_000),
                timestamp=ct.iso(fill.ts // 1_000_000),
            )
        return row

    def mark(self, symbol: str) -> float:
        return self.emu.driver.markets[symbol].mid()

    def position_row(self, symbol: str) -> dict[str, Any]:
        sim, inst = self.account.sim, self.inst(symbol)
        pos = sim.positions().get(symbol)
        qty = pos.qty if pos else 0.0
        avg = pos.avg_price if pos else 0.0
        mark = self.mark(symbol)
        lev = sim.leverage(symbol)
        spec = ct.SPECS[symbol]
        cost = inst.settle_value(abs(qty), avg) if qty else 0.0
        sign = (-1 if qty > 0 else 1) if inst.inverse else (1 if qty > 0 else -1)
        upnl = sim.unrealized_pnl(symbol, mark) if qty else 0.0
        held = self.ledger.holding(symbol)
        maint = sim_margin.maintenance(inst, pos, spec.maint, mark) if pos and qty else 0.0
        lp = self.liq_prices(symbol)
        pos_init = round(liq.isolated_pool(held.cost, lev)) if qty else 0
        pos_comm = round(exact(inst.taker_fee) * held.cost) if qty else 0
        to = lambda v: ct.to_minor(inst.settle, v)  # noqa: E731
        return {
            "account": ACCOUNT,
            "symbol": symbol,
            "currency": ct.settl_code(inst),
            "underlying": spec.root,
            "quoteCurrency": inst.quote,
            "commission": inst.taker_fee,
            "initMarginReq": 1.0 / lev,
            "maintMarginReq": spec.maint,
            "riskLimit": 20_000_000_000,
            "leverage": lev,
            "crossMargin": self.cross.get(symbol, False),
            "currentQty": ct.num(inst.format_qty(abs(qty))) * (1 if qty >= 0 else -1),
            "currentCost": (held.cost if qty else 0) * sign,
            "currentComm": held.comm,
            "realisedPnl": held.net,
            "unrealisedPnl": to(upnl),
            "markPrice": mark if qty else None,
            "markValue": to(inst.settle_value(abs(qty), mark)) * sign,
            "homeNotional": (qty / mark if inst.inverse else qty * inst.contract_value),
            "foreignNotional": -qty if inst.inverse else -inst.settle_value(qty, mark),
            "posCost": (held.cost if qty else 0) * sign,
            "posInit": pos_init,
            "posComm": pos_comm,
            "posMargin": pos_init + pos_comm,
            "posMaint": round(exact(spec.maint) * held.cost) if qty else 0,
            "maintMargin": to(maint + cost / lev),
            "initMargin": 0,
            "avgCostPrice": avg or None,
            "avgEntryPrice": avg or None,
            "breakEvenPrice": avg or None,
            "liquidationPrice": lp.liquidation if lp else None,
            "bankruptPrice": lp.bankrupt if lp else None,
            "isOpen": qty != 0,
            "timestamp": ct.iso(time.time() * 1000),
            "currentTimestamp": ct.iso(time.time() * 1000),
        }

    def margin_of(self, symbol: str) -> liq.Margin:
        """What backs ``symbol``'s position (:mod:`.liquidation`): its isolated margin, or in
        cross the wallet plus the other cross positions' unrealised PnL less their
        maintenance, less the isolated positions' margins (same settle currency)."""
        sim, inst = self.account.sim, self.inst(symbol)
        held = self.ledger.holding(symbol)
        if not self.cross.get(symbol, False):
            return liq.Margin(liq.isolated_pool(held.cost, sim.leverage(symbol)), False)
        pool = Fraction(self.ledger.wallet(ct.settl_code(inst)).balance)
        for sym, h in self.ledger.holdings.items():
            other = self.inst(sym)
            if sym == symbol or not h.qty or other.settle != inst.settle:
                continue
            if self.cross.get(sym, False):
                pool += liq.unrealised(other, h.qty, h.cost, self.mark(sym))
                pool -= exact(ct.SPECS[sym].maint) * h.cost
            else:
                pool -= liq.isolated_pool(h.cost, sim.leverage(sym))
        return liq.Margin(pool, True)

    def liq_prices(self, symbol: str) -> liq.LiqPrices | None:
        """BitMEX's liquidation and bankruptcy prices of the open position (None: flat)."""
        held = self.ledger.holding(symbol)
        if not held.qty:
            return None
        inst = self.inst(symbol)
        return liq.prices(inst, held.qty, held.cost, self.margin_of(symbol),
                          ct.SPECS[symbol].maint)  # fmt: skip

    def margin_row(self, ccy: str) -> dict[str, Any]:
        sim = self.account.sim
        bal = sim.balances().get(ccy)
        locked = bal.locked if bal else 0.0
        upnl = maint = 0.0
        for sym, pos in sim.positions().items():
            inst = self.inst(sym)
            if inst.settle != ccy:
                continue
            mark = self.mark(sym)
            upnl += sim.unrealized_pnl(sym, mark)
            if pos.qty:
                maint += sim_margin.maintenance(inst, pos, ct.SPECS[sym].maint, mark)
        code = ct.UNIFIED.get(ccy, ccy)
        wallet, ub = self.ledger.wallet(code).balance, ct.to_minor(ccy, upnl)
        avail = wallet - ct.to_minor(ccy, locked) + min(ub, 0)
        mb = wallet + ub
        return {
            "account": ACCOUNT,
            "currency": ct.UNIFIED.get(ccy, ccy),
            "riskLimit": 1_000_000_000_000,
            "amount": wallet,
            "realisedPnl": self.ledger.realised(code, self.emu.instruments),
            "unrealisedPnl": ub,
            "walletBalance": wallet,
            "marginBalance": mb,
            "marginLeverage": 0.0,
            "marginUsedPcnt": round(1 - avail / mb, 4) if mb else 0.0,
            "excessMargin": avail,
            "availableMargin": avail,
            "withdrawableMargin": avail,
            "initMargin": ct.to_minor(ccy, locked),
            "maintMargin": ct.to_minor(ccy, maint),
            "grossOpenCost": 0,
            "timestamp": ct.iso(time.time() * 1000),
        }

    def wallet_row(self, ccy: str) -> dict[str, Any]:
        w = self.ledger.wallet(ct.UNIFIED.get(ccy, ccy))
        return {
            "account": ACCOUNT,
            "currency": w.code,
            "amount": w.balance,
            "deposited": w.deposited,
            "withdrawn": 0,
            "transferIn": 0,
            "transferOut": 0,
            "pendingCredit": 0,
            "pendingDebit": 0,
            "confirmedDebit": 0,
            "timestamp": ct.iso(time.time() * 1000),
            "addr": "",
            "script": "",
            "withdrawalLock": [],
        }

    def currencies(self, which: Any) -> list[str]:
        if which in (None, "", "all"):
            return [c for c in ct.UNIFIED if c in self.emu.currencies_held()]
        ccy = ct.CURRENCIES.get(str(which), (None, 0))[0]
        if ccy is None:
            raise BitmexError(f"Unknown currency: {clip(which, 16)}", 400, "ValidationError")
        return [ccy]
