"""What Binance spot and USD-M trading share over one simulated account.

Spot (:mod:`.trading`) and USD-M (:mod:`.futures_trading`) differ in their order fields, their
checks and their user data events, but not in how an order is found (``orderId`` or
``origClientOrderId``), which status word it has, how ``allOrders`` / ``myTrades`` /
``userTrades`` window and page their rows, or in which order an order's events are told
(``NEW`` once, one ``TRADE`` per fill with the cumulative quantity stepping up, then
``CANCELED``/``EXPIRED``). :class:`AccountOrders` holds that once; a subclass says which
markets and instruments are its own and how its rows and events look.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.market import SymbolMarket
from tradeloop.model import Fill, Instrument, OrderReport
from tradeloop.model.enums import OrderStatus
from tradeloop.sim.records import SimOrder

Params = Mapping[str, Any]
_CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
UserPush = Callable[[dict[str, Any]], None]
#: one event of an order's story: (execution type, order status, the fill, cumulative qty)
Step = tuple[str, str, Fill | None, Decimal]
S = OrderStatus
_STATUS = {
    S.SUBMITTED: "NEW",
    S.ACCEPTED: "NEW",
    S.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    S.PENDING_CANCEL: "NEW",
    S.PENDING_AMEND: "NEW",
    S.FILLED: "FILLED",
    S.EXPIRED: "EXPIRED",
    S.REJECTED: "REJECTED",
}


def _text(params: Params, key: str) -> str:
    v = params.get(key)
    if v is None or isinstance(v, bool):
        return ""
    return v if isinstance(v, str) else str(v)


def market_of(markets: Mapping[str, SymbolMarket], params: Params) -> SymbolMarket:
    """The market ``symbol`` names (spot or futures side), or Binance's refusal."""
    sym = _text(params, "symbol")
    if not sym:
        raise E.mandatory("symbol")
    m = markets.get(sym.upper()) if sym.isalnum() else None
    if m is None:
        raise E.bad_symbol()
    return m


def _window(params: Params, default: int, cap: int) -> tuple[int, int, int]:
    vals = []
    for key in ("startTime", "endTime", "limit"):
        t = _text(params, key)
        if t and not t.isdigit():
            raise E.illegal(key)
        vals.append(int(t) if t else None)
    start, end, limit = vals
    return start or 0, end if end is not None else 2**62, min(limit or default, cap)


class AccountOrders:
    """Lookups, listings and event order over :attr:`account` (module docstring)."""

    account: SimAccount
    #: receivers of user data events
    user_listeners: list[UserPush]
    #: spot refuses an ``orderId`` and ``origClientOrderId`` that name different orders;
    #: USD-M goes by ``orderId``
    match_both_ids = True

    # -- what a side says -----------------------------------------------------------------
    def markets(self) -> Mapping[str, SymbolMarket]:
        raise NotImplementedError

    def instrument(self, symbol: str) -> Instrument:
        raise NotImplementedError

    def missing_id(self) -> E.BinanceError:
        """The refusal of a lookup naming neither id."""
        return E.mandatory("orderId")

    def order_row(self, info: OrderInfo, rec: SimOrder) -> dict[str, Any]:
        raise NotImplementedError

    def trade_row(self, info: OrderInfo, f: Fill) -> dict[str, Any]:
        raise NotImplementedError

    # -- lookups --------------------------------------------------------------------------
    def market(self, params: Params) -> SymbolMarket:
        return market_of(self.markets(), params)

    def find(self, params: Params, symbol: str) -> OrderInfo:
        oid, cid = _text(params, "orderId"), _text(params, "origClientOrderId")
        if not oid and not cid:
            raise self.missing_id()
        if oid and not oid.isdigit():
            raise E.illegal("orderId")
        info = self.account.find(oid, "" if oid else cid)
        mismatch = self.match_both_ids and oid and cid and info and info.client_id != cid
        if info is None or info.symbol != symbol or mismatch:
            raise E.no_such_order()
        return info

    def new_client_id(self, params: Params, duplicate: E.BinanceError) -> str:
        """A new order's ``newClientOrderId`` ("" when none): Binance's characters, and not
        the id of an order still open (``duplicate``: spot's and USD-M's words for that)."""
        cid = _text(params, "newClientOrderId")
        if cid and not _CLIENT_ID.fullmatch(cid):
            raise E.illegal("newClientOrderId")
        if cid:
            old = self.account.find(client_id=cid)
            rec = self.account.record(old) if old is not None else None
            if rec is not None and not rec.status.is_terminal:
                raise duplicate
        return cid

    def status(self, info: OrderInfo, rec: SimOrder) -> str:
        if rec.status is OrderStatus.CANCELED:
            return "CANCELED" if info.extra.get("user_cancel") else "EXPIRED"
        return _STATUS.get(rec.status, "NEW")

    def quote_done(self, info: OrderInfo, upto: int | None = None) -> Decimal:
        """The quote traded so far (of the first ``upto`` fills), from wire-rounded fills."""
        inst = self.instrument(info.symbol)
        fills = info.fills if upto is None else info.fills[:upto]
        return sum(
            (Decimal(inst.format_price(f.price)) * Decimal(inst.format_qty(f.qty)) for f in fills),
            Decimal(0),
        )

    # -- queries --------------------------------------------------------------------------
    def get(self, params: Params) -> dict[str, Any]:
        m = self.market(params)
        info = self.find(params, m.instrument.symbol)
        rec = self.account.record(info)
        if rec is None:
            raise E.no_such_order()
        return self.order_row(info, rec)

    def open_orders(self, params: Params) -> list[dict[str, Any]]:
        sym = self.market(params).instrument.symbol if _text(params, "symbol") else ""
        found = self.account.orders(sym, open_only=True)
        return [self.order_row(i, r) for i, r in reversed(found)]

    def all_orders(self, params: Params) -> list[dict[str, Any]]:
        sym = self.market(params).instrument.symbol
        start, end, limit = _window(params, 500, 1000)
        from_id = int(_text(params, "orderId") or 0)
        rows = [
            self.order_row(i, r)
            for i, r in reversed(self.account.orders(sym))
            if start <= i.c_time <= end and int(i.order_id) >= from_id
        ]
        return rows[:limit] if from_id or start else rows[-limit:]

    def fill_rows(self, params: Params) -> list[dict[str, Any]]:
        """``myTrades`` (spot) / ``userTrades`` (USD-M)."""
        sym = self.market(params).instrument.symbol
        start, end, limit = _window(params, 500, 1000)
        oid = _text(params, "orderId")
        from_id = int(_text(params, "fromId") or 0)
        rows = [
            self.trade_row(i, f)
            for i, f in reversed(self.account.fills(sym, oid))
            if start <= f.ts // 1_000_000 <= end and int(f.trade_id) >= from_id
        ]
        return rows[:limit] if from_id or start else rows[-limit:]

    # -- user data events -----------------------------------------------------------------
    def steps(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill], announce: bool
    ) -> list[Step]:
        """One simulator report as the order's events: ``NEW`` when ``announce`` (it marks
        the order announced), a ``TRADE`` per fill with the cumulative quantity stepping up
        (the last one carrying the final status), the end when canceled or expired."""
        inst = self.instrument(info.symbol)
        final = self.status(info, rec)
        cum = Decimal(inst.format_qty(rep.filled_qty)) - sum(
            (Decimal(inst.format_qty(f.qty)) for f in fills), Decimal(0)
        )
        out: list[Step] = [("NEW", "NEW", None, cum)] if announce else []
        info.extra["announced"] = True
        for k, f in enumerate(fills):
            cum += Decimal(inst.format_qty(f.qty))
            last = k == len(fills) - 1
            st = final if last and final in ("FILLED", "PARTIALLY_FILLED") else "PARTIALLY_FILLED"
            out.append(("TRADE", st, f, cum))
        if final in ("CANCELED", "EXPIRED"):
            out.append((final, final, None, cum))
        return out

    def publish(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            for listener in list(self.user_listeners):
                listener(ev)
