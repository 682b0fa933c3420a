"""The connector's one-pass orderBookL2 decode (the ingest hot path) and its fallback: a push
that does not fit the fast shape takes the general path, which applies it when it is valid
(keys in another order, extra fields) and logs it when it is not -- never raising, never
losing the book or the messages after it."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tradeloop.model import BookLevels, Event
from tradeloop.venues.bitmex.ws import BitmexStream, L2Book


class Handler:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.status: list[str] = []

    def on_market_data(self, event: Event) -> None:
        self.events.append(event)

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        pass

    def on_status(self, status: str, detail: str) -> None:
        self.status.append(status)


def _push(action: str, rows: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"table": "orderBookL2", "action": action, "data": rows, **extra})


def test_fast_path_fallback_and_bad_pushes(caplog: pytest.LogCaptureFixture) -> None:
    h = Handler()
    s = BitmexStream("ws://unused.invalid/realtime", h)
    s.books["XBTUSD"] = L2Book("XBTUSD")
    s._on_text(
        _push(
            "partial",
            [
                {"symbol": "XBTUSD", "id": 1, "side": "Sell", "size": 5, "price": 101.5},
                {"symbol": "XBTUSD", "id": 2, "side": "Buy", "size": 7, "price": 100},
            ],
            keys=["symbol", "id", "side"],
            filter={"symbol": "XBTUSD"},
        )
    )
    # valid, but not the fast shape (key order): applied by the general path
    s._on_text(json.dumps({"action": "update", "table": "orderBookL2", "data": [
        {"symbol": "XBTUSD", "id": 2, "side": "Buy", "size": 9}]}))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        s._on_text(_push("update", [{"symbol": "XBTUSD", "side": "Buy", "size": 1}]))  # no id
        s._on_text(_push("update", [{"symbol": "XBTUSD", "id": 2, "side": "Buy", "size": "x"}]))
        s._on_text('{"table":"orderBookL2","action":"upd')  # cut short
    assert sum("bad orderBookL2 message" in r.message for r in caplog.records) == 2
    assert sum("undecodable frame" in r.message for r in caplog.records) == 1
    s._on_text(_push("insert", [{"symbol": "XBTUSD", "id": 3, "side": "Buy", "size": 4,
                                 "price": 99.5}]))  # fmt: skip
    s._on_text(_push("delete", [{"symbol": "XBTUSD", "id": 1, "side": "Sell"}]))
    bids, asks = s.books["XBTUSD"].book.top(10)
    assert (bids, asks) == ([(100.0, 9.0), (99.5, 4.0)], [])
    books = [e for e in h.events if isinstance(e, BookLevels)]
    assert len(books) == 4 and books[0].snapshot and not h.status
    assert {e.symbol for e in books} == {"XBTUSD.BITMEX"}
