"""OKX order entry and account queries over the simulated account, shared by REST and WS.

Validation mirrors OKX's per-order ``sCode`` checks (instrument, enum params, tick/lot/min,
clOrdId rules) before the simulator sees the order; the simulator then decides funds, matching
and fills. Every simulator report becomes ``orders`` pushes (one per fill), followed by an
``account`` push and, for swaps, a ``positions`` push; fills also push ``balance_and_position``
(``eventType`` ``filled``). A funding settlement writes its bill (:mod:`.bills`) before it
pushes ``balance_and_position`` (``funding_fee``), ``account`` and ``positions``: a client
told by the push finds the bill already there.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.funding_clock import period_ms, settle_on_boundaries
from tradeloop.emulator.market import PublicTrade, SymbolMarket
from tradeloop.emulator.okx import render
from tradeloop.emulator.okx.account_views import AccountViews
from tradeloop.emulator.okx.algo import OkxAlgo
from tradeloop.emulator.okx.bills import BillBook
from tradeloop.emulator.okx.errors import PARAM_ORDER, REJECT_CODES, OrderError, message
from tradeloop.emulator.okx.limits import CL_ORD_ID, clip, is_multiple, wire_decimal
from tradeloop.emulator.okx.views import num
from tradeloop.model import (
    Fill,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from tradeloop.model.instrument import Instrument
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

log = logging.getLogger(__name__)

S = OrderStatus
ORD_TYPES: dict[str, tuple[OrderType, TimeInForce]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "market": (OrderType.MARKET, TimeInForce.GTC),
    "post_only": (OrderType.LIMIT, TimeInForce.POST_ONLY),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
    "optimal_limit_ioc": (OrderType.MARKET, TimeInForce.IOC),
}


def _item(info_or_ids: tuple[str, str, str], code: str = "0", msg: str = "") -> dict[str, str]:
    ord_id, cl_ord_id, tag = info_or_ids
    return {  # echoes are clipped: a refused clOrdId may be any size
        "clOrdId": clip(cl_ord_id, 64),
        "ordId": clip(ord_id, 64),
        "tag": clip(tag, 64),
        "ts": str(now_ms()),
        "sCode": code,
        "sMsg": msg,
    }


def batch_code(items: list[dict[str, Any]]) -> tuple[str, str]:
    """OKX's top-level code for per-item results: 0 all ok, 1 all failed, 2 partial."""
    failed = sum(1 for i in items if i.get("sCode") != "0")
    if failed == 0:
        return "0", ""
    if failed == len(items):
        return "1", message("1")
    return "2", message("2")


class OkxTrading:
    """OKX semantics on top of :class:`SimAccount`."""

    def __init__(self, emu: OkxEmulator) -> None:
        self.emu = emu
        self.account = emu.new_account(2_000_000_000_000_000_000 + emu.config.seed * 1_000_000_000)
        self.account.order_listeners.append(self._on_order)
        self.account.funding_listeners.append(self._on_funding)
        self.account.trade_listeners.append(self._on_user_trade)
        self.mgn_mode: dict[str, str] = {
            s: "cross" for s, i in emu.instruments.items() if i.is_derivative
        }
        self.views = AccountViews(emu, self.account, self.mgn_mode)
        self.bills = BillBook()
        self._amend_req: dict[str, str] = {}
        self.algo = OkxAlgo(self)
        interval_ms = self.funding_interval_ms()
        if interval_ms:
            for m in emu.driver.markets.values():
                m.funding_interval_ms = interval_ms  # the funding-rate views advertise it

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self.funding_interval_ms() > 0:
            # on the epoch-aligned boundaries ``public/funding-rate`` advertises
            loop = settle_on_boundaries(self.funding_interval_ms(),
                                        lambda _due: self.settle_funding(), "okx")  # fmt: skip
            self.emu.spawn(loop, "okx-funding")
        if self.emu.config.private_push_interval_s > 0:
            self.emu.spawn(self._periodic_push(), "okx-private-push")

    async def _periodic_push(self) -> None:
        """OKX also pushes ``account`` and ``positions`` on a timer (mark-to-market)."""
        while True:
            await asyncio.sleep(self.emu.config.private_push_interval_s)
            self._push_account()
            for sym, pos in self.account.sim.positions().items():
                if pos.qty:
                    self._push_position(sym)

    async def stop(self) -> None:
        return None

    def funding_interval_ms(self) -> int:
        return period_ms(self.emu.config.funding_interval_s)

    def settle_funding(self) -> None:
        """Charge/credit funding on every swap position at the current mid, now (the timer
        calls this on each funding boundary; tests may call it directly)."""
        for sym, inst in self.emu.instruments.items():
            if inst.is_derivative and self.account.sim.positions().get(sym):
                m = self.emu.driver.markets[sym]
                self.account.settle_funding(sym, self.emu.funding_rate(sym), m.mid())

    # -- helpers -------------------------------------------------------------------------
    def inst(self, inst_id: str) -> Instrument:
        if not inst_id:
            raise OrderError("51000", "", "instId")
        inst = self.emu.instruments.get(inst_id)
        if inst is None:
            raise OrderError("51001")
        return inst

    def lever(self, inst: Instrument) -> str:
        return num(self.account.sim.leverage(inst.symbol), 2) if inst.is_derivative else ""

    def inst_id(self, args: dict[str, Any]) -> str:
        """``instId``, or the instrument named by ``instIdCode`` (what ccxt sends when
        instruments carry codes)."""
        inst_id = str(args.get("instId") or "")
        code = args.get("instIdCode")
        if not inst_id and code not in (None, ""):
            inst_id = self.emu.codes.get(str(code), "")
            if not inst_id:
                raise OrderError("51001")
        return inst_id

    def find(self, args: dict[str, Any]) -> OrderInfo | None:
        ord_id, cl = str(args.get("ordId") or ""), str(args.get("clOrdId") or "")
        info = self.account.find(ord_id, "" if ord_id else cl)
        if info is not None and info.symbol != self.inst_id(args):
            return None
        return info

    def rows_for(self, info: OrderInfo) -> dict[str, Any] | None:
        rec = self.account.record(info)
        if rec is None:
            return None
        inst = self.emu.instruments[info.symbol]
        child = self.algo.child_fields(info)
        if child is not None and not rec.triggered:
            return None  # an untriggered algo order is not an order (yet)
        row = render.order_row(info, rec, inst, self.lever(inst))
        return row if child is None else {**row, **child}

    # -- place ---------------------------------------------------------------------------
    def place(self, args: dict[str, Any]) -> dict[str, str]:
        cl = str(args.get("clOrdId") or "")
        tag = str(args.get("tag") or "")
        try:
            return self._place(args, cl, tag)
        except OrderError as err:
            return _item(("", cl, tag), err.code, err.msg)

    def _place(self, a: dict[str, Any], cl: str, tag: str) -> dict[str, str]:
        inst = self.inst(self.inst_id(a))
        side_s = str(a.get("side") or "")
        if side_s not in ("buy", "sell"):
            raise OrderError("51000", "", "side")
        ord_type = str(a.get("ordType") or "")
        if ord_type not in ORD_TYPES or (
            ord_type == "optimal_limit_ioc" and not inst.is_derivative
        ):
            raise OrderError("51000", "", "ordType")
        td = str(a.get("tdMode") or "")
        if td not in (
            ("cross", "isolated")
            if inst.is_derivative
            else ("cash", "cross", "isolated", "spot_isolated")
        ):
            raise OrderError("51000", "", "tdMode")
        pos_side = str(a.get("posSide") or "")
        if pos_side not in ("", "net"):
            raise OrderError("51000", "", "posSide")
        if cl and not CL_ORD_ID.fullmatch(cl):
            raise OrderError("51000", "", "clOrdId")
        if len(tag) > 16:
            raise OrderError("51000", "", "tag")
        if cl and self.account.find(client_id=cl) is not None:
            raise OrderError("51016")
        otype, tif = ORD_TYPES[ord_type]
        sz = wire_decimal(a.get("sz"), "sz")
        tgt = str(a.get("tgtCcy") or "")
        if tgt not in ("", "base_ccy", "quote_ccy") or (tgt and inst.is_derivative):
            raise OrderError("51000", "", "tgtCcy")
        quote_sized = (
            otype is OrderType.MARKET
            and not inst.is_derivative
            and side_s == "buy"
            and tgt in ("", "quote_ccy")
        )
        if not inst.is_derivative and side_s == "sell" and tgt == "quote_ccy":
            raise OrderError("51000", "", "tgtCcy")
        px_s = ""
        price = 0.0
        if otype is OrderType.LIMIT:
            px = wire_decimal(a.get("px"), "px")
            if not is_multiple(px, inst.tick_size):
                raise OrderError("51000", "", "px")
            px_s, price = str(a.get("px")), float(px)
        if not quote_sized:
            if not is_multiple(sz, inst.lot_size):
                raise OrderError("51121")
            if sz < Decimal(repr(inst.min_size)):
                raise OrderError("51020")
        reduce_only = str(a.get("reduceOnly", "")).lower() == "true"
        if not inst.is_derivative and td == "cash":
            reduce_only = False
        extra = {
            "ordType": ord_type,
            "tdMode": td,
            "tag": tag,
            "sz": str(a.get("sz")),
            "px": px_s,
            "posSide": ("net" if inst.is_derivative else ""),
            "tgtCcy": tgt,
        }
        if inst.is_derivative:
            self.mgn_mode[inst.symbol] = td
        post_only = RejectReason.POST_ONLY_WOULD_TAKE
        attached = self.algo.attached(a.get("attachAlgoOrds"), inst, Side(side_s))
        info, rec = self.account.place(
            inst.symbol, Side(side_s), 0.0 if quote_sized else float(sz),
            price if otype is OrderType.LIMIT else None, tif, reduce_only, cl, extra,
            quote_qty=float(sz) if quote_sized else 0.0,
            keep=lambda code: code is post_only,  # OKX accepts it, then cancels it
            attached=attached,
        )  # fmt: skip
        if attached is not None and rec.status is S.REJECTED:
            self.account.infos.pop(attached.client_order_id, None)
        if rec.status is S.REJECTED and rec.code is not post_only:
            raise OrderError(*REJECT_CODES.get(rec.code, PARAM_ORDER))
        return _item((info.order_id, cl, tag))

    # -- cancel / amend ------------------------------------------------------------------
    def cancel(self, a: dict[str, Any]) -> dict[str, str]:
        ord_id, cl = str(a.get("ordId") or ""), str(a.get("clOrdId") or "")
        try:
            self.inst(self.inst_id(a))
            if not ord_id and not cl:
                raise OrderError("51000", "", "ordId")
            info = self.find(a)
            if info is None:
                raise OrderError("51400")
            info.extra["cancelSource"] = "1"
            if not self.account.cancel(info):
                raise OrderError("51400")
            return {
                "clOrdId": info.client_id,
                "ordId": info.order_id,
                "ts": str(now_ms()),
                "sCode": "0",
                "sMsg": "",
            }
        except OrderError as err:
            return {
                "clOrdId": clip(cl, 64),
                "ordId": clip(ord_id, 64),
                "ts": str(now_ms()),
                "sCode": err.code,
                "sMsg": err.msg,
            }

    def amend(self, a: dict[str, Any]) -> dict[str, str]:
        ord_id, cl = str(a.get("ordId") or ""), str(a.get("clOrdId") or "")
        req_id = clip(str(a.get("reqId") or ""), 64)
        out = {
            "clOrdId": clip(cl, 64),
            "ordId": clip(ord_id, 64),
            "reqId": req_id,
            "ts": str(now_ms()),
            "sCode": "0",
            "sMsg": "",
        }
        try:
            inst = self.inst(self.inst_id(a))
            if not ord_id and not cl:
                raise OrderError("51000", "", "ordId")
            new_sz_raw, new_px_raw = a.get("newSz"), a.get("newPx")
            if new_sz_raw in (None, "") and new_px_raw in (None, ""):
                raise OrderError("51000", "", "newSz")
            new_qty = new_px = None
            if new_sz_raw not in (None, ""):
                d = wire_decimal(new_sz_raw, "newSz")
                if not is_multiple(d, inst.lot_size):
                    raise OrderError("51121")
                new_qty = float(d)
            if new_px_raw not in (None, ""):
                d = wire_decimal(new_px_raw, "newPx")
                if not is_multiple(d, inst.tick_size):
                    raise OrderError("51000", "", "newPx")
                new_px = float(d)
            info = self.find(a)
            if info is None:
                raise OrderError("51503")
            out["clOrdId"], out["ordId"] = info.client_id, info.order_id
            self._amend_req[info.order_id] = req_id
            ok = self.account.amend(info, new_qty, new_px)
            if not ok:
                if str(a.get("cxlOnFail", "")).lower() == "true":
                    self.account.cancel(info)
                raise OrderError("51503")
            if new_qty is not None:
                info.extra["sz"] = str(new_sz_raw)
            if new_px is not None:
                info.extra["px"] = str(new_px_raw)
            self._push_amend(info, req_id)
            return out
        except OrderError as err:
            out.update(sCode=err.code, sMsg=err.msg)
            return out

    # -- op dispatch (WS) ----------------------------------------------------------------
    def run_op(self, op: str, args: list[dict[str, Any]]) -> tuple[str, str, list[Any]]:
        fn = {
            "order": self.place,
            "batch-orders": self.place,
            "cancel-order": self.cancel,
            "batch-cancel-orders": self.cancel,
            "amend-order": self.amend,
            "batch-amend-orders": self.amend,
        }[op]
        items = [fn(a) for a in args]
        code, msg = batch_code(items)
        return code, msg, items

    # -- pushes --------------------------------------------------------------------------
    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        inst = self.emu.instruments[info.symbol]
        lever = self.lever(inst)
        child = self.algo.child_fields(info)
        if child is not None and not rec.triggered:
            return  # an untriggered algo order is not on the ``orders`` channel
        if rep.status is S.REJECTED:
            if rep.code is not RejectReason.POST_ONLY_WOULD_TAKE:
                return
            info.extra["cancelSource"] = "31"
        state = render.STATE[rep.status]
        rows: list[dict[str, Any]] = []
        if fills:
            n, k = len(info.fills), len(fills)
            for i, f in enumerate(fills):
                st = state if i == k - 1 else "partially_filled"
                rows.append(render.ws_order_row(info, rec, inst, lever, n - k + i + 1, st, f))
        else:
            rows.append(render.ws_order_row(info, rec, inst, lever, len(info.fills), state, None))
        if child is not None:
            for row in rows:
                row.update(child)
        self._push_orders(inst, rows)
        if fills:
            trades = [{"instId": inst.symbol, "tradeId": f.trade_id} for f in fills]
            ccys = sorted({inst.base, inst.quote, inst.settle} & set(self.account.sim.balances()))
            symbols = [inst.symbol] if inst.is_derivative else []
            self._push_bal_pos(self.views.bal_pos_row("filled", ccys, symbols, trades))
        self._push_account()
        if inst.is_derivative and fills:
            self._push_position(inst.symbol)

    def _push_amend(self, info: OrderInfo, req_id: str) -> None:
        rec = self.account.record(info)
        if rec is None:
            return
        inst = self.emu.instruments[info.symbol]
        row = render.ws_order_row(
            info,
            rec,
            inst,
            self.lever(inst),
            len(info.fills),
            render.state_of(rec),
            None,
            amend_result="0",
            req_id=req_id,
        )
        self._push_orders(inst, [row])
        self._push_account()

    def _push_orders(self, inst: Instrument, rows: list[dict[str, Any]]) -> None:
        kind = "SWAP" if inst.is_derivative else "SPOT"

        def match(arg: dict[str, str]) -> bool:
            t = arg.get("instType", "ANY")
            return (
                t in ("ANY", kind)
                and arg.get("instId", inst.symbol) == inst.symbol
                and arg.get("instFamily", "") in ("", inst.symbol.removesuffix("-SWAP"))
            )

        for row in rows:
            self.emu.hub.push_private("orders", match, [row])

    def _push_account(self) -> None:
        if not self.emu.hub.any_private_listener():
            return
        rows = self.account_rows("")
        self.emu.hub.push_private("account", lambda arg: True, rows)

    def _push_position(self, symbol: str) -> None:
        if not self.emu.hub.any_private_listener():
            return
        row = self.position_row(symbol, include_flat=True)
        if row is None:
            return

        def match(arg: dict[str, str]) -> bool:
            return (
                arg.get("instType", "ANY") in ("ANY", "SWAP")
                and arg.get("instId", symbol) == symbol
            )

        self.emu.hub.push_private("positions", match, [row])

    def _on_user_trade(self, m: SymbolMarket, trade: PublicTrade) -> None:
        self.emu.hub.push_trades(m, [trade])

    def _push_bal_pos(self, row: dict[str, Any]) -> None:
        if self.emu.hub.any_private_listener():
            self.emu.hub.push_private("balance_and_position", lambda arg: True, [row])

    def _on_funding(self, symbol: str, paid: float) -> None:
        """Bill the payment (OKX's type 8), then push what OKX pushes on a settlement."""
        if paid:
            sim = self.account.sim
            inst = self.emu.instruments[symbol]
            settled = sim.funding_payments()[-1]
            pos = sim.positions()[symbol]
            self.bills.funding(
                inst_id=symbol,
                ccy=inst.settle,
                change=-paid,
                balance=sim.balances()[inst.settle].total,
                contracts=inst.format_qty(abs(pos.qty)),
                mark=inst.format_price(settled.mark_price),
                mgn_mode=self.mgn_mode.get(symbol, "cross"),
                ts=settled.ts // 1_000_000,
            )
            self._push_bal_pos(self.views.bal_pos_row("funding_fee", [inst.settle], [symbol]))
        self._push_account()
        self._push_position(symbol)

    # -- account views (rendered by AccountViews) --------------------------------------
    def account_rows(self, ccy: str) -> list[dict[str, Any]]:
        return self.views.account_rows(ccy)

    def position_row(self, symbol: str, include_flat: bool = False) -> dict[str, Any] | None:
        return self.views.position_row(symbol, include_flat)

    def position_rows(self, arg: dict[str, str]) -> list[dict[str, Any]]:
        return self.views.position_rows(arg)
