"""OKX private REST endpoints: trade (place/batch/cancel/amend/query) and account (balance,
positions, leverage; bills from :mod:`.bills`). Per-order outcomes travel in
``data[i].sCode``; the top-level code is ``0`` / ``1`` (all failed) / ``2`` (partial), as on
OKX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.okx import bills
from tradeloop.emulator.okx.errors import OkxError, OrderError
from tradeloop.emulator.okx.limits import MAX_BATCH, wire_decimal
from tradeloop.emulator.okx.rest import Ctx, Handler, Reply
from tradeloop.emulator.okx.rest_public import int_param
from tradeloop.emulator.okx.trading import OkxTrading, batch_code
from tradeloop.emulator.okx.views import inst_type, num
from tradeloop.model import OrderStatus

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

S = OrderStatus


def _t(emu: OkxEmulator) -> OkxTrading:
    trading: OkxTrading = emu.trading
    return trading


def _reply(items: list[dict[str, Any]]) -> Reply:
    code, msg = batch_code(items)
    return Reply(items, code, msg, trade=True)


def _body(ctx: Ctx) -> dict[str, Any]:
    if ctx.items is not None:
        raise OkxError("50002")
    return ctx.params


def _batch(ctx: Ctx) -> list[dict[str, Any]]:
    items = ctx.items if ctx.items is not None else ([ctx.params] if ctx.params else [])
    if not items or not all(isinstance(i, dict) for i in items):
        raise OkxError("50002") if items else OkxError("50000")
    if len(items) > MAX_BATCH:
        raise OkxError("51000", "", "batch size")
    return items


async def place(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).place(_body(ctx))])


async def batch_place(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).place(a) for a in _batch(ctx)])


async def cancel(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).cancel(_body(ctx))])


async def batch_cancel(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).cancel(a) for a in _batch(ctx)])


async def amend(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).amend(_body(ctx))])


async def batch_amend(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).amend(a) for a in _batch(ctx)])


async def get_order(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    tr = _t(emu)
    inst_id = ctx.require("instId")
    if inst_id not in emu.instruments:
        raise OkxError("51001")
    if not ctx.get("ordId") and not ctx.get("clOrdId"):
        raise OkxError("50014", "", "ordId")
    info = tr.find(ctx.params)
    row = tr.rows_for(info) if info is not None else None
    if row is None:
        raise OkxError("51603")
    return [row]


def _listing(emu: OkxEmulator, ctx: Ctx, open_: bool) -> list[Any]:
    tr = _t(emu)
    kind, inst_id = ctx.get("instType"), ctx.get("instId")
    ord_type, state = ctx.get("ordType"), ctx.get("state")
    limit = int_param(ctx, "limit", 100, 1, 100)
    after = int_param(ctx, "after", 0, 0, 1 << 80)
    before = int_param(ctx, "before", 0, 0, 1 << 80)
    rows = []
    for oid in sorted(tr.account.infos, key=int, reverse=True):
        info = tr.account.infos[oid]
        rec = tr.account.record(info)
        if rec is None:
            continue
        is_open = rec.status.is_open
        if is_open != open_:
            continue
        if kind and inst_type(info.symbol) != kind:
            continue
        if inst_id and info.symbol != inst_id:
            continue
        if after and int(oid) >= after:
            continue
        if before and int(oid) <= before:
            continue
        row = tr.rows_for(info)
        if row is None:
            continue
        if ord_type and row["ordType"] not in ord_type.split(","):
            continue
        if state and row["state"] != state:
            continue
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


async def orders_pending(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return _listing(emu, ctx, open_=True)


async def orders_history(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    ctx.require("instType")
    return _listing(emu, ctx, open_=False)


async def fills(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    from tradeloop.emulator.okx.render import fill_row

    tr = _t(emu)
    kind, inst_id, ord_id = ctx.get("instType"), ctx.get("instId"), ctx.get("ordId")
    limit = int_param(ctx, "limit", 100, 1, 100)
    after = int_param(ctx, "after", 0, 0, 1 << 80)
    before = int_param(ctx, "before", 0, 0, 1 << 80)
    out: list[tuple[int, dict[str, Any]]] = []
    for info in tr.account.infos.values():
        if (kind and inst_type(info.symbol) != kind) or (inst_id and info.symbol != inst_id):
            continue
        if ord_id and info.order_id != ord_id:
            continue
        inst = emu.instruments[info.symbol]
        for f in info.fills:
            bill = int(f.trade_id)
            if (after and bill >= after) or (before and bill <= before):
                continue
            out.append((bill, fill_row(info, inst, f, info.extra)))
    out.sort(key=lambda x: x[0], reverse=True)
    return [r for _, r in out[:limit]]


async def balance(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return _t(emu).account_rows(ctx.get("ccy"))


async def positions(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    kind = ctx.get("instType")
    if kind and kind not in ("MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise OkxError("51000", "", "instType")
    for i in ctx.get("instId").split(","):
        if i and i not in emu.instruments:
            raise OkxError("51001")
    return _t(emu).position_rows({"instType": kind or "ANY", "instId": ctx.get("instId")})


async def set_leverage(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    tr = _t(emu)
    p = _body(ctx)
    inst_id = str(p.get("instId") or "")
    mode = str(p.get("mgnMode") or "")
    if mode not in ("cross", "isolated"):
        raise OkxError("51000", "", "mgnMode")
    if not inst_id:
        raise OkxError("51000", "", "instId")
    inst = emu.instruments.get(inst_id)
    if inst is None:
        raise OkxError("51001")
    try:
        lever = float(wire_decimal(p.get("lever"), "lever"))
    except OrderError:
        raise OkxError("51000", "", "lever") from None
    max_lever = float(emu.rows[inst_id].get("lever") or 125)
    if not (0.01 <= lever <= max_lever) or not inst.is_derivative:
        raise OkxError("51000", "", "lever")
    if not tr.account.sim.set_leverage(inst_id, lever):
        raise OkxError("51008")
    tr.mgn_mode[inst_id] = mode
    return [
        {
            "lever": num(lever, 2),
            "mgnMode": mode,
            "instId": inst_id,
            "posSide": str(p.get("posSide") or "net"),
        }
    ]


async def leverage_info(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    tr = _t(emu)
    mode = ctx.require("mgnMode")
    if mode not in ("cross", "isolated"):
        raise OkxError("51000", "", "mgnMode")
    out = []
    for inst_id in ctx.require("instId").split(","):
        inst = emu.instruments.get(inst_id)
        if inst is None:
            raise OkxError("51001")
        lever = tr.account.sim.leverage(inst_id) if inst.is_derivative else 1.0
        out.append({"instId": inst_id, "mgnMode": mode, "posSide": "net", "lever": num(lever, 2)})
    return out


async def account_config(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    """Single-currency margin account in net (one-way) position mode: what the simulator
    models."""
    return [
        {
            "acctLv": "2",
            "acctStpMode": "cancel_maker",
            "autoLoan": False,
            "ctIsoMode": "automatic",
            "enableSpotBorrow": False,
            "greeksType": "PA",
            "ip": "127.0.0.1",
            "kycLv": "2",
            "label": "tradeloop-emulator",
            "level": "Lv1",
            "levelTmp": "",
            "liquidationGear": "-1",
            "mainUid": "1000000001",
            "mgnIsoMode": "automatic",
            "opAuth": "0",
            "perm": "read_only,trade",
            "posMode": "net_mode",
            "roleType": "0",
            "spotBorrowAutoRepay": False,
            "spotOffsetType": "",
            "spotRoleType": "0",
            "spotTraderInsts": [],
            "traderInsts": [],
            "type": "0",
            "uid": "1000000001",
        }
    ]


async def set_position_mode(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    mode = str(_body(ctx).get("posMode") or "")
    if mode != "net_mode":  # only one-way (net) positions are simulated
        raise OkxError("51000", "", "posMode")
    return [{"posMode": mode}]


async def trade_fee(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    kind = ctx.require("instType")
    if kind not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise OkxError("51000", "", "instType")
    inst_id = ctx.get("instId")
    if inst_id and inst_id not in emu.instruments:
        raise OkxError("51001")
    spot = [i for i in emu.instruments.values() if not i.is_derivative]
    swap = [i for i in emu.instruments.values() if i.is_derivative]
    s = spot[0] if spot else None
    d = swap[0] if swap else None
    return [
        {
            "category": "1",
            "delivery": "",
            "exercise": "",
            "fiat": [],
            "instType": kind,
            "level": "Lv1",
            "maker": num(-s.maker_fee) if s else "",
            "taker": num(-s.taker_fee) if s else "",
            "makerU": num(-d.maker_fee) if d else "",
            "takerU": num(-d.taker_fee) if d else "",
            "makerUSDC": "",
            "takerUSDC": "",
            "ruleType": "normal",
            "ts": str(int(ctx.in_time_us // 1000)),
        }
    ]


async def place_algo(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).algo.place(_body(ctx))])


async def cancel_algos(emu: OkxEmulator, ctx: Ctx) -> Reply:
    return _reply([_t(emu).algo.cancel(a) for a in _batch(ctx)])


async def algos_pending(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    if not ctx.get("ordType"):
        raise OkxError("50014", "", "ordType")
    return _t(emu).algo.rows(dict(ctx.params), pending=True)


async def algos_history(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    if not ctx.get("ordType"):
        raise OkxError("50014", "", "ordType")
    return _t(emu).algo.rows(dict(ctx.params), pending=False)


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("POST", "/api/v5/trade/order-algo", place_algo, True),
    ("POST", "/api/v5/trade/cancel-algos", cancel_algos, True),
    ("GET", "/api/v5/trade/orders-algo-pending", algos_pending, True),
    ("GET", "/api/v5/trade/orders-algo-history", algos_history, True),
    ("POST", "/api/v5/trade/order", place, True),
    ("POST", "/api/v5/trade/batch-orders", batch_place, True),
    ("POST", "/api/v5/trade/cancel-order", cancel, True),
    ("POST", "/api/v5/trade/cancel-batch-orders", batch_cancel, True),
    ("POST", "/api/v5/trade/amend-order", amend, True),
    ("POST", "/api/v5/trade/amend-batch-orders", batch_amend, True),
    ("GET", "/api/v5/trade/order", get_order, True),
    ("GET", "/api/v5/trade/orders-pending", orders_pending, True),
    ("GET", "/api/v5/trade/orders-history", orders_history, True),
    ("GET", "/api/v5/trade/fills", fills, True),
    ("GET", "/api/v5/trade/fills-history", fills, True),
    ("GET", "/api/v5/account/config", account_config, True),
    ("POST", "/api/v5/account/set-position-mode", set_position_mode, True),
    ("GET", "/api/v5/account/trade-fee", trade_fee, True),
    ("GET", "/api/v5/account/balance", balance, True),
    ("GET", "/api/v5/account/positions", positions, True),
    ("POST", "/api/v5/account/set-leverage", set_leverage, True),
    *bills.ROUTES,
    ("GET", "/api/v5/account/leverage-info", leverage_info, True),
]
