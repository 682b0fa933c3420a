"""OKX v5 WebSocket endpoints: ``/ws/v5/public``, ``/ws/v5/private``, ``/ws/v5/business``.

Protocol as OKX speaks it: text ``ping`` -> ``pong``; ``op`` = ``login`` / ``subscribe`` /
``unsubscribe`` with one ack or error event per arg (``id`` echoed); order entry ops on
/private (``order``, ``batch-orders``, ``cancel-order``, ``batch-cancel-orders``,
``amend-order``, ``batch-amend-orders``) answered in OKX's ``{"id","op","code","msg","data"}``
shape. Protocol-level ping frames are answered by aiohttp (``autoping``).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.auth import verify_ws_login
from tradeloop.emulator.okx.bars import lookup
from tradeloop.emulator.okx.errors import OkxError, message
from tradeloop.emulator.okx.hub import Conn
from tradeloop.emulator.okx.rest import now_us

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

log = logging.getLogger(__name__)

PUBLIC_CHANNELS = {"tickers", "trades", "books", "books5", "bbo-tbt", "mark-price", "funding-rate"}
PRIVATE_CHANNELS = {"orders", "account", "positions"}
INST_TYPES = {"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"}
ORDER_OPS = {
    "order",
    "batch-orders",
    "cancel-order",
    "batch-cancel-orders",
    "amend-order",
    "batch-amend-orders",
}


def _is_candle(channel: str) -> bool:
    return channel.startswith("candle") and lookup(channel[len("candle") :]) is not None


def handler(emu: OkxEmulator, kind: str) -> Any:
    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Conn(ws, kind)
        emu.hub.add(conn)
        emu.track(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conn.touch()
                    await emu.faults.delay()
                    _on_text(emu, conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            emu.hub.remove(conn)
            emu.untrack(ws)
            await conn.close()
        return ws

    return ws_handler


def _error(conn: Conn, code: str, msg: str, req_id: str | None) -> None:
    ev: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}
    if req_id is not None:
        ev = {"id": req_id, **ev}
    conn.send_json(ev)


def _on_text(emu: OkxEmulator, conn: Conn, text: str) -> None:
    if text == "ping":
        conn.send("pong")
        return
    try:
        req = json.loads(text)
        if not isinstance(req, dict):
            raise ValueError
    except ValueError:
        _error(conn, "60012", f"Invalid request: {text}", None)
        return
    raw_id = req.get("id")
    req_id = str(raw_id) if raw_id is not None else None
    op = req.get("op")
    args = req.get("args")
    if op == "login":
        _login(emu, conn, args, req_id)
    elif op in ("subscribe", "unsubscribe"):
        if not isinstance(args, list) or not args:
            _error(conn, "60012", f"Invalid request: {text}", req_id)
            return
        for arg in args:
            _sub(emu, conn, op, arg, req_id, text)
    elif op in ORDER_OPS:
        _order_op(emu, conn, op, args, req_id)
    else:
        _error(conn, "60012", f"Invalid request: {text}", req_id)


def _login(emu: OkxEmulator, conn: Conn, args: Any, req_id: str | None) -> None:
    arg = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else None
    try:
        if arg is None:
            raise OkxError("60009")
        verify_ws_login(emu.creds, arg, time.time())
    except OkxError as err:
        _error(conn, err.code, err.msg, req_id)
        return
    conn.logged_in = True
    ev: dict[str, Any] = {"event": "login", "code": "0", "msg": "", "connId": conn.conn_id}
    if req_id is not None:
        ev = {"id": req_id, **ev}
    conn.send_json(ev)


def _sub(emu: OkxEmulator, conn: Conn, op: str, arg: Any, req_id: str | None, raw: str) -> None:
    if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
        _error(conn, "60012", f"Invalid request: {raw}", req_id)
        return
    channel: str = arg["channel"]
    inst_id = str(arg.get("instId", ""))
    public_ok = channel in PUBLIC_CHANNELS and conn.kind == "public"
    candle_ok = _is_candle(channel) and conn.kind == "business"
    private_ok = channel in PRIVATE_CHANNELS and conn.kind == "private"
    if not (public_ok or candle_ok or private_ok):
        _error(conn, "60018", message("60018", channel, inst_id), req_id)
        return
    ack: dict[str, Any] = {"event": op, "arg": arg, "connId": conn.conn_id}
    if req_id is not None:
        ack = {"id": req_id, **ack}
    if private_ok:
        _sub_private(emu, conn, op, channel, arg, ack, req_id, raw)
        return
    m = emu.driver.markets.get(inst_id)
    if m is None or (channel == "funding-rate" and not inst_id.endswith("-SWAP")):
        _error(conn, "60018", message("60018", channel, inst_id), req_id)
        return
    clean = {"channel": channel, "instId": inst_id}
    ack["arg"] = clean
    if op == "subscribe":
        emu.hub.subscribe_public(conn, channel, inst_id)
        conn.send_json(ack)
        emu.hub.initial_push(conn, channel, m, now_ms())
    else:
        emu.hub.unsubscribe_public(conn, channel, inst_id)
        conn.send_json(ack)


def _sub_private(
    emu: OkxEmulator,
    conn: Conn,
    op: str,
    channel: str,
    arg: dict[str, Any],
    ack: dict[str, Any],
    req_id: str | None,
    raw: str,
) -> None:
    if not conn.logged_in:
        _error(conn, "60011", message("60011"), req_id)
        return
    clean = {
        k: str(v)
        for k, v in arg.items()
        if k in ("channel", "instType", "instId", "instFamily", "ccy")
    }
    if channel in ("orders", "positions") and clean.get("instType") not in INST_TYPES:
        _error(conn, "60012", f"Invalid request: {raw}", req_id)
        return
    inst_id = clean.get("instId")
    if inst_id and inst_id not in emu.driver.markets:
        _error(conn, "60018", message("60018", channel, inst_id), req_id)
        return
    key = json.dumps(clean, sort_keys=True)
    ack["arg"] = clean
    if op == "unsubscribe":
        conn.private_subs.pop(key, None)
        conn.send_json(ack)
        return
    conn.private_subs[key] = clean
    conn.send_json(ack)
    if channel == "positions":
        conn.send_json({"arg": clean, "data": emu.position_rows(clean)})
    elif channel == "account":
        conn.send_json({"arg": clean, "data": emu.account_rows(clean.get("ccy", ""))})


def _order_op(emu: OkxEmulator, conn: Conn, op: str, args: Any, req_id: str | None) -> None:
    in_time = now_us()
    base: dict[str, Any] = {"id": req_id or "", "op": op}
    if conn.kind != "private":
        _error(conn, "60018", message("60018", op, ""), req_id)
        return
    if not conn.logged_in:
        conn.send_json(
            {
                **base,
                "code": "60011",
                "msg": message("60011"),
                "data": [],
                "inTime": str(in_time),
                "outTime": str(now_us()),
            }
        )
        return
    if (
        req_id is None
        or not isinstance(args, list)
        or not args
        or not all(isinstance(a, dict) for a in args)
    ):
        conn.send_json(
            {
                **base,
                "code": "60013",
                "msg": message("60013"),
                "data": [],
                "inTime": str(in_time),
                "outTime": str(now_us()),
            }
        )
        return
    batch = op.startswith("batch")
    if not batch and len(args) != 1:
        conn.send_json(
            {
                **base,
                "code": "60013",
                "msg": message("60013"),
                "data": [],
                "inTime": str(in_time),
                "outTime": str(now_us()),
            }
        )
        return
    emu.hub.hold()
    try:
        code, msg, data = emu.trading.run_op(op, args)
        conn.send_json(
            {
                **base,
                "code": code,
                "msg": msg,
                "data": data,
                "inTime": str(in_time),
                "outTime": str(now_us()),
            }
        )
    finally:
        emu.hub.release()
