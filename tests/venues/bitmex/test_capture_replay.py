"""Real BitMEX traffic (``captures/BITMEX.ws.1.0``: orderBookL2 partial/insert/update/delete
for 10 symbols, quotes, trades, July 2021) through the connector's own parsing path
(:meth:`BitmexStream._on_text`: frame decode -> per-symbol split -> id-keyed :class:`L2Book`).
After every L2 message each whole book equals the one rebuilt from scratch from the levels
the capture implies (id -> side, price, size, kept independently here); nothing asks for a
resync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tradeloop.model import BookLevels, Event, QuoteTick, TradeTick
from tradeloop.venues.bitmex.ws import BitmexStream, L2Book

Sides = tuple[dict[float, float], dict[float, float]]


def received(path: Path) -> Iterator[str]:
    """The texts received in a cryptofeed capture (``ts: msg`` lines; sends and connects
    start with the URL)."""
    with path.open() as fh:
        for line in fh:
            if line.startswith(("wss://", "ws://")):
                continue
            _, sep, text = line.partition(": ")
            if sep:
                yield text.rstrip("\n")


class Reference:
    """What the capture says the book is: every live id's (side, price, size)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, tuple[str, float, float]]] = {}

    def apply(self, msg: dict[str, Any]) -> set[str]:
        action, touched = msg["action"], set()
        if action == "partial":
            for sym in {r["symbol"] for r in msg["data"]}:
                self.rows[sym] = {}
        for r in msg["data"]:
            book = self.rows.setdefault(r["symbol"], {})
            touched.add(r["symbol"])
            if action in ("partial", "insert"):
                book[r["id"]] = (r["side"], float(r["price"]), float(r["size"]))
            elif action == "update":
                side, price, _ = book[r["id"]]
                book[r["id"]] = (side, price, float(r["size"]))
            else:
                del book[r["id"]]
        return touched

    def levels(self, sym: str) -> Sides:
        """Rebuilt from the rows each time (no sort: compared as price -> size maps)."""
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for side, p, s in self.rows[sym].values():
            (bids if side == "Buy" else asks)[p] = s
        return bids, asks


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.status: list[tuple[str, str]] = []

    def on_market_data(self, event: Event) -> None:
        self.events.append(event)

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        raise AssertionError("no private tables in a public capture")

    def on_status(self, status: str, detail: str) -> None:
        self.status.append((status, detail))


def book_levels(book: L2Book) -> Sides:
    bids, asks = book.book.top(10**6)
    return dict(bids), dict(asks)


@pytest.mark.shared
def test_capture_l2_books_equal_rebuild_after_every_message(shared_data: Path) -> None:
    sink = Sink()
    stream = BitmexStream("ws://unused.invalid/realtime", sink)
    ref = Reference()
    actions: dict[str, int] = {}
    for text in received(shared_data / "captures" / "BITMEX.ws.1.0"):
        msg = json.loads(text)
        for topic in msg.get("request", {}).get("args", []) if msg.get("success") else []:
            table, _, sym = topic.partition(":")
            if table == "orderBookL2" and topic == msg.get("subscribe"):
                stream.books.setdefault(sym, L2Book(sym))  # what subscribe() registers
        stream._on_text(text)
        if msg.get("table") != "orderBookL2":
            continue
        actions[msg["action"]] = actions.get(msg["action"], 0) + 1
        for sym in ref.apply(msg):  # the whole book, after every message
            book = stream.books[sym]
            assert book.synced, sym
            assert book_levels(book) == ref.levels(sym), (sym, msg["action"])
            best_bid, best_ask = book.book.best_bid(), book.book.best_ask()
            assert best_bid is None or best_ask is None or best_bid[0] < best_ask[0]
    assert not sink.status, sink.status[:3]
    assert len(stream.books) == 10 and all(b.resyncs == 0 for b in stream.books.values())
    assert actions.keys() == {"partial", "insert", "update", "delete"}
    assert actions["partial"] == 10 and sum(actions.values()) > 1000
    # the capture's quotes and trades came out as events too; every L2 message as a book
    kinds = {type(e) for e in sink.events}
    assert {BookLevels, QuoteTick, TradeTick} <= kinds
    n_books = sum(isinstance(e, BookLevels) for e in sink.events)
    assert n_books >= sum(actions.values())
    for book in stream.books.values():  # sorted best first, as the capture implies
        bids, asks = book.book.top(10**6)
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert (dict(bids), dict(asks)) == ref.levels(book.book.symbol)
    xbt = stream.books["XBTUSD"].book
    bid, ask = xbt.best_bid(), xbt.best_ask()
    assert bid is not None and ask is not None and 20_000 < bid[0] < ask[0] < 60_000  # 2021-07


@pytest.mark.shared
async def test_capture_missing_id_asks_for_resync(shared_data: Path) -> None:
    """The same capture with one insert dropped: the next update/delete of that id is a level
    the book never saw, so it resets and asks for a fresh partial instead of drifting."""
    sink = Sink()
    stream = BitmexStream("ws://unused.invalid/realtime", sink)
    stream.books["XBTUSD"] = L2Book("XBTUSD")
    dropped: int | None = None
    for text in received(shared_data / "captures" / "BITMEX.ws.1.0"):
        msg = json.loads(text)
        if msg.get("table") != "orderBookL2" or msg["data"][0]["symbol"] != "XBTUSD":
            continue
        if dropped is None and msg["action"] == "insert" and len(msg["data"]) == 1:
            dropped = msg["data"][0]["id"]
            continue
        stream._on_text(text)
        if sink.status:
            break
    await stream.stop()  # the resubscribe it scheduled has no socket to go to
    assert dropped is not None
    (status, detail), *_ = sink.status
    assert status == "resync" and f"unknown level id {dropped}" in detail
    assert stream.books["XBTUSD"].resyncs == 1 and not stream.books["XBTUSD"].synced
