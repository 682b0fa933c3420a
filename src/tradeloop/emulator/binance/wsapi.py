"""Binance WebSocket API (spot ``/ws-api/v3``, USD-M futures ``/ws-fapi/v1``): requests,
signing, the user data stream.

A request is ``{"id", "method", "params"}``; the answer repeats the id with ``status`` and
``result`` (or ``error: {code, msg}``) and a ``rateLimits`` block (the connection's IP weight
this minute, shared with REST as on Binance). SIGNED methods take ``apiKey``, ``timestamp``
and ``signature`` in ``params`` -- the signature over the other params sorted by name,
``k=v&...``, not percent-encoded (:func:`.auth.ws_payload`) -- unless the connection has done
``session.logon``, which takes an **Ed25519** signature only (Binance refuses HMAC and RSA
keys there) and then authenticates every later request. ``userDataStream.subscribe`` (after
logon) or ``userDataStream.subscribe.signature`` (signed, any key type) starts the user data
events on this connection, wrapped ``{"subscriptionId", "event"}``.

USD-M futures (``wss://ws-fapi.binance.com/ws-fapi/v1``) speak the same dialect -- ids,
``status``, ``result``/``error``, ``rateLimits``, per-request signatures or Ed25519
``session.logon`` -- over another method table (``order.place``, ``order.modify``,
``v2/account.balance`` ...: :func:`.futures.ws_methods`), the futures side's weights and
hub, and no user data stream (futures user data stays on the listenKey socket). One
:class:`ApiWs` serves both; only the table, the limits and the hub differ.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.auth import same
from tradeloop.emulator.binance import auth, rest
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.binance.limits import Limits
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.hub import Conn, Hub
from tradeloop.emulator.limits import clip

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

log = logging.getLogger(__name__)

Method = Callable[["BinanceEmulator", dict[str, Any]], Any]


def text_params(params: dict[str, Any]) -> dict[str, str]:
    """JSON params as the REST handlers see them (strings; lists as JSON text)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, list):
            out[k] = json.dumps(v)
        elif v is not None:
            out[k] = str(v)
    return out


def _t(emu: BinanceEmulator) -> Any:
    return emu.trading


#: method -> (handler, signed, weight)
METHODS: dict[str, tuple[Method, bool, int]] = {
    "ping": (lambda e, p: {}, False, 1),
    "time": (lambda e, p: {"serverTime": now_ms()}, False, 1),
    "exchangeInfo": (lambda e, p: rest.exchange_info(e, text_params(p)), False, 20),
    "depth": (lambda e, p: rest.depth(e, text_params(p)), False, 5),
    "trades.recent": (lambda e, p: rest.trades(e, text_params(p)), False, 25),
    "klines": (lambda e, p: rest.klines(e, text_params(p)), False, 2),
    "ticker.price": (lambda e, p: rest.ticker_price(e, text_params(p)), False, 2),
    "ticker.book": (lambda e, p: rest.book_ticker(e, text_params(p)), False, 2),
    "ticker.24hr": (lambda e, p: rest.ticker_24h(e, text_params(p)), False, 2),
    "order.place": (lambda e, p: _t(e).place(text_params(p)), True, 1),
    "order.test": (lambda e, p: _t(e).check(text_params(p)) and {}, True, 1),
    "order.status": (lambda e, p: _t(e).get(text_params(p)), True, 4),
    "order.cancel": (lambda e, p: _t(e).cancel(text_params(p)), True, 1),
    "openOrders.status": (lambda e, p: _t(e).open_orders(text_params(p)), True, 6),
    "openOrders.cancelAll": (lambda e, p: _t(e).cancel_all(text_params(p)), True, 1),
    "allOrders": (lambda e, p: _t(e).all_orders(text_params(p)), True, 20),
    "myTrades": (lambda e, p: _t(e).my_trades(text_params(p)), True, 20),
    "account.status": (lambda e, p: _t(e).account_row(text_params(p)), True, 20),
}
_SIGNED_ONLY = ("apiKey", "signature", "timestamp", "recvWindow")


class ApiWs:
    """The WS API dialect for the shared WS loop (see the module docstring). ``methods``,
    ``limits`` and ``hub`` default to spot's; ``path`` names the endpoint in
    ``emu.served``; ``user_data`` False: no ``userDataStream.*`` methods (futures)."""

    login_close = (1008, b"Too many failed logins")

    def __init__(
        self,
        emu: BinanceEmulator,
        methods: Mapping[str, tuple[Method, bool, int]] = METHODS,
        *,
        limits: Limits | None = None,
        hub: Hub | None = None,
        path: str = "/ws-api/v3",
        version: str = "v3/",
        user_data: bool = True,
    ) -> None:
        self.emu = emu
        self.methods = methods
        self.limits = limits or emu.limits
        self.hub = hub or emu.hub
        self.path = path
        #: a version prefix the method names may carry (spot: ``v3/order.place``)
        self.version = version
        self.user_data = user_data
        self._next_sub = 0

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            req = None
        if not isinstance(req, dict):
            return self._error(conn, None, E.BinanceError(-1000, "Invalid JSON."))
        rid = req.get("id")
        if not (rid is None or isinstance(rid, str | int)) or len(str(rid)) > 36:
            return self._error(conn, None, E.BinanceError(-1000, "Invalid request id."))
        method, params = req.get("method"), req.get("params", {})
        if not isinstance(method, str):
            return self._error(conn, rid, E.mandatory("method"))
        method = method.removeprefix(self.version)
        if not isinstance(params, dict):
            return self._error(conn, rid, E.illegal("params"))
        hub_ = self.hub
        hub_.hold()
        try:
            self._serve(conn, rid, method, params)
        except E.BinanceError as err:
            self._error(conn, rid, err)
        finally:
            hub_.release()

    def _ip(self, conn: Conn) -> str:
        return conn.kind.partition(":")[2] or "?"

    def _serve(self, conn: Conn, rid: Any, method: str, params: dict[str, Any]) -> None:
        now = now_ms()
        entry = self.methods.get(method)
        if method.startswith("session.") or (
            self.user_data and method.startswith("userDataStream.")
        ):
            weight = 2
        elif entry is None:
            raise E.BinanceError(-1000, f"Unknown method: {clip(method, 32)}")
        else:
            weight = entry[2]
        used = self.limits.charge(self._ip(conn), weight, now)
        self.emu.served[f"{self.path} {method}"] += 1
        if method == "session.logon":
            self._verify(params, ed25519_only=True)
            conn.logged_in = True
            conn.private_subs["session"] = {"since": str(now)}
            return self._ok(conn, rid, self._session(conn, now), used)
        if method == "session.status":
            return self._ok(conn, rid, self._session(conn, now), used)
        if method == "session.logout":
            conn.logged_in = False
            conn.private_subs.pop("session", None)
            return self._ok(conn, rid, self._session(conn, now), used)
        if method in ("userDataStream.subscribe", "userDataStream.subscribe.signature"):
            if method.endswith(".signature"):
                self._verify(params)
            elif not conn.logged_in:
                raise E.BinanceError(-1002, "You are not authorized to execute this request.",
                                     401)  # fmt: skip
            if "user" in conn.private_subs:
                raise E.BinanceError(-1000, "User data stream already subscribed.")
            sub = self._next_sub
            self._next_sub += 1
            conn.private_subs["user"] = {"id": str(sub)}
            return self._ok(conn, rid, {"subscriptionId": sub}, used)
        if method == "userDataStream.unsubscribe":
            conn.private_subs.pop("user", None)
            return self._ok(conn, rid, {}, used)
        if method == "session.subscriptions":
            user = conn.private_subs.get("user")
            rows = [{"subscriptionId": int(user["id"])}] if user else []
            return self._ok(conn, rid, rows, used)
        if entry is None:  # session.* / userDataStream.* names this endpoint lacks
            raise E.BinanceError(-1000, f"Unknown method: {clip(method, 32)}")
        handler, signed, _ = entry
        if signed:
            if conn.logged_in and "signature" not in params:
                auth.check_timestamp(params, now)
            else:
                self._verify(params)
            params = {k: v for k, v in params.items() if k not in ("apiKey", "signature")}
        self._ok(conn, rid, handler(self.emu, params), used)

    def _verify(self, params: dict[str, Any], ed25519_only: bool = False) -> None:
        cfg = self.emu.config
        key, sig = params.get("apiKey"), params.get("signature")
        if not isinstance(key, str) or not key:
            raise E.mandatory("apiKey")
        if not same(key, cfg.api_key):
            raise E.BinanceError(
                E.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401
            )
        if not isinstance(sig, str) or not sig:
            raise E.mandatory("signature")
        auth.check_timestamp(params, now_ms())
        if ed25519_only and not auth.is_ed25519(sig):
            raise E.BinanceError(-4056, "HMAC_SHA256 API key is not supported.")
        ed = self.emu.ed25519_key
        if not auth.signature_ok(cfg.api_secret, ed, auth.ws_payload(params), sig):
            raise E.BinanceError(E.INVALID_SIGNATURE, "Signature for this request is not valid.")

    def _session(self, conn: Conn, now: int) -> dict[str, Any]:
        since = conn.private_subs.get("session")
        return {
            "apiKey": self.emu.config.api_key if conn.logged_in else None,
            "authorizedSince": int(since["since"]) if since else None,
            "connectedSince": int(conn.conn_id, 16) and now,
            "returnRateLimits": True,
            "serverTime": now,
            "userDataStream": "user" in conn.private_subs,
        }

    def _limits(self, used: int) -> list[dict[str, Any]]:
        c = self.limits.config
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": c.weight_per_minute, "count": used}]  # fmt: skip

    def _ok(self, conn: Conn, rid: Any, result: Any, used: int) -> None:
        conn.send_json({"id": rid, "status": 200, "result": result,
                        "rateLimits": self._limits(used)})  # fmt: skip

    def _error(self, conn: Conn, rid: Any, err: E.BinanceError) -> None:
        msg: dict[str, Any] = {"id": rid, "status": err.status,
                               "error": {"code": err.code, "msg": err.msg}}  # fmt: skip
        if err.retry_after:
            msg["error"]["data"] = {"retryAfter": now_ms() + err.retry_after * 1000}
        used = self.limits.used(self._ip(conn), now_ms())
        msg["rateLimits"] = self._limits(used)
        conn.send_json(msg)

    def on_binary(self, conn: Conn, data: bytes) -> None:
        self._error(conn, None, E.BinanceError(-1000, "Invalid JSON."))

    def on_crash(self, conn: Conn) -> None:
        self._error(conn, None, E.BinanceError(-1000, "An unknown error occurred."))
