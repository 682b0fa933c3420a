"""BitMEX order entry, order/execution/position/margin shapes and the private routes.

BitMEX checks an order's own fields (symbol, side, ``orderQty`` a multiple of ``lotSize``,
``price`` a multiple of ``tickSize``, ``ordType`` / ``timeInForce`` / ``execInst``,
``clOrdID`` unique) before its matching engine; the shared simulator decides funds,
reduce-only and matching, and its typed refusal becomes BitMEX's error through
:data:`refusal` (the kit's ``Refusals``). Unlike OKX and FTX, BitMEX answers ``POST /order``
with the order *after* matching (a market order comes back ``Filled``), and a post-only order
that would take is accepted and canceled at once ("had execInst of ParticipateDoNotInitiate").

Money is in minor units (``XBt`` satoshi, ``USDt``); the simulator keeps BTC/USDT floats and
:mod:`.contracts` converts at the edge. Every simulator report becomes ``execution`` rows
(``New``, ``Trade`` per fill, ``Canceled``, ``Replaced``), then the ``order`` row, then the
``position`` and ``margin`` rows it changed.
"""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from tradeloop.core.log import get_logger
from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.api import Refusals
from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.ledger import SatLedger
from tradeloop.emulator.bitmex.rest import (
    BitmexError,
    Handler,
    Req,
    bool_param,
    json_param,
    market_of,
    table,
)
from tradeloop.emulator.bitmex.views import ACCOUNT, BitmexViews, uuid_of
from tradeloop.emulator.limits import clip, is_multiple, positive_decimal
from tradeloop.model import (
    Fill,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
    TimeInForce,
)
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.bitmex.server import BitmexEmulator

log = get_logger(__name__)
R = RejectReason
S = OrderStatus
#: The simulator's typed refusal -> BitMEX's error (HTTP status, message).
refusal = Refusals(
    {
        R.INSUFFICIENT_FUNDS: (400, "Account has insufficient Available Balance"),
        R.INVALID_SIZE: (400, "orderQty is invalid"),
        R.INVALID_PRICE: (400, "Invalid price"),
        R.INVALID_INSTRUMENT: (404, "Instrument not listed for trading yet"),
        R.REDUCE_ONLY: (400, "Invalid execInst: ReduceOnly order would increase position"),
        R.DUPLICATE_ID: (400, "Duplicate clOrdID"),
        R.ORDER_NOT_FOUND: (404, "Not Found"),
        R.ORDER_CLOSED: (400, "Unable to cancel order due to existing state: Filled"),
    },
    (400, "Order rejected"),
)
TIF = {
    "GoodTillCancel": TimeInForce.GTC,
    "Day": TimeInForce.GTC,
    "ImmediateOrCancel": TimeInForce.IOC,
    "FillOrKill": TimeInForce.FOK,
}
POST_ONLY, REDUCE, CLOSE = "ParticipateDoNotInitiate", "ReduceOnly", "Close"
#: the orderID of a liquidation's execution (BitMEX's documented example: no order of ours)
LIQUIDATION_ORDER = "00000000-0000-0000-0000-000000000000"
KNOWN_EXEC_INST = {POST_ONLY, REDUCE, CLOSE, "LastPrice", "MarkPrice", "IndexPrice"}


class BitmexTrading(BitmexViews):
    """BitMEX semantics on top of :class:`~tradeloop.emulator.account.SimAccount`."""

    def __init__(self, emu: BitmexEmulator) -> None:
        self.emu = emu
        self.account = emu.new_account(0, fee_decimals=8)  # commission in whole satoshi
        self.account.order_listeners.append(self._on_order)
        self.account.funding_listeners.append(self._on_funding)
        self.account.trade_listeners.append(lambda m, t: emu.hub.push_trades(m, [t]))
        self.by_uuid: dict[str, str] = {}
        self.executions: list[dict[str, Any]] = []  # oldest first, trades and funding
        self.cross: dict[str, bool] = {}
        self.dead_man_at = 0.0  # epoch s; 0 = off
        self._n = 0
        deposits = {ct.UNIFIED[c]: ct.to_minor(c, v) for c, v in emu.initial.items()}
        self.ledger = SatLedger(deposits, time.time() * 1000)  # the wallet BitMEX reports

    def _next(self, kind: int) -> str:
        self._n += 1
        return uuid_of(self.emu.config.seed, self._n, kind)

    # -- orders ------------------------------------------------------------------------------
    def find(self, order_id: Any = None, cl_ord_id: Any = None) -> OrderInfo | None:
        if isinstance(order_id, str) and order_id:
            sim_id = self.by_uuid.get(order_id)
            return self.account.infos.get(sim_id) if sim_id else None
        if isinstance(cl_ord_id, str) and cl_ord_id:
            return self.account.find(client_id=cl_ord_id)
        return None

    def place(self, p: dict[str, Any]) -> dict[str, Any]:
        m = market_of(self.emu, p.get("symbol"))
        assert m is not None
        inst = m.instrument
        raw_qty = p.get("orderQty")
        neg = isinstance(raw_qty, int | float | str) and str(raw_qty).startswith("-")
        qty = positive_decimal(str(raw_qty)[1:] if neg else raw_qty)
        if qty is None:
            raise BitmexError("Invalid orderQty", 400, "ValidationError")
        side = p.get("side") or ("Sell" if neg else "Buy")
        if side not in ("Buy", "Sell") or (neg and side != "Sell"):
            raise BitmexError("Invalid side", 400, "ValidationError")
        if not is_multiple(qty, inst.lot_size):
            raise BitmexError(
                f"Order quantity must be a multiple of lot size: {inst.format_qty(inst.lot_size)}"
            )
        price: Decimal | None = None
        if p.get("price") not in (None, ""):
            price = positive_decimal(p.get("price"))
            if price is None:
                raise BitmexError("Invalid price", 400, "ValidationError")
            if not is_multiple(price, inst.tick_size):
                raise BitmexError(f"Invalid price tickSize: {inst.tick_size}")
        ord_type = p.get("ordType") or ("Limit" if price is not None else "Market")
        if ord_type not in ("Limit", "Market"):
            raise BitmexError(f"Unsupported ordType: {clip(ord_type, 32)}", 400, "ValidationError")
        if ord_type == "Limit" and price is None:
            raise BitmexError("Invalid price: a Limit order needs a price")
        if ord_type == "Market" and price is not None:
            raise BitmexError("Invalid price: Market orders take no price")
        tif_name = p.get("timeInForce") or (
            "GoodTillCancel" if ord_type == "Limit" else "ImmediateOrCancel"
        )
        if tif_name not in TIF:
            raise BitmexError(f"Invalid timeInForce: {clip(tif_name, 32)}", 400, "ValidationError")
        inst_raw = p.get("execInst") or ""
        flags = {f.strip() for f in str(inst_raw).split(",") if f.strip()}
        if not flags <= KNOWN_EXEC_INST:
            raise BitmexError(f"Invalid execInst: {clip(inst_raw, 64)}", 400, "ValidationError")
        post = POST_ONLY in flags
        if post and ord_type != "Limit":
            raise BitmexError("Invalid execInst: ParticipateDoNotInitiate needs a Limit order")
        cid = p.get("clOrdID") or ""
        if not isinstance(cid, str) or len(cid) > 36:
            raise BitmexError("Invalid clOrdID", 400, "ValidationError")
        if cid and self.account.find(client_id=cid) is not None:
            raise refusal(R.DUPLICATE_ID)
        tif = TimeInForce.POST_ONLY if post else TIF[tif_name]
        text = p.get("text") or "Submitted via API."
        extra = {
            "uuid": self._next(0),
            "ordType": ord_type,
            "timeInForce": tif_name,
            "execInst": ",".join(sorted(flags)),
            "text": clip(str(text), 128),
        }
        info, rec = self.account.place(
            inst.symbol,
            Side.BUY if side == "Buy" else Side.SELL,
            float(qty),
            float(price) if price is not None else None,
            tif,
            bool(flags & {REDUCE, CLOSE}),
            cid,
            extra,
            keep=lambda code: code is R.POST_ONLY_WOULD_TAKE,
        )
        if rec.status is S.REJECTED and rec.code is not R.POST_ONLY_WOULD_TAKE:
            raise refusal(rec.code)
        self.by_uuid[extra["uuid"]] = info.order_id
        if rec.code is R.POST_ONLY_WOULD_TAKE:
            info.extra["cancel_text"] = "Canceled: Order had execInst of ParticipateDoNotInitiate"
        return self.order_row(info, rec)

    def amend(self, p: dict[str, Any]) -> dict[str, Any]:
        info = self.find(p.get("orderID"), p.get("origClOrdID") or p.get("clOrdID"))
        if info is None:
            raise BitmexError("Invalid ordStatus", 400)  # what BitMEX says for unknown ids
        inst = self.inst(info.symbol)
        qty = positive_decimal(p["orderQty"]) if p.get("orderQty") not in (None, "") else None
        px = positive_decimal(p["price"]) if p.get("price") not in (None, "") else None
        leaves = positive_decimal(p["leavesQty"]) if p.get("leavesQty") not in (None, "") else None
        if (p.get("orderQty") not in (None, "") and qty is None) or (
            p.get("price") not in (None, "") and px is None
        ):
            raise BitmexError("Invalid amend values", 400, "ValidationError")
        rec = self.account.record(info)
        assert rec is not None
        if leaves is not None and qty is None:
            qty = leaves + Decimal(repr(rec.filled_qty))
        if qty is not None and not is_multiple(qty, inst.lot_size):
            raise BitmexError("Order quantity must be a multiple of lot size")
        if px is not None and not is_multiple(px, inst.tick_size):
            raise BitmexError(f"Invalid price tickSize: {inst.tick_size}")
        if not self.account.amend(info, float(qty) if qty else None, float(px) if px else None):
            code = self.account.sim.last_refusal
            if code in (R.ORDER_CLOSED, R.ORDER_NOT_FOUND):
                raise BitmexError("Invalid ordStatus", 400)
            raise refusal(code)
        rec = self.account.record(info)
        assert rec is not None
        return self.order_row(info, rec)

    def cancel(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        """``DELETE /order``: one row per id named (BitMEX answers with an array); an id it
        cannot cancel comes back with ``error`` set instead of failing the whole request."""
        ids: list[tuple[str | None, str | None]] = [(i, None) for i in _ids(p.get("orderID"))]
        ids += [(None, c) for c in _ids(p.get("clOrdID"))]
        if not ids:
            raise BitmexError(
                "At least one of orderID or clOrdID must be provided", 400, "ValidationError"
            )
        out = []
        for oid, cid in ids:
            info = self.find(oid, cid)
            if info is None:
                if len(ids) == 1:
                    raise BitmexError("Not Found", 404)
                continue
            rec = self.account.record(info)
            assert rec is not None
            if not rec.status.is_terminal:
                info.extra["cancel_text"] = str(p.get("text") or "Canceled: Canceled via API.")
                self.account.cancel(info)
                rec = self.account.record(info)
                assert rec is not None
                row = self.order_row(info, rec)
            else:
                row = self.order_row(info, rec)
                row["error"] = f"Unable to cancel order due to existing state: {row['ordStatus']}"
            out.append(row)
        return out

    def cancel_all(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        sym = p.get("symbol") or ""
        if sym:
            market_of(self.emu, sym)
        flt = json_param(p, "filter") or {}
        out = []
        for info, rec in self.account.orders(sym, open_only=True):
            if isinstance(flt, dict) and flt.get("side") not in (None, rec.side.value.title()):
                continue
            info.extra["cancel_text"] = str(p.get("text") or "Canceled: Cancel all via API.")
            self.account.cancel(info)
            new = self.account.record(info)
            assert new is not None
            out.append(self.order_row(info, new))
        return out

    def cancel_all_after(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = p.get("timeout")
        try:
            ms = int(str(raw))
        except ValueError:
            raise BitmexError("Invalid timeout", 400, "ValidationError") from None
        now = time.time()
        if ms <= 0:
            if self.dead_man_at:
                log.info("dead-man switch off")
            self.dead_man_at = 0.0
            return {}
        if not self.dead_man_at:
            log.info("dead-man switch armed: %d ms", ms)
        self.dead_man_at = now + ms / 1000
        return {"now": ct.iso(now * 1000), "cancelTime": ct.iso(self.dead_man_at * 1000)}

    def check_dead_man(self, now: float) -> int:
        if self.dead_man_at and now >= self.dead_man_at:
            self.dead_man_at = 0.0
            n = 0
            for info, _ in self.account.orders(open_only=True):
                info.extra["cancel_text"] = "Canceled: Cancel-all after timeout triggered"
                n += self.account.cancel(info)
            log.warning("dead-man switch ran out: %d orders canceled", n)
            return n
        return 0

    def orders(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        sym = p.get("symbol") or ""
        flt = json_param(p, "filter")
        open_only = isinstance(flt, dict) and flt.get("open") is True
        rows = [self.order_row(i, r) for i, r in self.account.orders(sym, open_only)][::-1]
        if isinstance(flt, dict):
            p = {**p, "filter": {k: v for k, v in flt.items() if k != "open"}}
        return table(rows, p)

    def trade_history(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        sym = p.get("symbol") or ""
        rows = [r for r in self.executions if not sym or r["symbol"] == sym]
        return table(rows, p)

    # -- positions ---------------------------------------------------------------------------
    def positions(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        # BitMEX keeps a row for every symbol traded or configured (leverage, isolation),
        # flat ones included (``currentQty`` 0)
        held = self.account.sim.positions()
        known = held.keys() | self.cross.keys() | self.ledger.holdings.keys()
        rows = [self.position_row(s) for s in self.emu.instruments if s in known]
        return table(rows, p)

    def leverage(self, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /position/leverage``: 0.01-100 isolates the position at that leverage, 0
        makes it cross (shown at the maximum leverage, 1 / the instrument's initial margin).
        A leverage whose margin the available balance cannot cover is refused, nothing
        changed."""
        m = market_of(self.emu, p.get("symbol"))
        assert m is not None
        sym = m.instrument.symbol
        raw = p.get("leverage")
        lev = Decimal(0) if raw in (0, "0") else positive_decimal(raw)
        if lev is None or lev > 100 or Decimal(0) < lev < Decimal("0.01"):
            raise BitmexError("Invalid leverage", 400, "ValidationError")
        if lev == 0:
            return self._margin_mode(sym, cross=True)
        return self._margin_mode(sym, cross=False, leverage=float(lev))

    def isolate(self, p: dict[str, Any]) -> dict[str, Any]:
        """``POST /position/isolate``: ``enabled`` (default true) isolates the position at the
        leverage it shows (a cross position: the maximum), false makes it cross."""
        m = market_of(self.emu, p.get("symbol"))
        assert m is not None
        sym = m.instrument.symbol
        return self._margin_mode(sym, cross=not bool_param(p, "enabled", True))

    def _margin_mode(self, sym: str, cross: bool, leverage: float | None = None) -> dict[str, Any]:
        sim = self.account.sim
        target = 1.0 / ct.SPECS[sym].init if cross else leverage
        if target is not None and target != sim.leverage(sym) and not sim.set_leverage(sym, target):
            # BitMEX names what the new margin needs (the isolated margin and the reserved
            # fee to close): "Account has insufficient Available Balance, N XBt required"
            held, inst = self.ledger.holding(sym), self.inst(sym)
            need = round(Fraction(held.cost) / ct.exact(target) + ct.exact(inst.taker_fee)
                         * held.cost)  # fmt: skip
            raise BitmexError(
                f"Account has insufficient Available Balance, {need} {ct.settl_code(inst)} required"
            )
        changed = self.cross.get(sym, False) != cross or target is not None
        self.cross[sym] = cross
        row = self.position_row(sym)
        if changed:
            self.emu.hub.push_private("position", "update", [row])
        return row

    # -- pushes ------------------------------------------------------------------------------
    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if rep.status is S.REJECTED and rep.code is not R.POST_ONLY_WOULD_TAKE:
            return  # never existed at BitMEX
        hub = self.emu.hub
        rows = []
        if not info.extra.get("pushed"):  # the first news of an order: its New execution
            info.extra["pushed"] = True
            rows.append(self.exec_row(info, rec, "New"))
            hub.push_private("order", "insert", [self.order_row(info, rec)])
        inst = self.inst(info.symbol)
        for f in fills:
            row = self.exec_row(info, rec, "Trade", f)
            self.ledger.execution(inst, f.side is Side.BUY, f.qty, f.price, row["execComm"],
                                  row["execID"], f.ts // 1_000_000)  # fmt: skip
            self.executions.append(row)
            rows.append(row)
        if rep.status in (S.CANCELED, S.EXPIRED) or rep.code is R.POST_ONLY_WOULD_TAKE:
            rows.append(self.exec_row(info, rec, "Canceled"))
        elif rep.reason.startswith("amended"):
            rows.append(self.exec_row(info, rec, "Replaced"))
        if rows:
            hub.push_private("execution", "insert", rows)
        hub.push_private("order", "update", [self.order_row(info, rec)])
        if fills:
            self._push_money(info.symbol)

    def _push_money(self, symbol: str) -> None:
        ccy, hub = self.inst(symbol).settle, self.emu.hub
        hub.push_private("position", "update", [self.position_row(symbol)])
        hub.push_private("margin", "update", [self.margin_row(ccy)])
        hub.push_private("wallet", "update", [self.wallet_row(ccy)])

    def on_liquidation(self, fill: Fill) -> None:
        """The position was closed at its bankruptcy price: BitMEX reports that as a
        ``Trade`` execution of an ImmediateOrCancel ``Limit`` order with no clOrdID, the text
        ``Liquidation`` and a trade it does not publish (its documented execution example),
        and books it like any other execution."""
        inst = self.inst(fill.symbol)
        buy = fill.side is Side.BUY
        q, px = ct.exact(fill.qty), ct.exact(fill.price)
        sat = ct.value_minor(inst, q, px)
        exec_id, comm = self._next(1), ct.to_minor(inst.settle, fill.fee)
        qty = ct.num(inst.format_qty(fill.qty))
        home = float(q / px if inst.inverse else q * ct.exact(inst.contract_value))
        foreign = float(q if inst.inverse else q * ct.exact(inst.contract_value) * px)
        row: dict[str, Any] = {
            "execID": exec_id,
            "orderID": LIQUIDATION_ORDER,
            "clOrdID": "",
            "clOrdLinkID": "",
            "account": ACCOUNT,
            "symbol": fill.symbol,
            "side": "Buy" if buy else "Sell",
            "lastQty": qty,
            "lastPx": fill.price,
            "lastLiquidityInd": "RemovedLiquidity",
            "orderQty": qty,
            "price": fill.price,
            "currency": inst.quote,
            "settlCurrency": ct.settl_code(inst),
            "execType": "Trade",
            "ordType": "Limit",
            "timeInForce": "ImmediateOrCancel",
            "execInst": "",
            "ordStatus": "Filled",
            "workingIndicator": False,
            "leavesQty": 0,
            "cumQty": qty,
            "avgPx": fill.price,
            "commission": inst.taker_fee,
            "tradePublishIndicator": "DoNotPublishTrade",
            "text": "Liquidation",
            "trdMatchID": uuid_of(self.emu.config.seed, self._n, 3),
            "execCost": sat * (-1 if buy == inst.inverse else 1),
            "execComm": comm,
            "homeNotional": home * (1 if buy else -1),
            "foreignNotional": foreign * (-1 if buy else 1),
            "transactTime": ct.iso(fill.ts // 1_000_000),
            "timestamp": ct.iso(fill.ts // 1_000_000),
        }
        self.ledger.execution(inst, buy, fill.qty, fill.price, comm, exec_id, fill.ts // 1_000_000)
        self.executions.append(row)
        self.emu.hub.push_private("execution", "insert", [row])
        self._push_money(fill.symbol)

    def _on_funding(self, symbol: str, paid: float) -> None:
        inst = self.inst(symbol)
        pos = self.account.sim.positions().get(symbol)
        qty = pos.qty if pos else 0.0
        now = time.time() * 1000
        exec_id, paid_minor = self._next(1), ct.to_minor(inst.settle, paid)
        row = {
            "execID": exec_id,
            "orderID": "00000000-0000-0000-0000-000000000000",
            "clOrdID": "",
            "account": ACCOUNT,
            "symbol": symbol,
            "side": "Sell" if qty > 0 else "Buy",
            "lastQty": abs(qty),
            "lastPx": self.mark(symbol),
            "execType": "Funding",
            "ordType": "Funding",
            "ordStatus": "Filled",
            "leavesQty": 0,
            "cumQty": abs(qty),
            "commission": self.emu.funding_rate(symbol),
            "currency": inst.quote,
            "settlCurrency": ct.settl_code(inst),
            "execCost": 0,
            "execComm": paid_minor,
            "text": "Funding",
            "transactTime": ct.iso(now),
            "timestamp": ct.iso(now),
        }
        self.ledger.funding(inst, paid_minor, exec_id, now)
        self.executions.append(row)
        self.emu.hub.push_private("execution", "insert", [row])
        self._push_money(symbol)


def _ids(raw: Any) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, list):
        return [str(x) for x in raw][:100]
    text = str(raw)
    if text.startswith("["):
        try:
            v = __import__("json").loads(text)
            return [str(x) for x in v][:100] if isinstance(v, list) else [text]
        except ValueError:
            return [text]
    return [s for s in text.split(",") if s][:100]


def _t(emu: BitmexEmulator) -> BitmexTrading:
    return emu.trading


PRIVATE: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/v1/order", lambda e, r: _t(e).orders(r.params), True),
    ("POST", "/api/v1/order", lambda e, r: _order_write(e, r, "place"), True),
    ("PUT", "/api/v1/order", lambda e, r: _order_write(e, r, "amend"), True),
    ("DELETE", "/api/v1/order", lambda e, r: _t(e).cancel(r.params), True),
    ("DELETE", "/api/v1/order/all", lambda e, r: _t(e).cancel_all(r.params), True),
    ("POST", "/api/v1/order/cancelAllAfter", lambda e, r: _t(e).cancel_all_after(r.params), True),
    ("GET", "/api/v1/position", lambda e, r: _t(e).positions(r.params), True),
    ("POST", "/api/v1/position/leverage", lambda e, r: _order_write(e, r, "leverage"), True),
    ("POST", "/api/v1/position/isolate", lambda e, r: _order_write(e, r, "isolate"), True),
    ("GET", "/api/v1/user/margin", lambda e, r: _margin(e, r), True),
    ("GET", "/api/v1/user/wallet", lambda e, r: _wallet(e, r), True),
    ("GET", "/api/v1/user/walletHistory", lambda e, r: _wallet_history(e, r), True),
    ("GET", "/api/v1/execution/tradeHistory", lambda e, r: _t(e).trade_history(r.params), True),
    ("GET", "/api/v1/execution", lambda e, r: _t(e).trade_history(r.params), True),
]


def _order_write(emu: BitmexEmulator, req: Req, what: str) -> Any:
    if "order" not in emu.config.key_permissions:
        raise BitmexError("Access Denied", 403)
    return getattr(_t(emu), what)(req.params)


def _margin(emu: BitmexEmulator, req: Req) -> Any:
    which = req.params.get("currency", "XBt")
    rows = [_t(emu).margin_row(c) for c in _t(emu).currencies(which)]
    return rows if which == "all" else (rows[0] if rows else {})


def _wallet_history(emu: BitmexEmulator, req: Req) -> Any:
    """Newest first (booking order), as BitMEX answers; ``currency`` (default XBt, or
    ``all``), ``start``, ``count`` (default 10000, as the swagger says; at most 1000 a page)."""
    ledger = _t(emu).ledger
    books = [ledger.wallet(ct.UNIFIED[c]).history for c in _t(emu).currencies(
        req.params.get("currency", "XBt"))]  # fmt: skip
    rows = [r for hist in books for r in hist]
    if len(books) > 1:
        rows.sort(key=lambda r: r["transactTime"])  # stable: each currency keeps its order
    params = {k: v for k, v in req.params.items() if k in ("start", "count")}
    return table(rows[::-1], params, "transactTime", default_count=10_000)


def _wallet(emu: BitmexEmulator, req: Req) -> Any:
    which = req.params.get("currency", "XBt")
    rows = [_t(emu).wallet_row(c) for c in _t(emu).currencies(which)]
    return rows if which == "all" else (rows[0] if rows else {})
