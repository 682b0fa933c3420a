"""FTX WebSocket (``/ws/``): channels, login and the orderbook checksum.

Requests are ``{"op": ...}``: ``ping`` -> ``{"type": "pong"}``; ``login`` with
``args = {key, time (ms), sign = hex HMAC-SHA256(secret, f"{time}websocket_login"),
subaccount?}`` (FTX sends nothing on success; a second login, or a bad one, is an error);
``subscribe`` / ``unsubscribe`` to ``ticker``, ``trades``, ``orderbook`` (with ``market``) or,
once logged in, ``fills`` / ``orders``. Errors are ``{"type": "error", "code": 400, "msg"}``.

``orderbook`` sends a ``partial`` of the top 100 levels per side, then ``update``s that keep a
client's copy equal to that top-100 view (levels entering it are added, levels leaving it are
sent with size 0), each with FTX's checksum: the unsigned CRC32 of
``bid1_px:bid1_sz:ask1_px:ask1_sz:bid2_px:...`` over the top 100 levels, numbers written as
Python writes floats (``60012.0``, ``1e-05``), a side that runs out simply left out.
The connection loop itself (latency, guarded dispatch, login throttle) is the shared
:mod:`tradeloop.emulator.ws`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tradeloop.emulator import hub
from tradeloop.emulator.auth import timed_login_ok
from tradeloop.emulator.bookview import CheckedViews, float_text_crc
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.ftx import markets as mk
from tradeloop.emulator.hub import Conn
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import BookChange, PublicTrade, SymbolMarket
from tradeloop.emulator.ws import json_object

if TYPE_CHECKING:
    from tradeloop.emulator.ftx.server import FtxEmulator

log = logging.getLogger(__name__)

DEPTH = 100
PUBLIC = ("ticker", "trades", "orderbook")
PRIVATE = ("fills", "orders")
Book = list[list[float]]


#: FTX's orderbook checksum of best-first ``[price, size]`` lists (see the module docstring)
checksum = float_text_crc(DEPTH)


class FtxHub(hub.Hub):
    """FTX's channels on the shared hub; ``books`` holds the top 100 each client holds."""

    def __init__(self, emu: FtxEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.books = CheckedViews(DEPTH, checksum)

    def message(self, channel: str, sym: str, data: Any, kind: str = "update") -> dict[str, Any]:
        return {"channel": channel, "market": sym, "type": kind, "data": data}

    def book_message(
        self, m: SymbolMarket, ts_ms: int, step: tuple[Book, Book, int], kind: str = "update"
    ) -> dict[str, Any]:
        bids, asks, crc = step
        data = {"time": ts_ms / 1000, "checksum": crc, "bids": bids, "asks": asks, "action": kind}
        return self.message("orderbook", m.instrument.symbol, data, kind)

    def partial(self, m: SymbolMarket) -> dict[str, Any]:
        return self.book_message(m, now_ms(), self.books.partial(m), "partial")

    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        step = self.books.step(m, self.listening(("orderbook", sym)), self.emu.faults)
        if step is not None:
            self.broadcast(("orderbook", sym), self.book_message(m, change.ts, step))
        if self.listening(("ticker", sym)):
            self.broadcast(("ticker", sym), self.message("ticker", sym, mk.ticker(m, change.ts)))
        if change.trades:
            self.push_trades(m, change.trades)

    def push_trades(self, m: SymbolMarket, trades: list[PublicTrade]) -> None:
        key = ("trades", m.instrument.symbol)
        if self.listening(key):
            msg = self.message("trades", m.instrument.symbol, [mk.trade(t) for t in trades])
            self.defer(lambda: self.broadcast(key, msg))

    def push_private(self, channel: str, data: dict[str, Any]) -> None:
        self.to_private(channel, {"channel": channel, "type": "update", "data": data})


class FtxWs:
    """FTX's WebSocket dialect for the shared connection loop."""

    login_close = (1008, b"Too many failed logins")

    def __init__(self, emu: FtxEmulator) -> None:
        self.emu = emu

    def on_text(self, conn: Conn, text: str) -> None:
        req = json_object(text)
        if req is None:
            return _error(conn, "Invalid JSON")
        op = req.get("op")
        if op == "ping":
            conn.send_json({"type": "pong"})
        elif op == "login":
            self._login(conn, req.get("args"))
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(conn, op, req.get("channel"), req.get("market"))
        else:
            _error(conn, f"Invalid op: {clip(op, 32)}")

    def on_binary(self, conn: Conn, data: bytes) -> None:
        _error(conn, "Invalid JSON")

    def on_crash(self, conn: Conn) -> None:
        _error(conn, "Internal server error", 500)

    def _login(self, conn: Conn, args: Any) -> None:
        if conn.logged_in:
            return _error(conn, "Already logged in")
        cfg = self.emu.config
        a = args if isinstance(args, dict) else {}
        key, sign, t, sub = a.get("key"), a.get("sign"), a.get("time"), a.get("subaccount")
        prehash = "{}websocket_login".format
        signed = timed_login_ok(cfg.api_key, cfg.api_secret, key, sign, t, prehash)
        if not (signed and (sub in (None, "") or sub in cfg.subaccounts)):
            conn.login_failures += 1  # the shared loop closes the socket past the limit
            return _error(conn, "Invalid login credentials")
        conn.logged_in = True

    def _subscribe(self, conn: Conn, op: str, channel: Any, market: Any) -> None:
        on, hub_ = op == "subscribe", self.emu.hub
        ack: dict[str, Any] = {"type": f"{op}d", "channel": channel}
        again = "Already subscribed" if on else "Not subscribed"
        if channel in PRIVATE:
            if not conn.logged_in:
                return _error(conn, "Not logged in")
            if not hub_.toggle_private(conn, channel, on):
                return _error(conn, again)
            return conn.send_json(ack)
        if channel not in PUBLIC:
            return _error(conn, f"Invalid channel: {clip(channel, 32)}")
        m = self.emu.driver.markets.get(market) if isinstance(market, str) else None
        if m is None:
            return _error(conn, f"No such market: {clip(market, 64)}", 404)
        if not hub_.toggle(conn, (channel, m.instrument.symbol), on):
            return _error(conn, again)
        conn.send_json({**ack, "market": market})
        if on and channel == "orderbook":
            conn.send_json(hub_.partial(m))
        elif on and channel == "ticker":
            conn.send_json(hub_.message("ticker", market, mk.ticker(m, now_ms())))


def _error(conn: Conn, msg: str, code: int = 400) -> None:
    conn.send_json({"type": "error", "code": code, "msg": msg})
