"""Bitfinex WebSocket v2 (``/ws/2``): channels, ``conf`` flags, auth, channel 0.

On connect the server sends ``{"event":"info","version":2,"serverId",...,"platform":{"status"}}``.
Requests are JSON objects with an ``event`` (``ping``, ``conf``, ``subscribe``, ``unsubscribe``,
``auth``) or, once authenticated, channel-0 arrays (``[0, "on", null, {...}]``, ``oc``, ``ou``,
``oc_multi``, ``ox_multi``; :mod:`.orders` does the work).

Channel ids are allocated per subscription, so one market message differs between clients
only in its id: the data part is encoded once and framed per connection. ``conf`` flags are
per connection: SEQ_ALL (65536) appends the connection's message counter to every message
(``hb`` too; channel-0 messages also the account counter), TIMESTAMP (32768) appends the time,
OB_CHECKSUM (131072) sends ``[chanId, "cs", crc]`` after every book change, BULK (536870912)
sends a book change as one list instead of one message per level.

Books keep, per (symbol, precision, length), the view last published; each market step sends
exactly the levels that changed in that view (entering, resized, leaving as count 0 / R0 price
0), so a client applying them holds the view and the checksum matches. Faults: ``skip_seq``
loses one book change (its counter value is consumed, so a SEQ_ALL client sees the gap),
``corrupt_checksum`` sends one wrong ``cs``. With ``dms: 4`` an authenticated connection that
closes cancels the account's working orders.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from tradeloop.emulator import hub
from tradeloop.emulator.auth import same
from tradeloop.emulator.bitfinex import markets as mk
from tradeloop.emulator.bitfinex.orders import BfxError
from tradeloop.emulator.faults import wrong_checksum
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.hub import Conn, SubKey
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import BookChange, PublicTrade, SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.bitfinex.server import BitfinexEmulator

log = logging.getLogger(__name__)
_enc = msgspec.json.Encoder()

TIMESTAMP, SEQ_ALL, OB_CHECKSUM, BULK = 32768, 65536, 131072, 536870912
KNOWN_FLAGS = 8 | 32 | TIMESTAMP | SEQ_ALL | OB_CHECKSUM | BULK
MAX_CHANNELS = 25  # Bitfinex: at most 25 channel subscriptions per connection
MAX_OX_OPS = 75
TIMEFRAMES = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
              "3h": 10_800_000, "4h": 14_400_000, "6h": 21_600_000, "12h": 43_200_000,
              "1D": 86_400_000, "1W": 604_800_000, "7D": 604_800_000}  # fmt: skip
ERR_UNKNOWN_EVENT, ERR_UNKNOWN_PAIR, ERR_SUB_FAILED, ERR_DUP_SUB, ERR_UNKNOWN_CHANNEL = (
    10000, 10001, 10300, 10301, 10302)  # fmt: skip
ERR_SUB_LIMIT, ERR_UNSUB, ERR_AUTH = 10305, 10400, 10100


def sign384(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha384).hexdigest()


def crc(text: str) -> int:
    v = zlib.crc32(text.encode())
    return v - (1 << 32) if v & 0x80000000 else v


@dataclass
class Sub:
    chan_id: int
    key: SubKey
    ack: dict[str, Any]


@dataclass
class State:
    """One connection's Bitfinex state."""

    flags: int = 0
    seq: int = 0
    auth_seq: int = 0
    dms: bool = False
    subs: dict[int, Sub] = field(default_factory=dict)
    last_sent: dict[int, float] = field(default_factory=dict)


@dataclass
class BookState:
    """The published view of one (symbol, precision, length) book."""

    bids: mk.View
    asks: mk.View
    checksum: int


class BitfinexHub(hub.Hub):
    """Bitfinex's channels over the shared hub."""

    def __init__(self, emu: BitfinexEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.state: dict[Conn, State] = {}
        self.books: dict[SubKey, BookState] = {}
        self._next_chan = 17_000

    # -- connections -------------------------------------------------------------------------
    def open(self, ws: web.WebSocketResponse, kind: str = "") -> Conn:
        conn = super().open(ws, kind)
        self.state[conn] = State()
        status = 0 if self.emu.maintenance else 1
        conn.send_json({"event": "info", "version": 2, "serverId": self.emu.server_id,
                        "platform": {"status": status}})  # fmt: skip
        return conn

    def remove(self, conn: Conn) -> None:
        super().remove(conn)
        st = self.state.pop(conn, None)
        if st is not None and st.dms and conn.logged_in:
            n = self.emu.trading.account.cancel_all()
            log.info("ws %s closed with dms: canceled %d orders", conn.conn_id, n)

    def new_chan(self) -> int:
        self._next_chan += 1
        return self._next_chan

    # -- framing -----------------------------------------------------------------------------
    def frame(self, conn: Conn, chan: int, body: str) -> None:
        """Send ``[chan,<body>]`` with the connection's SEQ_ALL / TIMESTAMP suffix."""
        st = self.state.get(conn)
        if st is None:
            return
        st.seq += 1
        suffix = ""
        if st.flags & SEQ_ALL:
            suffix = f",{st.seq}"
            if chan == 0:
                st.auth_seq += 1
                suffix += f",{st.auth_seq}"
        if st.flags & TIMESTAMP:
            suffix += f",{now_ms()}"
        st.last_sent[chan] = self.emu.clock()
        conn.send(f"[{chan},{body}{suffix}]")

    def publish(self, key: SubKey, body: str) -> None:
        for conn in list(self.subs.get(key, ())):
            st = self.state.get(conn)
            for sub in list(st.subs.values()) if st else []:
                if sub.key == key:
                    self.frame(conn, sub.chan_id, body)

    def push_account(self, kind: str, data: Any) -> None:
        body = f'"{kind}",' + _enc.encode(data).decode()
        self.to_logged_in(lambda conn: self.frame(conn, 0, body))

    def notify(self, conn: Conn, kind: str, info: Any, status: str, text: str) -> None:
        n = [now_ms(), kind, None, None, info, None, status, text]
        self.frame(conn, 0, '"n",' + _enc.encode(n).decode())

    def skip(self, key: SubKey) -> None:
        """A lost message: consume one counter value on every subscriber."""
        for conn in self.subs.get(key, ()):
            st = self.state.get(conn)
            if st is not None:
                st.seq += 1

    # -- market pushes -----------------------------------------------------------------------
    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        for key in [k for k in self.subs if len(k) > 1 and k[1] == sym and self.subs[k]]:
            if key[0] == "book":
                self._book_update(m, key)
            elif key[0] == "ticker":
                self.publish(key, _enc.encode(mk.ticker(m, change.ts)).decode())
            elif key[0] == "candles":
                c = m.latest(TIMEFRAMES[key[2]])
                self.publish(key, _enc.encode(mk.candle(m, c)).decode())
            elif key[0] == "status":
                self.publish(key, _enc.encode(self.emu.deriv_status(m)[1:]).decode())
        if change.trades:
            self.push_trades(m, change.trades)

    def push_trades(self, m: SymbolMarket, trades: list[PublicTrade]) -> None:
        key = ("trades", m.instrument.symbol)
        if not self.listening(key):
            return

        def go() -> None:
            for t in trades:
                data = _enc.encode(mk.trade(t)).decode()
                self.publish(key, f'"te",{data}')
                self.publish(key, f'"tu",{data}')

        self.defer(go)

    def book_snapshot(self, m: SymbolMarket, key: SubKey) -> list[list[Any]]:
        _, sym, prec, depth = key
        rows, bids, asks = mk.book_rows(m, str(prec), int(depth), self.emu.raw_base(sym))
        if key not in self.books:
            self.books[key] = BookState(bids, asks, self._checksum(bids, asks))
            return rows
        st = self.books[key]
        return [self._row(str(prec), k, *v) for k, v in st.bids.items()] + [
            self._row(str(prec), k, *v) for k, v in st.asks.items()
        ]

    @staticmethod
    def _row(prec: str, key: str, count: int, amt: str, px: str) -> list[Any]:
        """A P* row ``[PRICE, COUNT, AMOUNT]`` or an R0 row ``[ID, PRICE, AMOUNT]``."""
        if prec == "R0":
            return [int(key), mk.num(px), mk.num(amt)]
        return [mk.num(key), count, mk.num(amt)]

    @staticmethod
    def _checksum(bids: mk.View, asks: mk.View) -> int:
        b = [(k, v[1]) for k, v in bids.items()]
        a_ = [(k, v[1]) for k, v in asks.items()]
        return crc(mk.checksum_text(b[:25], a_[:25]))

    def _book_update(self, m: SymbolMarket, key: SubKey) -> None:
        _, sym, prec, depth = key
        prec = str(prec)
        _, bids, asks = mk.book_rows(m, prec, int(depth), self.emu.raw_base(sym))
        old = self.books.get(key)
        self.books[key] = BookState(bids, asks, self._checksum(bids, asks))
        if old is None:
            return
        rows: list[list[Any]] = []
        for was, now, sign in ((old.bids, bids, "1"), (old.asks, asks, "-1")):
            # levels leaving first: a client capping its book at ``len`` levels must not drop
            # a level entering before the one it replaces is gone (ccxt.pro does cap)
            for k in sorted(was.keys() - now.keys()):
                if prec == "R0":
                    rows.append([int(k), 0, mk.num(sign)])
                else:
                    rows.append([mk.num(k), 0, mk.num(sign)])
            for k, v in now.items():
                if was.get(k) != v:
                    rows.append(self._row(prec, k, *v))
        if not rows:
            return
        faults = self.emu.faults
        if faults.take_skip_seq():
            log.info("fault: lost a book change %s", key)
            self.skip(key)
            return
        cs = self.books[key].checksum
        if faults.take_corrupt_checksum():
            log.info("fault: corrupted book checksum %s", key)
            cs = wrong_checksum(cs)
        texts = [_enc.encode(r).decode() for r in rows]
        bulk = "[" + ",".join(texts) + "]"
        for conn in list(self.subs.get(key, ())):
            st = self.state.get(conn)
            for sub in [s for s in st.subs.values() if s.key == key] if st else []:
                if st is not None and st.flags & BULK:
                    self.frame(conn, sub.chan_id, bulk)
                else:
                    for t in texts:
                        self.frame(conn, sub.chan_id, t)
                if st is not None and st.flags & OB_CHECKSUM:
                    self.frame(conn, sub.chan_id, f'"cs",{cs}')

    def heartbeat(self, idle_s: float) -> None:
        """``[chanId, "hb"]`` on every channel silent for ``idle_s`` (channel 0 included)."""
        now = self.emu.clock()
        for conn, st in list(self.state.items()):
            chans = list(st.subs) + ([0] if conn.logged_in else [])
            for chan in chans:
                if now - st.last_sent.get(chan, 0.0) >= idle_s:
                    self.frame(conn, chan, '"hb"')

    def info_all(self, msg: dict[str, Any]) -> None:
        for conn in list(self.state):
            conn.send_json(msg)


class BitfinexWs:
    """Bitfinex's WebSocket dialect for the shared connection loop."""

    login_close = (1008, b"Too many failed auth attempts")

    def __init__(self, emu: BitfinexEmulator) -> None:
        self.emu = emu

    @property
    def hub(self) -> BitfinexHub:
        return self.emu.hub

    def on_binary(self, conn: Conn, data: bytes) -> None:
        _error(conn, "binary frames are not supported", ERR_UNKNOWN_EVENT)

    def on_crash(self, conn: Conn) -> None:
        _error(conn, "internal error", ERR_UNKNOWN_EVENT)

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            return _error(conn, "invalid JSON", ERR_UNKNOWN_EVENT)
        if isinstance(req, list):
            return self._input(conn, req)
        if not isinstance(req, dict):
            return _error(conn, "invalid request", ERR_UNKNOWN_EVENT)
        event = req.get("event")
        if event == "ping":
            conn.send_json({"event": "pong", "ts": now_ms(), "cid": req.get("cid")})
        elif event == "conf":
            self._conf(conn, req.get("flags"))
        elif event == "subscribe":
            self._subscribe(conn, req)
        elif event == "unsubscribe":
            self._unsubscribe(conn, req.get("chanId"))
        elif event == "auth":
            self._auth(conn, req)
        else:
            _error(conn, f"unknown event: {clip(event, 32)}", ERR_UNKNOWN_EVENT)

    # -- events ------------------------------------------------------------------------------
    def _conf(self, conn: Conn, flags: Any) -> None:
        if isinstance(flags, bool) or not isinstance(flags, int) or flags & ~KNOWN_FLAGS:
            return conn.send_json({"event": "conf", "status": "FAILED", "flags": clip(flags, 16)})
        self.hub.state[conn].flags = flags
        conn.send_json({"event": "conf", "status": "OK", "flags": flags})

    def _subscribe(self, conn: Conn, req: dict[str, Any]) -> None:
        channel = req.get("channel")
        sym = req.get("symbol")
        ack: dict[str, Any] = {"event": "subscribed", "channel": channel}
        if "subId" in req:
            ack["subId"] = clip(req.get("subId"), 64)
        err = {"channel": clip(channel, 16)}
        if channel == "candles" or channel == "status":
            raw_key = req.get("key")
            parts = raw_key.split(":") if isinstance(raw_key, str) else []
            ok = len(parts) >= 3 and (
                (channel == "candles" and parts[0] == "trade" and parts[1] in TIMEFRAMES)
                or (channel == "status" and parts[0] == "deriv")
            )
            sym = ":".join(parts[2:] if channel == "candles" else parts[1:]) if ok else None
            if channel == "status" and ok:
                sym = ":".join(parts[1:])
            ack["key"] = raw_key
            err["key"] = clip(raw_key, 64)
            key: SubKey = (channel, sym or "", parts[1]) if channel == "candles" else (
                channel, sym or "")  # fmt: skip
        elif channel in ("ticker", "trades", "book"):
            key = (channel, sym if isinstance(sym, str) else "")
            ack.update(symbol=sym, pair=mk.pair(sym) if isinstance(sym, str) else None)
            err["symbol"] = clip(sym, 32)
        else:
            return _error(conn, "subscribe: unknown channel", ERR_UNKNOWN_CHANNEL, err)
        m = self.emu.driver.markets.get(key[1])
        if m is None or (channel == "status" and not m.instrument.is_derivative):
            return _error(conn, "symbol: invalid", ERR_UNKNOWN_PAIR, err)
        if channel == "book":
            prec, freq = req.get("prec", "P0"), req.get("freq", "F0")
            length = str(req.get("len", "25"))
            if prec not in mk.PRECISIONS or freq not in ("F0", "F1") or length not in (
                    "1", "25", "100", "250"):  # fmt: skip
                return _error(conn, "subscribe: invalid", ERR_SUB_FAILED, err)
            key = ("book", key[1], prec, length)
            ack.update(prec=prec, freq=freq, len=length)
        st = self.hub.state[conn]
        if key in conn.public_keys:
            return _error(conn, "subscribe: dup", ERR_DUP_SUB, err)
        if len(st.subs) >= MAX_CHANNELS:
            return _error(conn, "subscribe: limit", ERR_SUB_LIMIT, err)
        if not self.hub.listening(key):
            self.hub.books.pop(key, None)  # nobody held it: start from the market as it is
        chan = self.hub.new_chan()
        ack["chanId"] = chan
        st.subs[chan] = Sub(chan, key, ack)
        self.hub.subscribe(conn, key)
        conn.send_json(ack)
        self._snapshot(conn, chan, key, m)

    def _snapshot(self, conn: Conn, chan: int, key: SubKey, m: SymbolMarket) -> None:
        t = now_ms()
        if key[0] == "ticker":
            data: Any = mk.ticker(m, t)
        elif key[0] == "trades":
            data = [mk.trade(x) for x in list(m.trades)[-30:][::-1]]
        elif key[0] == "candles":
            data = [mk.candle(m, c) for c in m.aggregate(TIMEFRAMES[str(key[2])])[-240:][::-1]]
        elif key[0] == "status":
            data = self.emu.deriv_status(m)[1:]
        else:
            data = self.hub.book_snapshot(m, key)
            st = self.hub.state[conn]
            self.hub.frame(conn, chan, _enc.encode(data).decode())
            if st.flags & OB_CHECKSUM:
                self.hub.frame(conn, chan, f'"cs",{self.hub.books[key].checksum}')
            return
        self.hub.frame(conn, chan, _enc.encode(data).decode())

    def _unsubscribe(self, conn: Conn, chan: Any) -> None:
        st = self.hub.state[conn]
        sub = st.subs.pop(chan, None) if isinstance(chan, int) else None
        if sub is None:
            return _error(conn, "unsubscribe: invalid", ERR_UNSUB)
        if not any(s.key == sub.key for s in st.subs.values()):
            self.hub.unsubscribe(conn, sub.key)
        conn.send_json({"event": "unsubscribed", "status": "OK", "chanId": chan})

    def _auth(self, conn: Conn, req: dict[str, Any]) -> None:
        def failed(msg: str, code: int = ERR_AUTH) -> None:
            conn.login_failures += 1
            conn.send_json({"event": "auth", "status": "FAILED", "chanId": 0, "code": code,
                            "msg": msg})  # fmt: skip

        if conn.logged_in:
            return failed("auth: dup")
        cfg = self.emu.config
        key, sig, payload = req.get("apiKey"), req.get("authSig"), req.get("authPayload")
        nonce = req.get("authNonce")
        if isinstance(nonce, str) and nonce.isdigit() and len(nonce) <= 20:
            nonce = int(nonce)
        if not (isinstance(key, str) and isinstance(sig, str) and isinstance(payload, str)
                and isinstance(nonce, int) and not isinstance(nonce, bool)):  # fmt: skip
            return failed("auth: invalid")
        if not same(key, cfg.api_key):
            return failed("apikey: invalid")
        if payload != f"AUTH{nonce}" or not same(sig, sign384(cfg.api_secret, payload)):
            return failed("apikey: digest invalid")
        if not self.emu.nonces.take(nonce):
            return failed("nonce: small", 10114)
        dms = req.get("dms")
        st = self.hub.state[conn]
        st.dms = dms == 4
        conn.logged_in = True
        conn.send_json({"event": "auth", "status": "OK", "chanId": 0, "userId": 1,
                        "auth_id": secrets.token_hex(8), "dms": dms,
                        "caps": {k: {"read": 1, "write": 1} for k in
                                 ("orders", "account", "funding", "history", "wallets",
                                  "withdraw", "positions")}})  # fmt: skip
        for kind, data in self.emu.trading.snapshots():
            self.hub.frame(conn, 0, f'"{kind}",' + _enc.encode(data).decode())

    # -- channel 0 inputs --------------------------------------------------------------------
    def _input(self, conn: Conn, req: list[Any]) -> None:
        if len(req) < 4 or req[0] != 0 or not isinstance(req[1], str):
            return _error(conn, "invalid request", ERR_UNKNOWN_EVENT)
        if not conn.logged_in:
            return _error(conn, "auth: not authenticated", ERR_AUTH)
        if req[1] == "ox_multi":
            ops = req[3] if isinstance(req[3], list) else []
            if not ops or len(ops) > MAX_OX_OPS:
                return self.hub.notify(conn, "ox_multi-req", None, "ERROR", "ops: invalid")
            for op in ops:
                if isinstance(op, list) and len(op) == 2:
                    self._op(conn, str(op[0]), op[1])
            return None
        self._op(conn, req[1], req[3])

    def _op(self, conn: Conn, op: str, body: Any) -> None:
        trading, faults = self.emu.trading, self.emu.faults
        if op not in ("on", "oc", "ou", "oc_multi"):
            return self.hub.notify(conn, f"{clip(op, 16)}-req", None, "ERROR", "unknown op")
        failure = faults.take_failure()  # the kit's 429/5xx switch: refused before running
        if failure is not None:
            text = "ratelimit: error" if failure == "429" else "temporarily_unavailable"
            return self.hub.notify(conn, f"{op}-req", _echo(op, body), "ERROR", text)
        # the kit's lost-reply switch: the op runs, then its notification is lost -- never
        # sent ("5xx") or the connection cut before it ("drop"); targets name the REST twin
        lost = faults.take_lost_reply("POST", REST_TWIN[op])

        def note(kind: str, info: Any, status: str, text: str) -> None:
            if lost is None:
                self.hub.notify(conn, kind, info, status, text)

        self.hub.hold()
        try:
            if self.emu.maintenance:
                raise BfxError("maintenance", 20060)
            if op == "on":
                order = trading.submit(body)
                side = "buy" if not str(order[7]).startswith("-") else "sell"
                text = f"Submitting {order[8].lower()} {side} order for {order[7]} {order[3][1:4]}."
                note("on-req", order, "SUCCESS", text)
            elif op == "oc":
                note("oc-req", trading.cancel(body), "SUCCESS",
                     "Submitted for cancellation; waiting for confirmation.")  # fmt: skip
            elif op == "ou":
                note("ou-req", trading.update(body), "SUCCESS", "Submitting update to order.")
            else:
                rows = trading.cancel_multi(body)
                note("oc_multi-req", rows, "SUCCESS",
                     f"Submitted for cancellation ({len(rows)} orders).")  # fmt: skip
        except BfxError as err:
            note(f"{op}-req", _echo(op, body), "ERROR", err.text)
        finally:
            if lost == "drop":
                conn.close_soon(1011, b"connection lost")
            self.hub.release()


#: channel-0 op -> the REST path doing the same (what a lost-reply fault's target names)
REST_TWIN = {
    "on": "/v2/auth/w/order/submit",
    "oc": "/v2/auth/w/order/cancel",
    "ou": "/v2/auth/w/order/update",
    "oc_multi": "/v2/auth/w/order/cancel/multi",
}


def _echo(op: str, body: Any) -> Any:
    """What an ERROR notification carries: the order as asked (cid, symbol, amount, type)."""
    if op != "on" or not isinstance(body, dict):
        return None
    cid, sym, amt, typ = (body.get(k) for k in ("cid", "symbol", "amount", "type"))
    return [None, body.get("gid"), cid if isinstance(cid, int) else None, clip(sym, 32), None,
            None, clip(amt, 32), clip(amt, 32), clip(typ, 32)] + [None] * 23  # fmt: skip


def _error(conn: Conn, msg: str, code: int, extra: dict[str, Any] | None = None) -> None:
    conn.send_json({"event": "error", **(extra or {}), "msg": msg, "code": code})
