"""OKX algo orders over the simulator's trigger orders (``sim/triggers.py``).

Endpoints: ``POST /api/v5/trade/order-algo`` (``conditional``, ``oco``, ``trigger``,
``move_order_stop``), ``POST /api/v5/trade/cancel-algos``, ``GET orders-algo-pending`` /
``orders-algo-history``; ``attachAlgoOrds`` on place-order (``OkxTrading`` builds it with
:meth:`OkxAlgo.attached`); the ``orders-algo`` private channel.

One simulator order per algo order: its simulator id is the ``algoId``. Untriggered it is
``live`` and invisible to the ``orders`` channel and ``orders-pending``, as on OKX; when it
fires it becomes ``effective`` with an ``ordId``, and its child's pushes on ``orders`` carry
that ``ordId`` plus ``algoId`` / ``algoClOrdId`` — how a client maps the fills back (the child
is pushed ``live`` when placed, then as it trades, rests or is canceled). A child the account
cannot pay for ends the algo as ``order_failed``. ``cancel-algos`` cancels only a ``live`` algo
(51400 once it fired: its child is canceled by ``ordId`` like any order). Simplifications:
trailing stops (OKX pushes them on ``algo-advance``) are pushed on ``orders-algo`` too; prices
are triggered by the last trade (``triggerPxType=last``); the child's ``ordId`` is the
``algoId`` (OKX gives it a fresh one), because the emulator's order, fill and order-details
views are keyed by one id per simulator order — so ``/trade/order`` and ``/trade/fills`` by the
child's ``ordId`` answer as on OKX. ``orders-algo-pending`` / ``-history`` filter by
``algoClOrdId`` as well as ``algoId``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx import render
from tradeloop.emulator.okx.errors import PARAM_ORDER, REJECT_CODES, OrderError
from tradeloop.emulator.okx.limits import CL_ORD_ID, is_multiple, wire_decimal
from tradeloop.model import Fill, Order, OrderReport, OrderStatus, OrderType, Side
from tradeloop.model.enums import TriggerKind
from tradeloop.model.instrument import Instrument
from tradeloop.model.order import Trigger
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.okx.trading import OkxTrading

S = OrderStatus
K = TriggerKind
ALGO_TYPES = ("conditional", "oco", "trigger", "move_order_stop")
_PX_KEYS = ("tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx", "triggerPx", "orderPx",
            "callbackRatio", "callbackSpread", "activePx")  # fmt: skip


class OkxAlgo:
    def __init__(self, trading: OkxTrading) -> None:
        self.t = trading
        self.account = trading.account
        self.by_client: dict[str, str] = {}  # algoClOrdId -> algoId
        self.account.order_listeners.append(self._on_order)
        self.account.sim.on_triggered = self._on_triggered

    # -- parsing ---------------------------------------------------------------------------
    def _px(self, a: dict[str, Any], key: str, inst: Instrument, market_ok: bool) -> float:
        """A price field: 0 when absent; -1 (market) only where OKX allows it."""
        raw = a.get(key)
        if raw in (None, ""):
            return 0.0
        if market_ok and str(raw) == "-1":
            return -1.0
        px = wire_decimal(raw, key)
        if not px > 0 or not is_multiple(px, inst.tick_size):
            raise OrderError("51000", "", key)
        return float(px)

    def _trigger(
        self, a: dict[str, Any], kind: str, inst: Instrument, side: Side
    ) -> tuple[Trigger, OrderType, float]:
        """The simulator's trigger, child order type and the stop-loss/child limit price."""
        if kind == "move_order_stop":
            ratio, spread = a.get("callbackRatio"), a.get("callbackSpread")
            rate = float(wire_decimal(ratio, "callbackRatio")) if ratio not in (None, "") else 0.0
            amt = float(wire_decimal(spread, "callbackSpread")) if spread not in (None, "") else 0
            if (rate > 0) == (amt > 0) or rate >= 1:
                raise OrderError("51000", "", "callbackRatio")
            act = self._px(a, "activePx", inst, False)
            return Trigger(K.TRAILING, act, callback_rate=rate, callback_amount=amt), _MKT, 0.0
        if kind == "trigger":
            trig = self._px(a, "triggerPx", inst, False)
            if not trig:
                raise OrderError("51000", "", "triggerPx")
            ord_px = self._px(a, "orderPx", inst, True) or -1.0
            last = self.account.sim.last_price(inst.symbol) or trig
            stop = trig >= last if side is Side.BUY else trig <= last
            otype, px = (_MKT, 0.0) if ord_px < 0 else (_LMT, ord_px)
            return Trigger(K.STOP if stop else K.TAKE_PROFIT, trig), otype, px
        tp, sl = self._px(a, "tpTriggerPx", inst, False), self._px(a, "slTriggerPx", inst, False)
        tp_px, sl_px = self._px(a, "tpOrdPx", inst, True), self._px(a, "slOrdPx", inst, True)
        if kind == "oco" and not (tp and sl):
            raise OrderError("51000", "", "tpTriggerPx" if not tp else "slTriggerPx")
        if not (tp or sl):
            raise OrderError("51000", "", "slTriggerPx")
        if (tp and not tp_px) or (sl and not sl_px):
            raise OrderError("51000", "", "tpOrdPx" if tp and not tp_px else "slOrdPx")
        if tp and sl:
            otype, px = (_MKT, 0.0) if sl_px < 0 else (_LMT, sl_px)
            return Trigger(K.OCO, sl, tp_price=tp, tp_limit=max(tp_px, 0.0)), otype, px
        if sl:
            otype, px = (_MKT, 0.0) if sl_px < 0 else (_LMT, sl_px)
            return Trigger(K.STOP, sl), otype, px
        otype, px = (_MKT, 0.0) if tp_px < 0 else (_LMT, tp_px)
        return Trigger(K.TAKE_PROFIT, tp), otype, px

    def _info(self, symbol: str, cl: str, extra: dict[str, Any]) -> OrderInfo:
        t = now_ms()
        info = OrderInfo(self.account.new_order_id(), "", symbol, t, t, extra)
        info.extra.update(algo=True, algoClOrdId=cl, state="live", ordId="")
        return info

    # -- place / cancel --------------------------------------------------------------------
    def place(self, a: dict[str, Any]) -> dict[str, str]:
        cl = str(a.get("algoClOrdId") or "")
        try:
            return self._place(a, cl)
        except OrderError as err:
            return {"algoId": "", "algoClOrdId": cl, "clOrdId": "", "tag": "",
                    "sCode": err.code, "sMsg": err.msg}  # fmt: skip

    def _place(self, a: dict[str, Any], cl: str) -> dict[str, str]:

        inst = self.t.inst(self.t.inst_id(a))
        side_s, kind = str(a.get("side") or ""), str(a.get("ordType") or "")
        if side_s not in ("buy", "sell"):
            raise OrderError("51000", "", "side")
        if kind not in ALGO_TYPES:
            raise OrderError("51000", "", "ordType")
        if cl and (not CL_ORD_ID.fullmatch(cl) or cl in self.by_client):
            raise OrderError("51016" if cl in self.by_client else "51000", "", "algoClOrdId")
        sz = wire_decimal(a.get("sz"), "sz")
        if not is_multiple(sz, inst.lot_size) or sz < Decimal(repr(inst.min_size)):
            raise OrderError("51121")
        side = Side(side_s)
        trigger, otype, px = self._trigger(a, kind, inst, side)
        reduce_only = str(a.get("reduceOnly", "")).lower() == "true" and inst.is_derivative
        extra = {"ordType": kind, "algoOrdType": kind, "tdMode": str(a.get("tdMode") or ""),
                 "sz": str(a.get("sz")), **{k: str(a.get(k) or "") for k in _PX_KEYS}}  # fmt: skip
        info = self._info(inst.symbol, cl, extra)
        order = Order(info.order_id, inst.symbol, side, float(sz), otype, px,
                      reduce_only=reduce_only, trigger=trigger)  # fmt: skip
        rec = self.account.submit(info, order)
        if rec is None or rec.status is S.REJECTED:
            self.account.forget(info)
            code = rec.code if rec is not None else None
            raise OrderError(*REJECT_CODES.get(code, PARAM_ORDER))  # type: ignore[arg-type]
        if cl:
            self.by_client[cl] = info.order_id
        return {"algoId": info.order_id, "algoClOrdId": cl, "clOrdId": "", "tag": "",
                "sCode": "0", "sMsg": ""}  # fmt: skip

    def attached(self, items: Any, inst: Instrument, side: Side) -> Order | None:
        """``attachAlgoOrds`` of a place-order: the protective order the simulator places when
        the entry fills (its record and pushes are this module's)."""
        if items in (None, "", []):
            return None
        if not isinstance(items, list) or not isinstance(items[0], dict) or len(items) > 1:
            raise OrderError("51000", "", "attachAlgoOrds")
        a = items[0]
        cl = str(a.get("attachAlgoClOrdId") or "")
        if cl and (not _CL_OK(cl) or cl in self.by_client):
            raise OrderError("51000", "", "attachAlgoClOrdId")
        trigger, otype, px = self._trigger(a, "conditional", inst, side.opposite)
        kind = "oco" if trigger.kind is K.OCO else "conditional"
        extra = {"ordType": kind, "algoOrdType": kind, **{k: str(a.get(k) or "") for k in _PX_KEYS}}
        info = self._info(inst.symbol, cl, extra)
        self.account.infos[info.order_id] = info
        if cl:
            self.by_client[cl] = info.order_id
        return Order(info.order_id, inst.symbol, side.opposite, 0.0, otype, px,
                     reduce_only=inst.is_derivative, trigger=trigger)  # fmt: skip

    def find(self, a: dict[str, Any]) -> OrderInfo | None:
        algo_id = str(a.get("algoId") or "") or self.by_client.get(
            str(a.get("algoClOrdId") or ""), ""
        )
        info = self.account.infos.get(algo_id)
        return info if info is not None and info.extra.get("algo") else None

    def cancel(self, a: dict[str, Any]) -> dict[str, str]:
        info = self.find(a)
        if info is None or info.symbol != str(a.get("instId") or ""):
            return {"algoId": str(a.get("algoId") or ""), "sCode": "51000", "sMsg": "algoId"}
        # a fired algo is done (its child is an order of its own, canceled by its ordId)
        if info.extra["state"] != "live" or not self.account.cancel(info):
            return {"algoId": info.order_id, "sCode": "51400", "sMsg": "cannot be canceled"}
        return {"algoId": info.order_id, "algoClOrdId": info.extra["algoClOrdId"],
                "sCode": "0", "sMsg": ""}  # fmt: skip

    # -- views -----------------------------------------------------------------------------
    def row(self, info: OrderInfo, rec: SimOrder) -> dict[str, Any]:
        inst = self.account.instruments[info.symbol]
        x = info.extra
        row = {k: x.get(k, "") for k in _PX_KEYS}
        row.update({
            "algoId": info.order_id, "algoClOrdId": x["algoClOrdId"], "instId": info.symbol,
            "instType": "SWAP" if inst.is_derivative else "SPOT", "ordType": x["algoOrdType"],
            "side": rec.side.value, "posSide": "net" if inst.is_derivative else "",
            "sz": inst.format_qty(rec.qty), "tdMode": x.get("tdMode", ""), "state": x["state"],
            "reduceOnly": "true" if rec.reduce_only else "false", "ordId": x["ordId"],
            "actualPx": inst.format_price(rec.trigger_px) if rec.triggered else "",
            "actualSide": rec.leg if rec.triggered else "",
            "actualSz": inst.format_qty(rec.qty) if rec.triggered else "",
            "triggerTime": str(x.get("triggerTime", "")),
            "cTime": str(info.c_time), "uTime": str(info.u_time),
        })  # fmt: skip
        return row

    def rows(self, a: dict[str, str], pending: bool) -> list[dict[str, Any]]:
        kinds = [k for k in a.get("ordType", "").split(",") if k]
        out = []
        for oid in sorted(self.account.infos, key=int, reverse=True):
            info = self.account.infos[oid]
            rec = self.account.record(info)
            if rec is None or not info.extra.get("algo"):
                continue
            if (info.extra["state"] == "live") != pending:
                continue
            if kinds and info.extra["algoOrdType"] not in kinds:
                continue
            if a.get("instId") and info.symbol != a["instId"]:
                continue
            kind = "SWAP" if self.account.instruments[info.symbol].is_derivative else "SPOT"
            if a.get("instType") and kind != a["instType"]:
                continue
            if a.get("algoId") and oid != a["algoId"]:
                continue
            if a.get("algoClOrdId") and info.extra["algoClOrdId"] != a["algoClOrdId"]:
                continue
            out.append(self.row(info, rec))
        return out[: int(a.get("limit") or 100)]

    # -- simulator events ------------------------------------------------------------------
    def _on_triggered(self, rec: SimOrder) -> None:
        info = self.account.infos.get(rec.client_order_id)
        if info is None:
            return
        limit = rec.order_type is _LMT
        px = self.account.instruments[info.symbol].format_price(rec.price) if limit else ""
        info.extra.update(state="effective", ordId=info.order_id, triggerTime=now_ms(),
                          ordType="limit" if limit else "market", px=px)  # fmt: skip
        self._push(info, rec)
        # OKX places the child: it appears on ``orders`` as live (then trades, rests, or is
        # canceled if the account cannot pay for it)
        inst = self.account.instruments[info.symbol]
        row = render.ws_order_row(info, rec, inst, self.t.lever(inst), 0, "live", None)
        row.update(self.child_fields(info) or {})
        self.t._push_orders(inst, [row])

    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if not info.extra.get("algo"):
            return
        if rep.status is S.ACCEPTED and not rec.triggered:
            self._push(info, rec)  # placed (attached ones: when their entry filled)
        elif rep.status.is_terminal and info.extra["state"] == "live":
            info.extra["state"] = "canceled"
            self._push(info, rec)
        elif rep.status is S.CANCELED and rep.reason.startswith("triggered, not placed"):
            info.extra["state"] = "order_failed"
            self._push(info, rec)

    def _push(self, info: OrderInfo, rec: SimOrder) -> None:
        row = self.row(info, rec)
        kind = row["instType"]

        def match(arg: dict[str, str]) -> bool:
            return (
                arg.get("instType", "ANY") in ("ANY", kind)
                and arg.get("instId", info.symbol) == info.symbol
            )

        self.t.emu.hub.push_private("orders-algo", match, [row])

    def child_fields(self, info: OrderInfo) -> dict[str, str] | None:
        """What a triggered algo's ``orders`` rows carry instead of the plain order's ids."""
        x = info.extra
        if not x.get("algo"):
            return None
        return {"ordId": x["ordId"], "clOrdId": "", "algoId": info.order_id,
                "algoClOrdId": x["algoClOrdId"], "ordType": x["ordType"]}  # fmt: skip


_MKT, _LMT = OrderType.MARKET, OrderType.LIMIT


def _CL_OK(cl: str) -> bool:

    return CL_ORD_ID.fullmatch(cl) is not None
