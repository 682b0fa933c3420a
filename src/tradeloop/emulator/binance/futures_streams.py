"""USD-M futures WebSockets: market streams under the routed ``/fapi/public|market/ws|stream``
(Binance: ``fstream.binance.com/public/...``, ``/market/...``) and the legacy ``/fapi/ws``,
``/fapi/stream``, and the user data stream on a listenKey (``/fapi/private/ws?listenKey=``,
legacy ``/fapi/ws/<listenKey>``).

The market streams are spot's (:class:`~.streams.BinanceHub`) with the futures differences:
``depthUpdate`` carries ``T`` and ``pu`` (the previous message's ``u``; ids jump between
messages, so only ``pu`` proves continuity), numbers at the symbol's own precision,
``bookTicker`` with ``e``/``T``/``E``, and ``<symbol>@markPrice`` (``markPriceUpdate`` with
the funding rate and next funding time). A connection whose path names a live listenKey gets
``ORDER_TRADE_UPDATE`` / ``ACCOUNT_UPDATE`` raw, as Binance sends them; a key deleted or
expired closes it after a ``listenKeyExpired`` event. On the routed ``/private/ws?listenKey=K
&events=A/B`` the events are an allow list (a third-party measurement, 2026-07: a socket gets
only the events it names, ``listenKeyExpired`` included); the legacy path gets them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance.streams import BinanceHub
from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.hub import Conn
from tradeloop.emulator.market import SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.binance.futures import FuturesSide
    from tradeloop.emulator.binance.server import BinanceEmulator


class FuturesHub(BinanceHub):
    futures = True

    def __init__(self, emu: BinanceEmulator, side: FuturesSide) -> None:
        super().__init__(emu, side.driver.markets)
        self.side = side
        self.lifetime = emu.config.futures_ws_lifetime

    @staticmethod
    def pad(text: str) -> str:
        return text

    def open(self, ws: Any, kind: str = "") -> Conn:
        head, _, tail = kind.partition(":")
        key, _, events = tail.partition("?")
        conn = super().open(ws, head + ":" + key)
        if head.startswith("raw") and key in self.side.listen_keys:
            sub: dict[str, Any] = {"key": key}
            if events:
                sub["events"] = frozenset(events.split("/"))
            conn.private_subs["listen"] = sub
            conn.logged_in = True
        return conn

    @staticmethod
    def wants(sub: dict[str, Any], event: dict[str, Any]) -> bool:
        allowed = sub.get("events")
        return allowed is None or event.get("e") in allowed

    def book_ticker(self, m: SymbolMarket) -> dict[str, Any]:
        bb, ba = m.best_bid(), m.best_ask()
        t = m.last_trade.ts
        return {"e": "bookTicker", "u": self._uid[m.instrument.symbol], "s": m.instrument.symbol,
                "b": m.px(bb), "B": m.bids[bb], "a": m.px(ba), "A": m.asks[ba], "T": t,
                "E": t}  # fmt: skip

    def mark_price(self, m: SymbolMarket, ts: int) -> dict[str, Any]:
        mark = fm.mark_price(m)
        nxt = next_funding_ms(ts, self.side.funding_ms)
        rate = fm.rate_text(self.side.settle_rate)
        return {"e": "markPriceUpdate", "E": ts, "s": m.instrument.symbol, "p": mark,
                "i": mark, "P": mark, "r": rate, "T": nxt}  # fmt: skip

    def depth(self, m: SymbolMarket, limit: int, now: int) -> dict[str, Any]:
        bids, asks = fm.levels(m, limit)
        return {"lastUpdateId": self._uid[m.instrument.symbol], "E": now, "T": now,
                "bids": bids, "asks": asks}  # fmt: skip

    def push_user(self, event: dict[str, Any]) -> None:
        """A user data event to every connection on a live listenKey (after the answer)."""

        def go() -> None:
            for conn in list(self.conns):
                sub = conn.private_subs.get("listen")
                live = sub is not None and sub["key"] in self.side.listen_keys
                if live and sub is not None and self.wants(sub, event):
                    conn.send_json(event)

        self.defer(go)

    def expire(self, key: str) -> None:
        """``listenKeyExpired`` to the key's connections, then close them."""
        for conn in list(self.conns):
            sub = conn.private_subs.get("listen")
            if sub is not None and sub["key"] == key:
                event = {"e": "listenKeyExpired", "E": fm.wall_ms(), "listenKey": key}
                if self.wants(sub, event):
                    conn.send_json(event)
                conn.close_soon(1000, b"listenKey expired")
