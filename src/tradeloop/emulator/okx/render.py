"""OKX JSON shapes for the private side: orders, fills, balances, positions.

Field names follow OKX's real responses (see the fixtures of orders-pending, ws orders,
account balance and positions); values are strings. Venue-specific order details
(``tdMode``, ``tag``, ``tgtCcy``...) come from :class:`OrderInfo.extra`; state, sizes and
money come from the simulator's record.
"""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.okx.views import inst_type, num
from tradeloop.model import Fill, Liquidity, OrderStatus
from tradeloop.model.instrument import Instrument
from tradeloop.sim.records import SimOrder

S = OrderStatus

STATE = {
    S.CREATED: "live",
    S.SUBMITTED: "live",
    S.ACCEPTED: "live",
    S.PENDING_CANCEL: "live",
    S.PARTIALLY_FILLED: "partially_filled",
    S.FILLED: "filled",
    S.CANCELED: "canceled",
    S.EXPIRED: "canceled",
    S.REJECTED: "canceled",
}


def state_of(rec: SimOrder) -> str:
    return STATE[rec.status]


def order_row(
    info: OrderInfo,
    rec: SimOrder,
    inst: Instrument,
    lever: str,
    upto: int | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """The REST order object. ``upto`` renders the order as it stood after its first
    ``upto`` fills (WS pushes one event per fill even when one report counted several)."""
    x = info.extra
    fp = inst.format_price
    fee_ccy = rec.fee_ccy or (inst.settle if inst.is_derivative else inst.quote)
    if upto is None:
        fills = info.fills
        acc, avg, fee = rec.filled_qty, rec.avg_price, -rec.fee
    else:
        fills = info.fills[:upto]
        acc = sum(f.qty for f in fills)
        avg = sum(f.qty * f.price for f in fills) / acc if acc else 0.0
        fee = -sum(f.fee for f in fills)
    last = fills[-1] if fills else None
    return {
        "accFillSz": inst.format_qty(acc) if acc else "0",
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoClOrdId": "",
        "attachAlgoOrds": [],
        "avgPx": fp(avg) if acc else "",
        "cTime": str(info.c_time),
        "cancelSource": x.get("cancelSource", "") if rec.status in (S.CANCELED, S.EXPIRED) else "",
        "cancelSourceReason": rec.reason if rec.status in (S.CANCELED, S.EXPIRED) else "",
        "category": "normal",
        "ccy": "",
        "clOrdId": info.client_id,
        "fee": num(fee, 12) if fee else "0",
        "feeCcy": fee_ccy,
        "fillPx": fp(last.price) if last else "",
        "fillSz": inst.format_qty(last.qty) if last else "0",
        "fillTime": str(last.ts // 1_000_000) if last else "",
        "instId": inst.symbol,
        "instType": inst_type(inst.symbol),
        "isTpLimit": "false",
        "lever": lever,
        "linkedAlgoOrd": {"algoId": ""},
        "ordId": info.order_id,
        "ordType": x.get("ordType", "limit"),
        "pnl": "0",
        "posSide": x.get("posSide", ""),
        "px": x.get("px", ""),
        "pxType": "",
        "pxUsd": "",
        "pxVol": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": inst.quote,
        "reduceOnly": "true" if rec.reduce_only else "false",
        "side": rec.side.value,
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": state or state_of(rec),
        "stpId": "",
        "stpMode": x.get("stpMode", "cancel_maker"),
        "sz": x.get("sz", ""),
        "tag": x.get("tag", ""),
        "tdMode": x.get("tdMode", ""),
        "tgtCcy": x.get("tgtCcy", ""),
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tradeId": last.trade_id if last else "",
        "uTime": str(info.u_time),
    }


def ws_order_row(
    info: OrderInfo,
    rec: SimOrder,
    inst: Instrument,
    lever: str,
    upto: int,
    state: str,
    fill: Fill | None,
    amend_result: str = "",
    req_id: str = "",
) -> dict[str, Any]:
    """The ``orders`` channel push: the REST fields plus this event's fill (if any)."""
    row = order_row(info, rec, inst, lever, upto, state)
    notional = (fill.qty * fill.price * inst.contract_value) if fill else 0.0
    row.update(
        {
            "amendResult": amend_result,
            "amendSource": "",
            "code": "0",
            "execType": ("M" if fill.liquidity is Liquidity.MAKER else "T") if fill else "",
            "fillFee": num(-fill.fee, 12) if fill else "0",
            "fillFeeCcy": fill.fee_ccy if fill else "",
            "fillMarkPx": "",
            "fillMarkVol": "",
            "fillNotionalUsd": num(notional, 8) if fill else "",
            "fillPnl": "0",
            "fillPx": inst.format_price(fill.price) if fill else "",
            "fillSz": inst.format_qty(fill.qty) if fill else "0",
            "fillTime": str(fill.ts // 1_000_000) if fill else "",
            "lastPx": "",
            "msg": "",
            "notionalUsd": "",
            "reqId": req_id,
            "tradeId": fill.trade_id if fill else "",
        }
    )
    return row


def fill_row(info: OrderInfo, inst: Instrument, f: Fill, x: dict[str, Any]) -> dict[str, Any]:
    """One ``trade/fills`` row."""
    return {
        "instType": inst_type(inst.symbol),
        "instId": inst.symbol,
        "tradeId": f.trade_id,
        "ordId": info.order_id,
        "clOrdId": info.client_id,
        "billId": f.trade_id,
        "subType": "1" if f.side.value == "buy" else "2",
        "tag": x.get("tag", ""),
        "fillPx": inst.format_price(f.price),
        "fillSz": inst.format_qty(f.qty),
        "fillIdxPx": "",
        "fillPnl": "0",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": "",
        "side": f.side.value,
        "posSide": x.get("posSide", "") or ("net" if inst.is_derivative else ""),
        "execType": "M" if f.liquidity is Liquidity.MAKER else "T",
        "feeCcy": f.fee_ccy,
        "fee": num(-f.fee, 12),
        "ts": str(f.ts // 1_000_000),
        "fillTime": str(f.ts // 1_000_000),
        "feeRate": "",
    }
