"""OKX v5 WebSocket endpoints: ``/ws/v5/public``, ``/ws/v5/private``, ``/ws/v5/business``.

Protocol as OKX speaks it: text ``ping`` -> ``pong``; ``op`` = ``login`` / ``subscribe`` /
``unsubscribe`` with one ack or error event per arg (``id`` echoed); order entry ops on
/private (``order``, ``batch-orders``, ``cancel-order``, ``batch-cancel-orders``,
``amend-order``, ``batch-amend-orders``) answered in OKX's ``{"id","op","code","msg","data"}``
shape. The connection loop (latency fault, guarded dispatch, failed-login close, message cap,
protocol pings) is the shared :mod:`tradeloop.emulator.ws`; :class:`OkxWs` is OKX's dialect.

Hostile input gets OKX's error answers, bounded (see :mod:`.limits`): binary frames and
malformed JSON are ``60012``; a subscribe over 64 KB or with too many args is refused as a
whole; a structurally bad arg makes the whole request one ``60012``; duplicate args in one
request are served once; at most :data:`MAX_FRAME_ERRORS` error events answer one request;
echoed text is clipped; after :data:`~.limits.MAX_LOGIN_FAILURES` failed logins the
connection is closed with 4001. An unexpected exception answers ``50026`` and keeps the
connection (one bad message must not cost a client its private stream).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from tradeloop.emulator import ws
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.auth import verify_ws_login
from tradeloop.emulator.okx.bars import lookup
from tradeloop.emulator.okx.errors import OkxError, message
from tradeloop.emulator.okx.hub import Conn
from tradeloop.emulator.okx.limits import (
    MAX_ARG_VALUE,
    MAX_BATCH,
    MAX_ID,
    MAX_SUBSCRIBE_ARGS,
    MAX_SUBSCRIBE_BYTES,
    clip,
)
from tradeloop.emulator.okx.rest import now_us

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

log = logging.getLogger(__name__)

PUBLIC_CHANNELS = {"tickers", "trades", "books", "books5", "bbo-tbt", "mark-price", "funding-rate"}
PRIVATE_CHANNELS = {"orders", "account", "positions", "orders-algo", "balance_and_position"}
INST_TYPES = {"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"}
ORDER_OPS = {
    "order",
    "batch-orders",
    "cancel-order",
    "batch-cancel-orders",
    "amend-order",
    "batch-amend-orders",
}

#: Most error events sent in answer to one subscribe/unsubscribe request; the rest of its
#: args are not processed once this many failed.
MAX_FRAME_ERRORS = 8
#: The arg fields that identify a subscription (duplicates in one request are served once).
_ARG_KEYS = ("channel", "instType", "instId", "instFamily", "ccy")


def _is_candle(channel: str) -> bool:
    return channel.startswith("candle") and lookup(channel[len("candle") :]) is not None


class OkxWs:
    """OKX's WebSocket dialect for the shared connection loop (:func:`ws.serve`)."""

    login_close = (4001, b"Login failed.")

    def __init__(self, emu: OkxEmulator) -> None:
        self.emu = emu

    def on_text(self, conn: Conn, text: str) -> None:
        _on_text(self.emu, conn, text)

    def on_binary(self, conn: Conn, data: bytes) -> None:
        prefix = data[:MAX_ID].decode("utf-8", "replace")
        _error(conn, "60012", f"Invalid request: {clip(prefix, MAX_ID)}", None)

    def on_crash(self, conn: Conn) -> None:
        _error(conn, "50026", message("50026"), None)


def handler(emu: OkxEmulator, kind: str) -> Any:
    """The aiohttp handler for ``/ws/v5/{kind}``."""
    return ws.handler(emu, emu.hub, OkxWs(emu), kind)


def _error(conn: Conn, code: str, msg: str, req_id: str | None) -> None:
    ev: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}
    if req_id is not None:
        ev = {"id": req_id, **ev}
    conn.send_json(ev)


def _on_text(emu: OkxEmulator, conn: Conn, text: str) -> None:
    if text == "ping":
        conn.send("pong")
        return
    invalid = f"Invalid request: {clip(text)}"
    try:
        req = json.loads(text)
        if not isinstance(req, dict):
            raise ValueError
    except (ValueError, RecursionError):
        _error(conn, "60012", invalid, None)
        return
    raw_id = req.get("id")
    req_id = str(raw_id) if raw_id is not None else None
    if req_id is not None and len(req_id) > MAX_ID:  # OKX: id is at most 32 characters
        _error(conn, "60012", invalid, None)
        return
    op = req.get("op")
    args = req.get("args")
    if op == "login":
        _login(emu, conn, args, req_id)
    elif op in ("subscribe", "unsubscribe"):
        _subscribe_request(emu, conn, op, args, req_id, text, invalid)
    elif op in ORDER_OPS:
        _order_op(emu, conn, op, args, req_id)
    else:
        _error(conn, "60012", invalid, req_id)


def _subscribe_request(
    emu: OkxEmulator,
    conn: Conn,
    op: str,
    args: Any,
    req_id: str | None,
    text: str,
    invalid: str,
) -> None:
    """One (un)subscribe request: refused whole when oversized or malformed, else one answer
    per distinct arg, with at most :data:`MAX_FRAME_ERRORS` errors."""
    if (
        len(text) > MAX_SUBSCRIBE_BYTES
        or not isinstance(args, list)
        or not 0 < len(args) <= MAX_SUBSCRIBE_ARGS
        or not all(isinstance(a, dict) and isinstance(a.get("channel"), str) for a in args)
    ):
        _error(conn, "60012", invalid, req_id)
        return
    seen: set[tuple[str, ...]] = set()
    errors = 0
    for arg in args:
        key = tuple(str(arg.get(k, "")) for k in _ARG_KEYS)
        if key in seen:
            continue
        seen.add(key)
        if not _sub(emu, conn, op, arg, req_id, invalid):
            errors += 1
            if errors >= MAX_FRAME_ERRORS:
                return


def _login(emu: OkxEmulator, conn: Conn, args: Any, req_id: str | None) -> None:
    arg = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else None
    try:
        if arg is None:
            raise OkxError("60009")
        verify_ws_login(emu.creds, arg, time.time())
    except OkxError as err:
        conn.login_failures += 1  # the handler closes the socket (4001) past the limit
        _error(conn, err.code, err.msg, req_id)
        return
    conn.logged_in = True
    ev: dict[str, Any] = {"event": "login", "code": "0", "msg": "", "connId": conn.conn_id}
    if req_id is not None:
        ev = {"id": req_id, **ev}
    conn.send_json(ev)


def _sub(
    emu: OkxEmulator, conn: Conn, op: str, arg: dict[str, Any], req_id: str | None, invalid: str
) -> bool:
    """Answer one arg (ack + first push, or an error); False if it was an error."""
    channel: str = arg["channel"]
    inst_id = str(arg.get("instId", ""))
    public_ok = channel in PUBLIC_CHANNELS and conn.kind == "public"
    candle_ok = _is_candle(channel) and conn.kind == "business"
    private_ok = channel in PRIVATE_CHANNELS and (
        conn.kind in emu.config.algo_sockets if channel == "orders-algo" else conn.kind == "private"
    )
    if not (public_ok or candle_ok or private_ok):
        return _not_found(conn, channel, inst_id, req_id)
    ack: dict[str, Any] = {"event": op, "arg": None, "connId": conn.conn_id}  # arg: cleaned
    if req_id is not None:
        ack = {"id": req_id, **ack}
    if private_ok:
        return _sub_private(emu, conn, op, channel, arg, ack, req_id, invalid)
    m = emu.driver.markets.get(inst_id)
    if m is None or (channel == "funding-rate" and not inst_id.endswith("-SWAP")):
        return _not_found(conn, channel, inst_id, req_id)
    clean = {"channel": channel, "instId": inst_id}
    ack["arg"] = clean
    if op == "subscribe":
        emu.hub.subscribe_public(conn, channel, inst_id)
        conn.send_json(ack)
        emu.hub.initial_push(conn, channel, m, now_ms())
    else:
        emu.hub.unsubscribe_public(conn, channel, inst_id)
        conn.send_json(ack)
    return True


def _not_found(conn: Conn, channel: str, inst_id: str, req_id: str | None) -> bool:
    text = message("60018", clip(channel, MAX_ARG_VALUE), clip(inst_id, MAX_ARG_VALUE))
    _error(conn, "60018", text, req_id)
    return False


def _sub_private(
    emu: OkxEmulator,
    conn: Conn,
    op: str,
    channel: str,
    arg: dict[str, Any],
    ack: dict[str, Any],
    req_id: str | None,
    invalid: str,
) -> bool:
    if not conn.logged_in:
        _error(conn, "60011", message("60011"), req_id)
        return False
    clean = {k: str(v) for k, v in arg.items() if k in _ARG_KEYS}
    # values are echoed in every push on this subscription: keep them short
    if any(len(v) > MAX_ARG_VALUE for v in clean.values()) or (
        channel in ("orders", "positions", "orders-algo")
        and clean.get("instType") not in INST_TYPES
    ):
        _error(conn, "60012", invalid, req_id)
        return False
    inst_id = clean.get("instId")
    if inst_id and inst_id not in emu.driver.markets:
        return _not_found(conn, channel, inst_id, req_id)
    key = json.dumps(clean, sort_keys=True)
    ack["arg"] = clean
    if op == "unsubscribe":
        conn.private_subs.pop(key, None)
        conn.send_json(ack)
        return True
    conn.private_subs[key] = clean
    conn.send_json(ack)
    if channel == "positions":
        conn.send_json({"arg": clean, "data": emu.position_rows(clean)})
    elif channel == "account":
        conn.send_json({"arg": clean, "data": emu.account_rows(clean.get("ccy", ""))})
    elif channel == "balance_and_position" and emu.trading is not None:
        conn.send_json({"arg": clean, "data": [emu.trading.views.bal_pos_row("snapshot")]})
    return True


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
    if len(args) > (MAX_BATCH if batch else 1):
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
