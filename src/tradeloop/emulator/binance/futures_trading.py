"""USD-M perpetual order entry, queries, positions and user-data events (``/fapi``).

The futures wallet is its own :class:`~tradeloop.emulator.account.SimAccount` (Binance keeps
spot and USD-M funds apart): one-way mode (``positionSide=BOTH``), cross margin by default,
leverage per symbol. An order's own fields are checked first in Binance's futures wording
(``-1102`` mandatory, ``-1116`` type, ``-4014`` off the tick, ``-4164`` below the minimum
notional unless reduce-only, ...), then the simulator decides margin and matching: its typed
refusals become ``-2019 Margin is insufficient.``, ``-2022 ReduceOnly Order is rejected.``,
``-5022`` for a GTX (post-only) order that would take.

``STOP_MARKET`` / ``TAKE_PROFIT_MARKET`` are trigger orders (``stopPrice``, last-price
triggered): they rest untriggered (``NEW``) and become market orders when a trade reaches the
level (``sim`` triggers).

Each simulator report becomes ``ORDER_TRADE_UPDATE`` events (one per fill) and, when money or
the position moved, an ``ACCOUNT_UPDATE`` with the wallet and the position, for the listenKey
connections of :class:`~.streams.FuturesHub`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance import triggers
from tradeloop.emulator.binance.account_orders import AccountOrders, Params, UserPush, _text
from tradeloop.emulator.binance.trading import _decimal, random_client_id
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.market import SymbolMarket
from tradeloop.model import Fill, Instrument, Liquidity, OrderReport, Side, TimeInForce
from tradeloop.model.enums import OrderStatus, RejectReason
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.binance.futures import FuturesSide

TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
        "GTX": TimeInForce.POST_ONLY}  # fmt: skip
#: futures conditional type -> the trigger type of :mod:`.triggers` (STOP / TAKE_PROFIT are
#: the stop-limit and take-profit-limit of futures)
TRIGGERS = {"STOP_MARKET": "STOP_MARKET", "TAKE_PROFIT_MARKET": "TAKE_PROFIT_MARKET",
            "STOP": "STOP_LOSS_LIMIT", "TAKE_PROFIT": "TAKE_PROFIT_LIMIT"}  # fmt: skip
PRICED = ("LIMIT", "STOP", "TAKE_PROFIT")
R = RejectReason
REFUSALS: dict[RejectReason, tuple[int, str]] = {
    R.INSUFFICIENT_FUNDS: (-2019, "Margin is insufficient."),
    R.REDUCE_ONLY: (-2022, "ReduceOnly Order is rejected."),
    R.POST_ONLY_WOULD_TAKE: (-5022, "Due to the order could not be executed as maker, the "
                             "Post Only order will be rejected. The order will not be "
                             "recorded in the order history"),
    R.DUPLICATE_ID: (-4116, "ClientOrderId is duplicated."),
}  # fmt: skip


def ferr(code: int, msg: str) -> E.BinanceError:
    return E.BinanceError(code, msg)


def _bool(params: Params, key: str) -> bool:
    raw = _text(params, key).lower()
    if raw not in ("", "true", "false"):
        raise E.illegal(key)
    return raw == "true"


class FuturesTrading(AccountOrders):
    """Binance USD-M semantics on the futures account (see the module docstring; lookups,
    listings and event order: :class:`~.account_orders.AccountOrders`)."""

    match_both_ids = False

    def __init__(self, side: FuturesSide, account: SimAccount) -> None:
        self.side = side
        self.account = account
        self.account.order_listeners.append(self._on_order)
        self.margin_type: dict[str, str] = {}
        self.user_listeners: list[UserPush] = []

    def markets(self) -> Mapping[str, SymbolMarket]:
        return self.side.driver.markets

    def instrument(self, symbol: str) -> Instrument:
        return self.side.instruments[symbol]

    def missing_id(self) -> E.BinanceError:
        return ferr(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both "
                           "were empty/null!")  # fmt: skip

    # -- order entry ----------------------------------------------------------------------
    def place(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        sym = m.instrument.symbol
        f = self.side.filters[sym]
        side = _text(params, "side")
        if not side:
            raise E.mandatory("side")
        if side not in ("BUY", "SELL"):
            raise ferr(-1117, "Invalid side.")
        kind = _text(params, "type")
        if not kind:
            raise E.mandatory("type")
        if kind not in fm.ORDER_TYPES:
            raise ferr(-1116, "Invalid orderType.")
        if _text(params, "positionSide") not in ("", "BOTH"):
            raise ferr(-4061, "Order's position side does not match user's setting.")
        reduce_only = _bool(params, "reduceOnly")
        close_pos = _bool(params, "closePosition")
        qty = _decimal(params, "quantity", required=not close_pos)
        price: Decimal | None = None
        tif_text = _text(params, "timeInForce")
        if kind in PRICED:
            price = _decimal(params, "price")
            if not tif_text:
                raise E.mandatory("timeInForce")
            if tif_text not in TIFS:
                raise ferr(-1115, "Invalid timeInForce.")
        elif _text(params, "price"):
            raise ferr(-1106, "Parameter 'price' sent when not required.")
        stop = _decimal(params, "stopPrice") if kind in TRIGGERS else None
        if close_pos:
            if kind not in TRIGGERS:
                raise ferr(-4136, "Target strategy invalid for orderType "
                                  f"{kind},closePosition true")  # fmt: skip
            held = self.position_qty(sym)
            if held == 0:
                raise ferr(-2022, "ReduceOnly Order is rejected.")
            qty, reduce_only = Decimal(m.instrument.format_qty(abs(held))), True
        assert qty is not None
        for p in (price, stop):
            if p is None:
                continue
            if p < f.min_price or (f.max_price and p > f.max_price):
                raise ferr(-4013 if p < f.min_price else -4016,
                           "Price less than min price." if p < f.min_price
                           else "Price greater than max price.")  # fmt: skip
            if (p - f.min_price) % f.tick:
                raise ferr(-4014, "Price not increased by tick size.")
        if qty > (f.market_max_qty if kind not in PRICED else f.max_qty):
            raise ferr(-4005, "Quantity greater than max quantity.")
        if qty < f.min_qty:
            raise ferr(-4003, "Quantity less than or equal to zero.")
        if (qty - f.min_qty) % f.step:
            raise ferr(-1111, "Precision is over the maximum defined for this asset.")
        if stop is not None:
            triggers.check_stop(TRIGGERS[kind], Side.BUY if side == "BUY" else Side.SELL, stop,
                                Decimal(m.last_trade.price), futures=True)  # fmt: skip
        ref = price if price is not None else stop or Decimal(fm.mark_price(m))
        if not reduce_only and qty * ref < f.min_notional:
            raise ferr(-4164, f"Order's notional must be no smaller than {f.min_notional} "
                              "(unless you choose reduce only).")  # fmt: skip
        if len(self.account.sim.open_orders(sym)) >= f.max_orders:
            raise ferr(-2025, "Reach max open order limit.")
        cid = self.new_client_id(params, ferr(*REFUSALS[R.DUPLICATE_ID]))
        resp = _text(params, "newOrderRespType") or "ACK"
        if resp not in ("ACK", "RESULT"):
            raise E.illegal("newOrderRespType")
        self.side.limits.count_order(now_ms())
        extra = {"type": kind, "tif": tif_text or "GTC", "reduce": reduce_only,
                 "close": close_pos, "stop": stop}  # fmt: skip
        info, rec = self._submit(m, Side.BUY if side == "BUY" else Side.SELL, qty, price,
                                 TIFS.get(tif_text, TimeInForce.GTC), reduce_only,
                                 cid or random_client_id(), extra)  # fmt: skip
        if rec.status is OrderStatus.REJECTED:
            code, msg = REFUSALS.get(rec.code, (-2010, "Order rejected."))
            raise ferr(code, msg)
        return self.order_row(info, rec, with_time=False)

    def _submit(
        self, m: SymbolMarket, side: Side, qty: Decimal, price: Decimal | None, tif: TimeInForce,
        reduce_only: bool, cid: str, extra: dict[str, Any],
    ) -> tuple[OrderInfo, SimOrder]:  # fmt: skip
        kind, stop = extra["type"], extra["stop"]
        sym = m.instrument.symbol
        if kind not in TRIGGERS:
            px = float(price) if price is not None else None
            return self.account.place(sym, side, float(qty), px, tif, reduce_only=reduce_only,
                                      client_id=cid, extra=extra)  # fmt: skip
        px = float(price) if price is not None else None
        return triggers.submit(self.account, sym, side, float(qty), px, tif, TRIGGERS[kind],
                               stop, cid, extra, reduce_only)  # fmt: skip

    def cancel(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        info = self.find(params, m.instrument.symbol)
        rec = self.account.record(info)
        if rec is None or rec.status.is_terminal:
            raise ferr(-2011, "Unknown order sent.")
        info.extra["user_cancel"] = True
        if not self.account.cancel(info):
            info.extra.pop("user_cancel", None)
            raise ferr(-2011, "Unknown order sent.")
        rec = self.account.record(info)
        assert rec is not None
        return self.order_row(info, rec, with_time=False)

    def amend(self, params: Params) -> dict[str, Any]:
        """``PUT /fapi/v1/order``: a working LIMIT order's new price and total quantity (both
        required, as Binance wants them); a crossing price matches at once."""
        m = self.market(params)
        sym = m.instrument.symbol
        f = self.side.filters[sym]
        info = self.find(params, sym)
        rec = self.account.record(info)
        if rec is None or rec.status.is_terminal:
            raise ferr(-2013, "Order does not exist.")
        if info.extra["type"] != "LIMIT" or rec.triggered:
            raise ferr(-1116, "Invalid orderType.")
        side = _text(params, "side")
        if not side:
            raise E.mandatory("side")
        if side != ("BUY" if rec.side is Side.BUY else "SELL"):
            raise ferr(-1117, "Invalid side.")
        qty, price = _decimal(params, "quantity"), _decimal(params, "price")
        assert qty is not None and price is not None
        if (price - f.min_price) % f.tick or price < f.min_price:
            raise ferr(-4014, "Price not increased by tick size.")
        if (qty - f.min_qty) % f.step or qty < f.min_qty:
            raise ferr(-1111, "Precision is over the maximum defined for this asset.")
        inst = m.instrument
        if inst.format_qty(qty) == inst.format_qty(rec.qty) and inst.format_price(
            price) == inst.format_price(rec.price):  # fmt: skip
            raise ferr(-5027, "No need to modify the order.")
        if not self.account.amend(info, float(qty), float(price)):
            code, msg = REFUSALS.get(self.account.sim.last_refusal, (-2011, "Unknown order sent."))
            raise ferr(code, msg)
        rec = self.account.record(info)
        assert rec is not None
        filled = Decimal(inst.format_qty(rec.filled_qty))
        ev = self.order_update(info, rec, "AMENDMENT", self.status(info, rec), None, filled)
        for listener in list(self.user_listeners):
            listener(ev)
        return self.order_row(info, rec, with_time=False)

    def cancel_all(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        for info, _ in self.account.orders(m.instrument.symbol, open_only=True):
            info.extra["user_cancel"] = True
            self.account.cancel(info)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    # -- queries --------------------------------------------------------------------------
    def open_order(self, params: Params) -> dict[str, Any]:
        row = self.get(params)
        if row["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise ferr(-2013, "Order does not exist.")
        return row

    user_trades = AccountOrders.fill_rows

    # -- account --------------------------------------------------------------------------
    def position_qty(self, sym: str) -> float:
        pos = self.account.sim.positions().get(sym)
        return pos.qty if pos is not None else 0.0

    def leverage(self, sym: str) -> int:
        return round(self.account.sim.leverage(sym))

    def set_leverage(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        raw = _text(params, "leverage")
        if not raw:
            raise E.mandatory("leverage")
        if not raw.isdigit() or not 1 <= int(raw) <= 125:
            raise ferr(-4028, f"Leverage {raw[:8]} is not valid")
        sym = m.instrument.symbol
        if not self.account.sim.set_leverage(sym, float(raw)):
            raise ferr(-2027, "Exceeded the maximum allowable position at current leverage.")
        return {"leverage": int(raw), "maxNotionalValue": "480000000", "symbol": sym}

    def set_margin_type(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        want = _text(params, "marginType").upper()
        if not want:
            raise E.mandatory("marginType")
        if want not in ("ISOLATED", "CROSSED"):
            raise ferr(-4044, "The margin type is not valid.")
        sym = m.instrument.symbol
        now = "ISOLATED" if self.margin_type.get(sym) == "isolated" else "CROSSED"
        if want == now:
            raise ferr(-4046, "No need to change margin type.")
        if self.position_qty(sym) != 0:
            raise ferr(-4048, "Margin type cannot be changed if there exists position.")
        if self.account.sim.open_orders(sym):
            raise ferr(-4047, "Margin type cannot be changed if there exists open orders.")
        self.margin_type[sym] = "isolated" if want == "ISOLATED" else "cross"
        return {"code": 200, "msg": "success"}

    def position_rows(self, params: Params, open_only: bool = False) -> list[dict[str, Any]]:
        """One row per symbol (v2), or only the open positions (``open_only``: v3)."""
        syms = (
            [self.market(params).instrument.symbol]
            if _text(params, "symbol")
            else list(self.side.driver.markets)
        )
        return [self.position_row(s) for s in syms if not open_only or self.position_qty(s)]

    def position_row(self, sym: str) -> dict[str, Any]:
        inst = self.side.instruments[sym]
        m = self.side.driver.markets[sym]
        pos = self.account.sim.positions().get(sym)
        qty, avg = (pos.qty, pos.avg_price) if pos is not None else (0.0, 0.0)
        mark = float(fm.mark_price(m))
        upnl = (mark - avg) * qty if qty else 0.0
        lev = self.leverage(sym)
        mt = self.margin_type.get(sym, "cross")
        notional = mark * qty
        return {
            "symbol": sym, "positionAmt": inst.format_qty(qty) if qty >= 0
            else "-" + inst.format_qty(-qty),
            "entryPrice": num(avg), "breakEvenPrice": num(avg), "markPrice": num(mark),
            "unRealizedProfit": num(upnl, 8), "liquidationPrice": "0",
            "leverage": str(lev), "maxNotionalValue": "480000000", "marginType": mt,
            "isolatedMargin": "0.00000000", "isAutoAddMargin": "false", "positionSide": "BOTH",
            "notional": num(notional, 8), "isolatedWallet": "0",
            "initialMargin": num(abs(notional) / lev, 8),
            "maintMargin": num(abs(notional) * 0.004, 8), "updateTime": now_ms(),
        }  # fmt: skip

    def wallet(self) -> tuple[float, float, float]:
        """(wallet balance, available, unrealised PnL) of the settle asset."""
        b = self.account.sim.balances().get(self.side.settle)
        total, locked = (b.total, b.locked) if b is not None else (0.0, 0.0)
        upnl = sum(float(self.position_row(s)["unRealizedProfit"]) for s in self.side.instruments)
        return total, total - locked + min(upnl, 0.0), upnl

    def balance_rows(self) -> list[dict[str, Any]]:
        """Every asset of the futures wallet, the settle asset first (with the positions'
        unrealised PnL); other assets (multi-assets margin) have none."""
        total, avail, upnl = self.wallet()
        rows = [(self.side.settle, total, avail, upnl)]
        for asset, b in sorted(self.account.sim.balances().items()):
            if asset != self.side.settle:
                rows.append((asset, b.total, b.total - b.locked, 0.0))
        return [{"accountAlias": "SgsR", "asset": a, "balance": num(t, 8),
                 "crossWalletBalance": num(t, 8), "crossUnPnl": num(u, 8),
                 "availableBalance": num(av, 8), "maxWithdrawAmount": num(av, 8),
                 "marginAvailable": True, "updateTime": now_ms()}
                for a, t, av, u in rows]  # fmt: skip

    def account_row(self, params: Params) -> dict[str, Any]:
        total, avail, upnl = self.wallet()
        a = self.side.settle
        return {
            "feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1,
            "totalInitialMargin": "0", "totalMaintMargin": "0",
            "totalWalletBalance": num(total, 8), "totalUnrealizedProfit": num(upnl, 8),
            "totalMarginBalance": num(total + upnl, 8), "availableBalance": num(avail, 8),
            "maxWithdrawAmount": num(avail, 8),
            "assets": [{"asset": a, "walletBalance": num(total, 8),
                        "unrealizedProfit": num(upnl, 8), "marginBalance": num(total + upnl, 8),
                        "availableBalance": num(avail, 8), "maxWithdrawAmount": num(avail, 8),
                        "crossWalletBalance": num(total, 8), "crossUnPnl": num(upnl, 8),
                        "marginAvailable": True, "updateTime": now_ms()}],
            "positions": self.position_rows({}),
        }  # fmt: skip

    # -- shapes ---------------------------------------------------------------------------
    def order_row(self, info: OrderInfo, rec: SimOrder, with_time: bool = True) -> dict[str, Any]:
        inst = self.side.instruments[info.symbol]
        x = info.extra
        filled = Decimal(inst.format_qty(rec.filled_qty))
        quote = self.quote_done(info)
        avg = f"{(quote / filled).quantize(Decimal('1e-8')).normalize():f}" if filled else "0"
        kind = x["type"]
        row: dict[str, Any] = {
            "orderId": int(info.order_id), "symbol": info.symbol,
            "status": self.status(info, rec), "clientOrderId": info.client_id,
            "price": inst.format_price(rec.price) if kind in PRICED and rec.price else "0",
            "avgPrice": avg, "origQty": inst.format_qty(rec.qty),
            "executedQty": f"{filled:f}", "cumQty": f"{filled:f}", "cumQuote": f"{quote:f}",
            "timeInForce": x["tif"], "type": kind, "reduceOnly": bool(x["reduce"]),
            "closePosition": bool(x["close"]), "side": "BUY" if rec.side is Side.BUY else "SELL",
            "positionSide": "BOTH",
            "stopPrice": inst.format_price(x["stop"]) if x["stop"] is not None else "0",
            "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": kind,
            "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
            "updateTime": info.u_time,
        }  # fmt: skip
        if with_time:
            row["time"] = info.c_time
        return row

    def trade_row(self, info: OrderInfo, f: Fill) -> dict[str, Any]:
        inst = self.side.instruments[f.symbol]
        px, qty = Decimal(inst.format_price(f.price)), Decimal(inst.format_qty(f.qty))
        return {"buyer": f.side is Side.BUY, "commission": num(f.fee, 8),
                "commissionAsset": f.fee_ccy, "id": int(f.trade_id),
                "maker": f.liquidity is Liquidity.MAKER, "orderId": int(info.order_id),
                "price": f"{px:f}", "qty": f"{qty:f}", "quoteQty": f"{px * qty:f}",
                "realizedPnl": "0", "side": "BUY" if f.side is Side.BUY else "SELL",
                "positionSide": "BOTH", "symbol": f.symbol,
                "time": f.ts // 1_000_000}  # fmt: skip

    # -- user data events -----------------------------------------------------------------
    def order_update(self, info: OrderInfo, rec: SimOrder, x: str, status: str,
                     fill: Fill | None, cum: Decimal) -> dict[str, Any]:  # fmt: skip
        inst = self.side.instruments[info.symbol]
        row = self.order_row(info, rec, with_time=False)
        t = now_ms()
        o = {"s": info.symbol, "c": info.client_id, "S": row["side"], "o": row["type"],
             "f": row["timeInForce"], "q": row["origQty"], "p": row["price"],
             "ap": row["avgPrice"], "sp": row["stopPrice"], "x": x, "X": status,
             "i": int(info.order_id),
             "l": inst.format_qty(fill.qty) if fill else "0", "z": inst.format_qty(cum),
             "L": inst.format_price(fill.price) if fill else "0",
             "n": num(fill.fee, 8) if fill else "0", "N": fill.fee_ccy if fill else "USDT",
             "T": fill.ts // 1_000_000 if fill else t, "t": int(fill.trade_id) if fill else 0,
             "b": "0", "a": "0", "m": bool(fill and fill.liquidity is Liquidity.MAKER),
             "R": row["reduceOnly"], "wt": "CONTRACT_PRICE", "ot": row["type"],
             "ps": "BOTH", "cp": row["closePosition"], "rp": "0", "pP": False, "si": 0,
             "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0}  # fmt: skip
        return {"e": "ORDER_TRADE_UPDATE", "T": t, "E": t, "o": o}

    def account_update(self, sym: str) -> dict[str, Any]:
        total, _, _ = self.wallet()
        p = self.position_row(sym)
        t = now_ms()
        return {"e": "ACCOUNT_UPDATE", "T": t, "E": t, "a": {
            "m": "ORDER",
            "B": [{"a": self.side.settle, "wb": num(total, 8), "cw": num(total, 8),
                   "bc": "0"}],
            "P": [{"s": sym, "pa": p["positionAmt"], "ep": p["entryPrice"],
                   "bep": p["breakEvenPrice"], "cr": "0", "up": p["unRealizedProfit"],
                   "mt": p["marginType"], "iw": "0", "ps": "BOTH"}],
        }}  # fmt: skip

    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if rep.status is OrderStatus.REJECTED or not self.user_listeners:
            return
        announce = not info.extra.get("announced")
        events = [self.order_update(info, rec, *step)
                  for step in self.steps(info, rec, rep, fills, announce)]  # fmt: skip
        if fills:  # the wallet and the position moved: before the trades, as Binance does
            events.insert(int(announce), self.account_update(info.symbol))
        self.publish(events)


def num(x: float, dp: int | None = None) -> str:
    """A computed amount as plain text (no exponent, no float noise)."""
    d = Decimal(repr(round(x, dp if dp is not None else 10)))
    s = f"{d:f}"
    return s.rstrip("0").rstrip(".") if "." in s else s
