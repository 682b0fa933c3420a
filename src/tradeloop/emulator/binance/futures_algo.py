"""USD-M conditional orders through the Algo Order API (``/fapi/v1/algoOrder``,
``openAlgoOrders``, ``allAlgoOrders``), which is where Binance takes futures stops now and
where ccxt 4.5.90 sends them.

A ``CONDITIONAL`` algo order (``STOP_MARKET``, ``TAKE_PROFIT_MARKET``, ``STOP``,
``TAKE_PROFIT``; ``triggerPrice``, ``clientAlgoId``) is the same trigger order as one sent to
``/fapi/v1/order`` (:mod:`.futures_trading`, :mod:`.triggers`): its ``algoId`` is that order's
id, so once it fires, the order it became is also ``GET /fapi/v1/order?orderId=<algoId>``.
``algoStatus``: ``NEW`` while armed, ``TRIGGERED`` once fired, ``CANCELED`` / ``EXPIRED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.binance.account_orders import _text, _window
from tradeloop.emulator.binance.futures_trading import TRIGGERS, ferr
from tradeloop.model import Side
from tradeloop.model.enums import OrderStatus
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.binance.futures_trading import FuturesTrading

Params = Mapping[str, Any]
#: algo fields -> the order fields they stand for
_RENAME = {"triggerPrice": "stopPrice", "clientAlgoId": "newClientOrderId"}
_PASS = ("symbol", "side", "type", "quantity", "price", "timeInForce", "reduceOnly",
         "closePosition", "positionSide", "timestamp", "recvWindow")  # fmt: skip


class FuturesAlgo:
    def __init__(self, trading: FuturesTrading) -> None:
        self.t = trading

    def place(self, p: Params) -> dict[str, Any]:
        algo = _text(p, "algoType")
        if not algo:
            raise E.mandatory("algoType")
        if algo != "CONDITIONAL":
            raise ferr(-4500, "Invalid algoType.")
        if _text(p, "type") not in TRIGGERS:
            raise ferr(-1116, "Invalid orderType.")
        if not _text(p, "triggerPrice"):
            raise E.mandatory("triggerPrice")
        fields = {k: p[k] for k in _PASS if k in p}
        fields.update({v: p[k] for k, v in _RENAME.items() if k in p})
        self.t.place(fields)
        info = self.t.account.find(client_id=_text(fields, "newClientOrderId")) if _text(
            fields, "newClientOrderId") else self._newest()  # fmt: skip
        assert info is not None
        info.extra["algo"] = True
        rec = self.t.account.record(info)
        assert rec is not None
        return self.row(info, rec)

    def _newest(self) -> OrderInfo | None:
        infos = self.t.account.infos
        return infos[max(infos, key=int)] if infos else None

    def _find(self, p: Params) -> tuple[OrderInfo, SimOrder]:
        aid, cid = _text(p, "algoId"), _text(p, "clientAlgoId")
        if not aid and not cid:
            raise ferr(-1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were "
                              "empty/null!")  # fmt: skip
        if aid and not aid.isdigit():
            raise E.illegal("algoId")
        info = self.t.account.find(aid, "" if aid else cid)
        rec = self.t.account.record(info) if info is not None else None
        if info is None or rec is None or not info.extra.get("algo"):
            raise ferr(-2013, "Order does not exist.")
        return info, rec

    def get(self, p: Params) -> dict[str, Any]:
        return self.row(*self._find(p))

    def cancel(self, p: Params) -> dict[str, Any]:
        info, rec = self._find(p)
        if rec.status.is_terminal or rec.triggered:
            raise ferr(-2011, "Unknown order sent.")
        info.extra["user_cancel"] = True
        if not self.t.account.cancel(info):
            raise ferr(-2011, "Unknown order sent.")
        return {"algoId": int(info.order_id), "clientAlgoId": info.client_id, "code": "200",
                "msg": "success"}  # fmt: skip

    def open(self, p: Params) -> list[dict[str, Any]]:
        sym = self.t.market(p).instrument.symbol if _text(p, "symbol") else ""
        return [self.row(i, r) for i, r in reversed(self.t.account.orders(sym, True))
                if i.extra.get("algo") and not r.triggered]  # fmt: skip

    def all(self, p: Params) -> list[dict[str, Any]]:
        sym = self.t.market(p).instrument.symbol
        start, end, limit = _window(p, 500, 1000)
        rows = [self.row(i, r) for i, r in reversed(self.t.account.orders(sym))
                if i.extra.get("algo") and start <= i.c_time <= end]  # fmt: skip
        return rows[-limit:]

    def status(self, info: OrderInfo, rec: SimOrder) -> str:
        if rec.triggered:
            return "TRIGGERED"
        if rec.status is OrderStatus.CANCELED:
            return "CANCELED" if info.extra.get("user_cancel") else "EXPIRED"
        return "REJECTED" if rec.status is OrderStatus.REJECTED else "NEW"

    def row(self, info: OrderInfo, rec: SimOrder) -> dict[str, Any]:
        o = self.t.order_row(info, rec)
        return {
            "algoId": int(info.order_id), "clientAlgoId": info.client_id,
            "algoType": "CONDITIONAL", "orderType": o["type"], "symbol": info.symbol,
            "side": "BUY" if rec.side is Side.BUY else "SELL", "positionSide": "BOTH",
            "timeInForce": o["timeInForce"], "quantity": o["origQty"],
            "algoStatus": self.status(info, rec), "triggerPrice": o["stopPrice"],
            "price": o["price"], "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE", "closePosition": o["closePosition"], "priceProtect": False,
            "reduceOnly": o["reduceOnly"], "createTime": info.c_time, "updateTime": info.u_time,
            "triggerTime": info.u_time if rec.triggered else 0, "goodTillDate": 0,
        }  # fmt: skip
