"""Binance spot order entry, queries and user-data events over the shared simulated account.

Binance checks an order's own fields first (mandatory parameters, enums, number syntax and
precision, then the symbol's filters exactly as ``exchangeInfo`` lists them: PRICE_FILTER,
LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS); the simulator then decides funds and
matching, and its typed refusal becomes Binance's ``-2010`` text (:mod:`.errors`). A refused
order leaves no record. ``newClientOrderId`` must be unique among *open* orders (Binance's
rule: ``-2010 Duplicate order sent.``). An unfilled IOC/FOK/MARKET remainder ends EXPIRED,
a LIMIT_MAKER that would take is refused.

Each simulator report becomes ``executionReport`` events (one per fill, cumulative fields
stepping up) and an ``outboundAccountPosition`` with the two assets of the symbol, for the
WS API connections subscribed to the user data stream.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.binance import markets as mk
from tradeloop.emulator.binance import triggers
from tradeloop.emulator.binance.account_orders import (
    AccountOrders,
    Params,
    UserPush,
    _text,
)
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.limits import positive_decimal
from tradeloop.emulator.market import SymbolMarket
from tradeloop.model import Fill, Instrument, Liquidity, OrderReport, Side, TimeInForce
from tradeloop.model.enums import OrderStatus
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

#: Binance's number syntax: ``^([0-9]{1,20})(\.[0-9]{1,20})?$`` (no sign, no exponent)
_NUMBER = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_ALNUM = string.ascii_letters + string.digits
TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def random_client_id() -> str:
    """What Binance generates for an order or cancel sent without a client id."""
    return "".join(secrets.choice(_ALNUM) for _ in range(22))


def _decimal(params: Params, key: str, required: bool = True) -> Decimal | None:
    raw = params.get(key)
    if raw is None or raw == "":
        if required:
            raise E.mandatory(key)
        return None
    d = positive_decimal(raw)
    if d is None or (isinstance(raw, str) and not _NUMBER.fullmatch(raw)):
        raise E.illegal(key)
    if d.as_tuple().exponent < -8:  # type: ignore[operator]
        raise E.BinanceError(E.BAD_PRECISION, f"Parameter '{key}' has too much precision.")
    return d


def _on_grid(value: Decimal, low: Decimal, step: Decimal) -> bool:
    return step == 0 or (value - low) % step == 0


class BinanceTrading(AccountOrders):
    """Binance spot semantics on top of :class:`~tradeloop.emulator.account.SimAccount`
    (lookups, listings and event order: :class:`~.account_orders.AccountOrders`)."""

    def __init__(self, emu: BinanceEmulator) -> None:
        self.emu = emu
        self.account = emu.new_account(1_000_000 + emu.config.seed * 1000)
        self.account.order_listeners.append(self._on_order)
        self.account.trade_listeners.append(emu.hub.push_user_trade)
        #: receivers of user data events (the WS API subscriptions)
        self.user_listeners: list[UserPush] = []

    def markets(self) -> Mapping[str, SymbolMarket]:
        return self.emu.driver.markets

    def instrument(self, symbol: str) -> Instrument:
        return self.emu.instruments[symbol]

    # -- order entry ------------------------------------------------------------------------
    def check(self, params: Params) -> dict[str, Any]:
        """Validate a new order (no side effect); the fields ``place`` needs."""
        m = self.market(params)
        inst = m.instrument
        f = self.emu.filters[inst.symbol]
        side = _text(params, "side")
        if not side:
            raise E.mandatory("side")
        if side not in ("BUY", "SELL"):
            raise E.BinanceError(E.INVALID_SIDE, "Invalid side.")
        kind = _text(params, "type")
        if not kind:
            raise E.mandatory("type")
        if kind not in mk.ORDER_TYPES:
            raise E.BinanceError(E.INVALID_ORDER_TYPE, "Invalid orderType.")
        tif_text = _text(params, "timeInForce")
        qty = _decimal(params, "quantity", required=False)
        quote = _decimal(params, "quoteOrderQty", required=False)
        price: Decimal | None = None
        tif = TimeInForce.GTC
        stop = _decimal(params, "stopPrice") if kind in triggers.KINDS else None
        if kind in ("STOP_LOSS", "TAKE_PROFIT"):  # market child: quantity only
            if qty is None:
                raise E.mandatory("quantity")
            if tif_text:
                raise E.BinanceError(
                    E.UNKNOWN_PARAM, "Parameter 'timeInForce' sent when not required."
                )
        elif kind == "MARKET":
            if (qty is None) == (quote is None):
                raise E.BinanceError(
                    E.MANDATORY_PARAM,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
                    if qty is None
                    else "Parameter 'quoteOrderQty' sent when not required.",
                )
            if quote is not None and side == "SELL":
                raise E.BinanceError(E.NEW_ORDER_REJECTED, "Unsupported order combination.")
        else:
            if qty is None:
                raise E.mandatory("quantity")
            price = _decimal(params, "price")
            if kind != "LIMIT_MAKER":  # LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT
                if not tif_text:
                    raise E.mandatory("timeInForce")
                if tif_text not in TIFS:
                    raise E.BinanceError(E.INVALID_TIF, "Invalid timeInForce.")
                tif = TIFS[tif_text]
            else:
                tif = TimeInForce.POST_ONLY
        if kind == "MARKET" and tif_text:
            raise E.BinanceError(E.UNKNOWN_PARAM, "Parameter 'timeInForce' sent when not required.")
        # -- filters, in Binance's order ------------------------------------------------
        for px in (price, stop):
            if px is not None and (
                px < f.min_price
                or (f.max_price and px > f.max_price)
                or not _on_grid(px, f.min_price, f.tick)
            ):
                raise E.filter_failure("PRICE_FILTER")
        if qty is not None:
            if kind == "MARKET" and f.market_max_qty and qty > f.market_max_qty:
                raise E.filter_failure("MARKET_LOT_SIZE")
            if qty < f.min_qty or qty > f.max_qty or not _on_grid(qty, f.min_qty, f.step):
                raise E.filter_failure("LOT_SIZE")
        ref = price if price is not None else stop or Decimal(m.last_trade.price)
        notional = quote if quote is not None else (qty or Decimal(0)) * ref
        if notional < f.min_notional or (price is not None and notional > f.max_notional):
            raise E.filter_failure("NOTIONAL")
        if len(self.account.sim.open_orders(inst.symbol)) >= f.max_orders:
            raise E.filter_failure("MAX_NUM_ORDERS")
        cid = self.new_client_id(params, E.BinanceError(E.NEW_ORDER_REJECTED, E.DUPLICATE_ORDER))
        resp = _text(params, "newOrderRespType") or "FULL"
        if resp not in ("ACK", "RESULT", "FULL"):
            raise E.illegal("newOrderRespType")
        side_ = Side.BUY if side == "BUY" else Side.SELL
        if stop is not None:
            triggers.check_stop(kind, side_, stop, Decimal(m.last_trade.price))
        return {"stop": stop,
            "m": m, "side": side_, "kind": kind, "tif": tif,
            "tif_text": tif_text or "GTC", "qty": qty, "quote": quote, "price": price,
            "cid": cid or random_client_id(), "resp": resp,
        }  # fmt: skip

    def place(self, params: Params) -> dict[str, Any]:
        c = self.check(params)
        self.emu.limits.count_order(now_ms())
        m = c["m"]
        extra = {"type": c["kind"], "tif": c["tif_text"], "quote": c["quote"], "stop": c["stop"]}
        if c["stop"] is not None:
            px = float(c["price"]) if c["price"] is not None else None
            info, rec = triggers.submit(self.account, m.instrument.symbol, c["side"],
                                        float(c["qty"]), px, c["tif"], c["kind"], c["stop"],
                                        c["cid"], extra)  # fmt: skip
            if rec.status is OrderStatus.REJECTED:
                raise E.refused(rec.code)
            return self.ack(info, rec, c["resp"])
        info, rec = self.account.place(
            m.instrument.symbol,
            c["side"],
            float(c["qty"] or 0),
            float(c["price"]) if c["price"] is not None else None,
            c["tif"],
            client_id=c["cid"],
            extra=extra,
            quote_qty=float(c["quote"] or 0),
        )
        if rec.status is OrderStatus.REJECTED:
            raise E.refused(rec.code)
        return self.ack(info, rec, c["resp"])

    def ack(self, info: OrderInfo, rec: SimOrder, resp: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbol": info.symbol,
            "orderId": int(info.order_id),
            "orderListId": -1,
            "clientOrderId": info.client_id,
            "transactTime": info.c_time,
        }
        if resp == "ACK":
            return out
        row = self.order_row(info, rec)
        for k in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty"):
            row.pop(k, None)
        out.update(row)
        out["transactTime"] = info.c_time
        if resp == "FULL":
            out["fills"] = [self.fill_brief(f) for f in info.fills]
        return out

    def cancel(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        info = self.find(params, m.instrument.symbol)
        rec = self.account.record(info)
        if rec is None or rec.status.is_terminal:
            raise E.BinanceError(E.CANCEL_REJECTED, E.UNKNOWN_ORDER)
        # set before the cancel: the simulator reports it (and we push it) synchronously
        info.extra["user_cancel"] = True
        info.extra["cancel_cid"] = _text(params, "newClientOrderId") or random_client_id()
        if not self.account.cancel(info):
            info.extra.pop("user_cancel", None)
            raise E.BinanceError(E.CANCEL_REJECTED, E.UNKNOWN_ORDER)
        rec = self.account.record(info)
        assert rec is not None
        row = self.order_row(info, rec)
        for k in ("time", "updateTime", "isWorking", "workingTime", "stopPrice", "icebergQty"):
            row.pop(k, None)
        row["origClientOrderId"] = info.client_id
        row["clientOrderId"] = info.extra["cancel_cid"]
        row["transactTime"] = now_ms()
        return row

    def cancel_all(self, params: Params) -> list[dict[str, Any]]:
        m = self.market(params)
        out = []
        for info, _ in self.account.orders(m.instrument.symbol, open_only=True):
            out.append(self.cancel({"symbol": info.symbol, "orderId": info.order_id}))
        if not out:
            raise E.BinanceError(E.CANCEL_REJECTED, E.UNKNOWN_ORDER)
        return out

    # -- queries --------------------------------------------------------------------------
    my_trades = AccountOrders.fill_rows

    def account_row(self, params: Params) -> dict[str, Any]:
        omit = _text(params, "omitZeroBalances") == "true"
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": e8f(mk.MAKER_FEE),
                "taker": e8f(mk.TAKER_FEE),
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now_ms(),
            "accountType": "SPOT",
            "balances": self.balances(omit_zero=omit),
            "permissions": ["SPOT"],
            "uid": 354937868,
        }

    def balances(self, assets: tuple[str, ...] = (), omit_zero: bool = False) -> list[Any]:
        bals = self.account.sim.balances()
        names = assets or tuple(sorted(set(bals) | self.emu.currencies()))
        out = []
        for a in names:
            b = bals.get(a)
            total, locked = (b.total, b.locked) if b is not None else (0.0, 0.0)
            if omit_zero and total == 0:
                continue
            out.append({"asset": a, "free": e8f(total - locked), "locked": e8f(locked)})
        return out

    # -- shapes ---------------------------------------------------------------------------
    def order_row(self, info: OrderInfo, rec: SimOrder) -> dict[str, Any]:
        inst = self.emu.instruments[info.symbol]
        x = info.extra
        quote = x.get("quote")
        return {
            "symbol": info.symbol,
            "orderId": int(info.order_id),
            "orderListId": -1,
            "clientOrderId": info.client_id,
            "price": mk.e8(inst.format_price(rec.price)) if rec.price else "0.00000000",
            "origQty": mk.e8(inst.format_qty(rec.qty)) if rec.qty else "0.00000000",
            "executedQty": mk.e8(inst.format_qty(rec.filled_qty)),
            "cummulativeQuoteQty": mk.e8(self.quote_done(info)),
            "status": self.status(info, rec),
            "timeInForce": x["tif"],
            "type": x["type"],
            "side": "BUY" if rec.side is Side.BUY else "SELL",
            "stopPrice": mk.e8(x["stop"]) if x.get("stop") is not None else "0.00000000",
            "icebergQty": "0.00000000",
            "time": info.c_time,
            "updateTime": info.u_time,
            "isWorking": True,
            "workingTime": info.c_time,
            "origQuoteOrderQty": mk.e8(quote) if quote is not None else "0.00000000",
            "selfTradePreventionMode": "NONE",
        }

    def fill_brief(self, f: Fill) -> dict[str, Any]:
        inst = self.emu.instruments[f.symbol]
        return {
            "price": mk.e8(inst.format_price(f.price)),
            "qty": mk.e8(inst.format_qty(f.qty)),
            "commission": e8f(f.fee),
            "commissionAsset": f.fee_ccy,
            "tradeId": int(f.trade_id),
        }

    def trade_row(self, info: OrderInfo, f: Fill) -> dict[str, Any]:
        inst = self.emu.instruments[f.symbol]
        px, qty = Decimal(inst.format_price(f.price)), Decimal(inst.format_qty(f.qty))
        return {
            "symbol": f.symbol,
            "id": int(f.trade_id),
            "orderId": int(info.order_id),
            "orderListId": -1,
            "price": mk.e8(px),
            "qty": mk.e8(qty),
            "quoteQty": mk.e8(px * qty),
            "commission": e8f(f.fee),
            "commissionAsset": f.fee_ccy,
            "time": f.ts // 1_000_000,
            "isBuyer": f.side is Side.BUY,
            "isMaker": f.liquidity is Liquidity.MAKER,
            "isBestMatch": True,
        }

    # -- user data events -------------------------------------------------------------------
    def execution_report(
        self, info: OrderInfo, rec: SimOrder, x: str, status: str, fill: Fill | None, cum: Decimal
    ) -> dict[str, Any]:
        inst = self.emu.instruments[info.symbol]
        row = self.order_row(info, rec)
        t = now_ms()
        canceled = x == "CANCELED"
        last_px = Decimal(inst.format_price(fill.price)) if fill else Decimal(0)
        last_qty = Decimal(inst.format_qty(fill.qty)) if fill else Decimal(0)
        n_fills = info.fills.index(fill) + 1 if fill in info.fills else len(info.fills)
        return {
            "e": "executionReport",
            "E": t,
            "s": info.symbol,
            "c": info.extra.get("cancel_cid", info.client_id) if canceled else info.client_id,
            "S": row["side"],
            "o": row["type"],
            "f": row["timeInForce"],
            "q": row["origQty"],
            "p": row["price"],
            "P": row["stopPrice"],
            "F": "0.00000000",
            "g": -1,
            "C": info.client_id if canceled else "",
            "x": x,
            "X": status,
            "r": "NONE",
            "i": int(info.order_id),
            "l": mk.e8(last_qty),
            "z": mk.e8(cum),
            "L": mk.e8(last_px),
            "n": e8f(fill.fee) if fill else "0",
            "N": fill.fee_ccy if fill else None,
            "T": fill.ts // 1_000_000 if fill else t,
            "t": int(fill.trade_id) if fill else -1,
            "I": 0,
            "w": status in ("NEW", "PARTIALLY_FILLED"),
            "m": bool(fill and fill.liquidity is Liquidity.MAKER),
            "M": False,
            "O": info.c_time,
            "Z": mk.e8(self.quote_done(info, n_fills if fill else None)),
            "Y": mk.e8(last_px * last_qty),
            "Q": row["origQuoteOrderQty"],
            "W": info.c_time,
            "V": "NONE",
        }

    def move_funds(self, asset: str, delta: float) -> None:
        """A deposit (``delta`` > 0), withdrawal or transfer out (< 0) of ``asset``: the wallet
        changes, then the user data stream gets Binance's ``balanceUpdate`` (the delta) and an
        ``outboundAccountPosition`` (the asset's new balance). More out than is free is a
        ValueError and changes nothing."""
        sim = self.account.sim.account
        if delta < 0 and -delta > sim.free(asset) + 1e-12:
            raise ValueError(f"{asset}: {-delta} wanted, {sim.free(asset)} free")
        sim.credit(asset, delta)
        t = now_ms()
        row = self.balances((asset,))[0]
        self.publish([
            {"e": "balanceUpdate", "E": t, "a": asset, "d": e8f(delta), "T": t},
            {"e": "outboundAccountPosition", "E": t, "u": t,
             "B": [{"a": asset, "f": row["free"], "l": row["locked"]}]},
        ])  # fmt: skip

    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if rep.status is OrderStatus.REJECTED or not self.user_listeners:
            return
        inst = self.emu.instruments[info.symbol]
        announce = rep.status is OrderStatus.ACCEPTED or bool(
            fills and not info.extra.get("announced")
        )
        events = [self.execution_report(info, rec, *step)
                  for step in self.steps(info, rec, rep, fills, announce)]  # fmt: skip
        if fills or rep.status.is_terminal or rep.status is OrderStatus.ACCEPTED:
            events.append(
                {
                    "e": "outboundAccountPosition",
                    "E": now_ms(),
                    "u": now_ms(),
                    "B": [
                        {"a": b["asset"], "f": b["free"], "l": b["locked"]}
                        for b in self.balances((inst.base, inst.quote))
                    ],
                }
            )
        self.publish(events)


def e8f(x: float) -> str:
    """A computed float amount in Binance's eight decimals (shortest repr, no float noise)."""
    return mk.e8(Decimal(repr(round(x, 12))))
