"""BitMEX WebSocket (``/realtime``): the table protocol, its commands and authentication.

Every push is ``{"table", "action": partial|insert|update|delete, "data"}``. A subscription
starts with a ``partial`` (the full image, with ``keys`` / ``types`` / ``filter``); later
messages change rows identified by the table's keys. ``orderBookL2`` keys levels by
``(symbol, id, side)``: an ``update`` carries only the new size (the client looks the price
up by id), a ``delete`` only the keys -- so a client's book is exactly ours after every
message (:class:`~tradeloop.emulator.bookview.BookViews` turns market steps into those
deltas: the full ladder for ``orderBookL2``, the top 25 for ``orderBookL2_25``).

Commands are ``{"op", "args"}``: ``subscribe`` / ``unsubscribe`` (``table`` or
``table:SYMBOL``; acks one per arg), ``authKeyExpires`` ([key, expires, hex HMAC-SHA256 of
``"GET/realtime" + expires``]; any expires later than now is accepted, so ccxt's millisecond
value works), ``cancelAllAfter`` (the dead-man switch); the text ``ping`` is answered
``pong``. The ``api-key`` / ``api-expires`` / ``api-signature`` headers (or query params) on
the upgrade request authenticate the connection too, as BitMEX's own connectors do.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradeloop.emulator import hub as hub_mod
from tradeloop.emulator import ws as ws_mod
from tradeloop.emulator.auth import same, sign_hex
from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex import tables
from tradeloop.emulator.bookview import BookViews, Levels
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.hub import Conn
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import MINUTE_MS, BookChange, PublicTrade, SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.bitmex.server import BitmexEmulator

log = logging.getLogger(__name__)

WELCOME = "Welcome to the BitMEX Realtime API."
PUBLIC = (
    "orderBookL2",
    "orderBookL2_25",
    "orderBook10",
    "quote",
    "trade",
    "tradeBin1m",
    "instrument",
)
PRIVATE = ("order", "execution", "position", "margin", "wallet")
FULL_DEPTH = 10**6
#: market steps of a symbol between two ``instrument`` updates
INSTRUMENT_EVERY = 10


class BitmexHub(hub_mod.Hub):
    """BitMEX's tables on the shared hub."""

    def __init__(self, emu: BitmexEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.views = {
            "orderBookL2": BookViews(FULL_DEPTH),
            "orderBookL2_25": BookViews(25),
            "orderBook10": BookViews(10),
        }
        self._top: dict[str, tuple[int, str, int, str]] = {}
        self._minute: dict[str, int] = {}
        self._steps: dict[str, int] = {}
        self._instrument_rows: dict[str, dict[str, Any]] = {}

    def open(self, ws: web.WebSocketResponse, kind: str = "") -> Conn:
        conn = super().open(ws, kind)
        conn.send_json(
            {
                "info": WELCOME,
                "version": "2024-11-01T00:00:00.000Z",
                "timestamp": ct.iso(now_ms()),
                "docs": "https://www.bitmex.com/app/wsAPI",
                "limit": {"remaining": 39},
            }
        )
        auth, _, subs = kind.partition("|")
        if auth == "auth":
            conn.logged_in = True
        if subs:
            self.emu.ws_protocol.subscribe(conn, "subscribe", subs.split(","), None)
        return conn

    # -- messages ----------------------------------------------------------------------------
    @staticmethod
    def msg(table: str, action: str, data: list[Any]) -> dict[str, Any]:
        return {"table": table, "action": action, "data": data}

    @staticmethod
    def partial(table: str, data: list[Any], sym: str = "") -> dict[str, Any]:
        """A ``partial`` (:mod:`.tables`): a public table's for ``sym``, or for every symbol
        (``sym`` empty, public) or the account's (private)."""
        if table in PRIVATE:
            return tables.partial(table, data, {"account": tables.ACCOUNT})
        return tables.partial(table, data, {"symbol": sym} if sym else {})

    def level(
        self, m: SymbolMarket, p: int, size: str, side: str, t: str, price: bool = True
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "symbol": m.instrument.symbol,
            "id": ct.level_id(self.emu.index[m.instrument.symbol], p),
            "side": side,
        }
        if size != "0":
            row["size"] = ct.num(size)
        if price:
            row["price"] = ct.num(m.px(p))
        if size != "0" or price:
            row["timestamp"] = t
        return row

    def book_image(self, table: str, m: SymbolMarket) -> list[dict[str, Any]]:
        bids, asks = self.views[table].snapshot(m)
        t = ct.iso(now_ms())
        return [self.level(m, p, s, "Sell", t) for p, s in asks[::-1]] + [
            self.level(m, p, s, "Buy", t) for p, s in bids
        ]

    def book10(self, m: SymbolMarket, levels: tuple[Levels, Levels], ts: int) -> dict[str, Any]:
        bids, asks = levels
        return {
            "symbol": m.instrument.symbol,
            "bids": [[ct.num(m.px(p)), ct.num(s)] for p, s in bids],
            "asks": [[ct.num(m.px(p)), ct.num(s)] for p, s in asks],
            "timestamp": ct.iso(ts),
        }

    def image(self, table: str, m: SymbolMarket) -> list[dict[str, Any]]:
        """The rows a new subscriber's ``partial`` carries (it also anchors the view the next
        deltas apply to)."""
        t = now_ms()
        if table.startswith("orderBookL2"):
            return self.book_image(table, m)
        if table == "orderBook10":
            return [self.book10(m, self.views[table].snapshot(m), t)]
        if table == "quote":
            return [ct.quote_row(m, t)]
        if table == "trade":
            return [ct.trade_row(m, x) for x in list(m.trades)[-100:]]
        if table == "instrument":  # the first image is what the first update is a change of
            row = self.emu.instrument_row(m, t)
            self._instrument_rows.setdefault(m.instrument.symbol, row)
            return [row]
        if table == "tradeBin1m":  # the latest closed bin; the next insert is the one after
            self._minute.setdefault(m.instrument.symbol, m.candles[-1].start // MINUTE_MS)
            return [ct.bin_row(m, m.candles[-2], MINUTE_MS)] if len(m.candles) > 1 else []
        return []

    # -- market steps ------------------------------------------------------------------------
    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        for table in ("orderBookL2", "orderBookL2_25"):
            if self.listening((table, sym)):
                self._l2(table, m, change.ts)
            else:
                self.views[table].drop(sym)
        if self.listening(("orderBook10", sym)):
            if self.views["orderBook10"].advance(m) is not None:
                row = self.book10(m, self.views["orderBook10"].current(sym), change.ts)
                self.broadcast(("orderBook10", sym), self.msg("orderBook10", "update", [row]))
        else:
            self.views["orderBook10"].drop(sym)
        top = (m.best_bid(), m.bids[m.best_bid()], m.best_ask(), m.asks[m.best_ask()])
        if self._top.get(sym) != top:
            self._top[sym] = top
            if self.listening(("quote", sym)):
                self.broadcast(
                    ("quote", sym), self.msg("quote", "insert", [ct.quote_row(m, change.ts)])
                )
        if change.trades:
            self.push_trades(m, change.trades)
        self._bins(m, change.ts)
        self._instrument(m, change.ts)

    def _instrument(self, m: SymbolMarket, ts: int) -> None:
        """Every :data:`INSTRUMENT_EVERY` steps of a symbol, an ``instrument`` update with the
        fields that changed since the last one (plus its key and ``timestamp``), as BitMEX
        sends them."""
        sym = m.instrument.symbol
        n = self._steps[sym] = self._steps.get(sym, 0) + 1
        if n % INSTRUMENT_EVERY or not self.listening(("instrument", sym)):
            return
        row = self.emu.instrument_row(m, ts)
        last = self._instrument_rows.get(sym, {})
        self._instrument_rows[sym] = row
        changed = {k: v for k, v in row.items() if k != "timestamp" and last.get(k) != v}
        if changed:
            data = {"symbol": sym, **changed, "timestamp": row["timestamp"]}
            self.broadcast(("instrument", sym), self.msg("instrument", "update", [data]))

    def _l2(self, table: str, m: SymbolMarket, ts: int) -> None:
        view = self.views[table]
        sym = m.instrument.symbol
        had_bids, had_asks = (dict(x) for x in view.current(sym))
        deltas = view.advance(m)
        if deltas is None:
            return
        t = ct.iso(ts)
        dels: list[dict[str, Any]] = []
        ups: list[dict[str, Any]] = []
        ins: list[dict[str, Any]] = []
        for side, had, levels in (("Buy", had_bids, deltas[0]), ("Sell", had_asks, deltas[1])):
            for p, s in levels:
                if s == "0":
                    dels.append(self.level(m, p, "0", side, t, price=False))
                elif p in had:
                    ups.append(self.level(m, p, s, side, t, price=False))
                else:
                    ins.append(self.level(m, p, s, side, t))
        if self.emu.faults.take_skip_seq():
            self._lost(table, m, ins, t)
            return
        for action, rows in (("delete", dels), ("update", ups), ("insert", ins)):
            if rows:
                self.broadcast((table, sym), self.msg(table, action, rows))

    def _lost(self, table: str, m: SymbolMarket, inserted: list[dict[str, Any]], t: str) -> None:
        """The kit's ``skip_seq`` fault on BitMEX: this step's L2 messages are lost (the view
        has moved on, so every client's copy lacks them). BitMEX numbers nothing, so a client
        learns of a loss only when a later row names a level it never saw: the emulator sends
        that row at once -- a new size for a level the lost message inserted or, when it
        inserted none, for a level id no book holds -- so the loss is always noticed."""
        sym = m.instrument.symbol
        log.info("fault: lost %s message %s", table, sym)
        if inserted:
            row = {k: v for k, v in inserted[0].items() if k != "price"}
        else:  # an id below every real level's (no price maps to it)
            row = {"symbol": sym, "id": ct.level_id(self.emu.index[sym], -1), "side": "Buy",
                   "size": ct.num(m.instrument.format_qty(m.instrument.lot_size)),
                   "timestamp": t}  # fmt: skip
        self.broadcast((table, sym), self.msg(table, "update", [row]))

    def _bins(self, m: SymbolMarket, ts: int) -> None:
        sym = m.instrument.symbol
        minute = ts // MINUTE_MS
        last = self._minute.setdefault(sym, minute)
        if minute == last:
            return
        self._minute[sym] = minute
        if not self.listening(("tradeBin1m", sym)):
            return
        rows = [ct.bin_row(m, c, MINUTE_MS) for c in m.since(MINUTE_MS, 0, last * MINUTE_MS)[:-1]]
        if rows:
            self.broadcast(("tradeBin1m", sym), self.msg("tradeBin1m", "insert", rows))

    def push_trades(self, m: SymbolMarket, trades: list[PublicTrade]) -> None:
        key = ("trade", m.instrument.symbol)
        if self.listening(key):
            msg = self.msg("trade", "insert", [ct.trade_row(m, t) for t in trades])
            self.defer(lambda: self.broadcast(key, msg))

    def push_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        self.to_private(table, self.msg(table, action, rows))


class BitmexWs:
    """BitMEX's WebSocket dialect for the shared connection loop."""

    login_close = (1008, b"Too many failed authentication attempts")

    def __init__(self, emu: BitmexEmulator) -> None:
        self.emu = emu

    def on_text(self, conn: Conn, text: str) -> None:
        if text == "ping":
            return conn.send("pong")
        if text == "help":
            return conn.send_json(
                {
                    "op": "help",
                    "ops": ["authKeyExpires", "cancelAllAfter", "subscribe", "unsubscribe"],
                    "subscriptionSubjects": {
                        "public": list(PUBLIC),
                        "authenticationRequired": list(PRIVATE),
                    },
                }
            )
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            req = None
        if not isinstance(req, dict):
            return _error(
                conn, 400, "Unrecognized request. See the docs or send 'help' for more details.", {}
            )
        op, args = req.get("op"), req.get("args")
        if op in ("subscribe", "unsubscribe"):
            items = args if isinstance(args, list) else [args]
            self.subscribe(conn, op, items, req)
        elif op == "authKeyExpires":
            self._auth(conn, args, req)
        elif op == "cancelAllAfter":
            self._dead_man(conn, args, req)
        else:
            _error(conn, 400, f"Unknown or unsupported command: {clip(op, 32)}", req)

    def on_binary(self, conn: Conn, data: bytes) -> None:
        _error(conn, 400, "Unrecognized request. See the docs or send 'help' for more details.", {})

    def on_crash(self, conn: Conn) -> None:
        _error(conn, 500, "Internal error", {})

    def _auth(self, conn: Conn, args: Any, req: dict[str, Any]) -> None:
        if conn.logged_in:
            return _error(conn, 400, "Already authenticated", req)
        cfg = self.emu.config
        a = args if isinstance(args, list) and len(args) == 3 else [None, None, None]
        key, exp, sig = a
        ok = (
            isinstance(key, str)
            and isinstance(sig, str)
            and isinstance(exp, int | str)
            and not isinstance(exp, bool)
            and str(exp).isdigit()
            and len(str(exp)) <= 16
            and int(exp) > time.time()
            and same(key, cfg.api_key)
            and same(sig, sign_hex(cfg.api_secret, f"GET/realtime{exp}"))
        )
        if not ok:
            conn.login_failures += 1  # the shared loop closes the socket past the limit
            why = (
                "Signature not valid."
                if isinstance(key, str) and same(key, cfg.api_key)
                else "Invalid API Key."
            )
            if isinstance(exp, int | str) and str(exp).isdigit() and int(exp) <= time.time():
                why = "Signature expired."
            return _error(conn, 401, why, req)
        conn.logged_in = True
        conn.send_json({"success": True, "request": req})

    def _dead_man(self, conn: Conn, args: Any, req: dict[str, Any]) -> None:
        if not conn.logged_in:
            return _error(conn, 401, "Not authenticated", req)
        timeout = args[0] if isinstance(args, list) and args else args
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            return _error(conn, 400, "Invalid timeout", req)
        res = self.emu.trading.cancel_all_after({"timeout": timeout})
        conn.send_json({**res, "request": req})

    def subscribe(self, conn: Conn, op: str, items: list[Any], req: dict[str, Any] | None) -> None:
        request = req or {"op": op, "args": items}
        hub = self.emu.hub
        for item in items[:64]:
            if not isinstance(item, str):
                _error(conn, 400, "Invalid subscription arg", request)
                continue
            table, _, sym = item.partition(":")
            if table in PRIVATE:
                if not conn.logged_in:
                    _error(
                        conn,
                        401,
                        "User requested an account-locked subscription but no "
                        "authorization was provided.",
                        request,
                    )
                    continue
                hub.toggle_private(conn, table, op == "subscribe")  # BitMEX acks either way
                conn.send_json({"success": True, op: item, "request": request})
                if op == "subscribe":
                    conn.send_json(hub.partial(table, self._private_image(table)))
                continue
            if table not in PUBLIC:
                _error(conn, 400, f"Unknown table: {clip(table, 32)}", request)
                continue
            markets = self.emu.driver.markets
            if sym in ("", "*"):
                syms = list(markets)
            elif sym in markets:
                syms = [sym]
            else:
                _error(conn, 400, f"Unknown symbol: {clip(sym, 32)}", request)
                continue
            if op == "subscribe":
                added = [s for s in syms if hub.subscribe(conn, (table, s))]
                if not added:
                    _error(conn, 400, f"You are already subscribed to this topic: {item}", request)
                    continue
                conn.send_json({"success": True, op: item, "request": request})
                if sym in ("", "*"):  # one image of every symbol, unfiltered
                    rows = [r for s in added for r in hub.image(table, markets[s])]
                    conn.send_json(hub.partial(table, rows))
                else:
                    conn.send_json(hub.partial(table, hub.image(table, markets[sym]), sym))
            else:
                for s in syms:
                    hub.unsubscribe(conn, (table, s))
                conn.send_json({"success": True, op: item, "request": request})

    def _private_image(self, table: str) -> list[dict[str, Any]]:
        tr = self.emu.trading
        if table == "order":
            return [tr.order_row(i, r) for i, r in tr.account.orders(open_only=True)][::-1]
        if table == "position":
            return tr.positions({"count": 1000})
        if table == "margin":
            return [tr.margin_row(c) for c in tr.currencies("all")]
        if table == "wallet":
            return [tr.wallet_row(c) for c in tr.currencies("all")]
        return []


def _error(conn: Conn, status: int, message: str, request: Any) -> None:
    conn.send_json({"status": status, "error": message, "meta": {}, "request": request})


def upgrade_handler(emu: BitmexEmulator) -> Any:
    """``/realtime``: authenticate from the upgrade's api-* headers (or query), then serve."""

    async def handle(request: web.Request) -> web.StreamResponse:
        h, q = request.headers, request.query
        key = h.get("api-key") or q.get("api-key", "")
        exp = h.get("api-expires") or q.get("api-expires", "")
        sig = h.get("api-signature") or q.get("api-signature", "")
        auth = "anon"
        if key or sig:
            from tradeloop.emulator.bitmex.rest import BitmexError, check_signed, failure

            try:  # signed as ``GET/realtime`` + expires (whatever the query), no upper bound
                check_signed(emu, key, exp, sig, "GET/realtime", "", time.time(), math.inf)
            except BitmexError as exc:
                return failure(exc.status, exc.msg, exc.name)
            auth = "auth"
        subs = q.get("subscribe", "")
        return await ws_mod.serve(emu, emu.hub, emu.ws_protocol, request, f"{auth}|{subs}")

    return handle
