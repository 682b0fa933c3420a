"""Book captures of Binance (spot, USD-M), BitMEX and Bitfinex imported into the store: the
book rebuilt from the stored rows equals, at the end of each capture, a book built straight from
the capture by the plain rules (written here independently of the importer), and never
crosses on the way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.store import schema as S
from tradeloop.store.importers import import_capture
from tradeloop.store.reader import Book, apply, book_messages, read_stream
from tradeloop.store.writer import StoreWriter
from tradeloop.venues.binance.capture import snapshots

CAPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "captures"
pytestmark = pytest.mark.shared

Side = dict[float, float]


def need(name: str) -> Path:
    p = CAPS / name
    if not p.exists():
        pytest.skip(f"{p} absent (shared data is not beside the checkout)")
    return p


def received(path: Path) -> list[tuple[float, Any]]:
    out = []
    for line in path.read_text().splitlines():
        head, _, body = line.partition(": ")
        if " " in head or not body:
            continue
        try:
            out.append((float(head), json.loads(body)))
        except ValueError:
            continue
    return out


def stored(root: Path, venue: str, inst: str) -> tuple[Side, Side, int]:
    book = Book()
    n = 0
    for _ts, seq, kind, gap, bids, asks in book_messages(read_stream(root, venue, S.BOOK, inst)):
        if apply(book, kind, gap, seq, bids, asks):
            n += 1
            if book.bids and book.asks:
                assert max(book.bids) < min(book.asks), (venue, inst, seq)
    return book.bids, book.asks, n


def put(side: Side, px: float, sz: float) -> None:
    if sz:
        side[px] = sz
    else:
        side.pop(px, None)


@pytest.mark.parametrize("venue", ["BINANCE", "BINANCE_FUTURES"])
def test_binance_books_follow_snapshot_and_diffs(tmp_path: Path, venue: str) -> None:
    ws = need(f"{venue}.ws.1.0")
    w = StoreWriter(tmp_path, sync=False)
    import_capture(ws, w)
    w.roll()
    # reference: the last snapshot per symbol, then every later diff with u > lastUpdateId
    snaps = {sym: body for _at, sym, body in snapshots(need(f"{venue}.http.0.0"))}
    assert snaps
    for sym, body in snaps.items():
        bids = {float(p): float(q) for p, q in body["bids"]}
        asks = {float(p): float(q) for p, q in body["asks"]}
        last = int(body["lastUpdateId"])
        for _ts, msg in received(ws):
            d = msg.get("data") if isinstance(msg, dict) else None
            if not isinstance(d, dict) or d.get("e") != "depthUpdate" or d["s"] != sym:
                continue
            if d["u"] <= last:
                continue
            for p, q in d["b"]:
                put(bids, float(p), float(q))
            for p, q in d["a"]:
                put(asks, float(p), float(q))
        got_b, got_a, n = stored(tmp_path, venue, sym)
        assert n > 1 and got_b == bids and got_a == asks, sym


def test_bitmex_l2_books_by_level_id(tmp_path: Path) -> None:
    ws = need("BITMEX.ws.1.0")
    w = StoreWriter(tmp_path, sync=False)
    import_capture(ws, w)
    w.roll()
    levels: dict[str, dict[int, tuple[str, float, float]]] = {}
    for _ts, msg in received(ws):
        if not isinstance(msg, dict) or msg.get("table") != "orderBookL2":
            continue
        for r in msg["data"]:
            book = levels.setdefault(r["symbol"], {})
            if msg["action"] in ("partial", "insert"):
                book[r["id"]] = (r["side"], r["price"], r["size"])
            elif msg["action"] == "update":
                side, px, _ = book[r["id"]]
                book[r["id"]] = (side, px, r["size"])
            elif msg["action"] == "delete":
                book.pop(r["id"], None)
    assert "XBTUSD" in levels
    for sym, book in levels.items():
        bids = {float(p): float(s) for sd, p, s in book.values() if sd == "Buy"}
        asks = {float(p): float(s) for sd, p, s in book.values() if sd == "Sell"}
        got_b, got_a, n = stored(tmp_path, "BITMEX", sym)
        assert n >= 1 and got_b == bids and got_a == asks, sym


def test_bitfinex_p0_books_and_trades(tmp_path: Path) -> None:
    ws = need("BITFINEX.ws.11.0")
    w = StoreWriter(tmp_path, sync=False)
    import_capture(ws, w)
    w.roll()
    chans: dict[int, str] = {}
    books: dict[str, tuple[Side, Side]] = {}
    for _ts, msg in received(ws):
        if isinstance(msg, dict) and msg.get("event") == "subscribed":
            if msg["channel"] == "book":
                chans[msg["chanId"]] = msg["symbol"][1:]
            continue
        if not isinstance(msg, list) or msg[0] not in chans or not isinstance(msg[1], list):
            continue
        sym = chans[msg[0]]
        rows = msg[1] if msg[1] and isinstance(msg[1][0], list) else [msg[1]]
        if rows is msg[1]:
            books[sym] = ({}, {})
        elif sym not in books:
            continue
        bids, asks = books[sym]
        for px, count, amt in rows:
            side = bids if amt > 0 else asks
            put(side, float(px), 0.0 if count == 0 else abs(float(amt)))
    assert len(books) >= 5
    for sym, (bids, asks) in books.items():
        got_b, got_a, _n = stored(tmp_path, "BITFINEX", S.safe(sym))
        assert got_b == bids and got_a == asks, sym
    trades = read_stream(tmp_path, "BITFINEX", S.TRADES, "IOTETH")
    assert trades.num_rows > 0 and set(trades.column("side").to_pylist()) <= {"buy", "sell"}
