"""Book captures of Binance (spot, USD-M), BitMEX and Bitfinex into the store.

Why through the venue connectors' own book keepers: a book capture is only worth storing if
replaying it rebuilds the venue's book, and each venue has its own rules for that — Binance
diffs must be synced to a REST snapshot by ``U``/``u`` (``pu`` on futures), BitMEX rows are
keyed by level id (updates and deletes carry no price), Bitfinex levels are ``[price, count,
amount]`` with the side in the sign. The connectors already implement those rules
(``BinanceBookSync``, BitMEX ``L2Book``); reusing them here means an imported book is the book
the live gateway would have kept, and a gap the gateway would have resynced on is stored as a
gap (the next snapshot row carries ``gap=True``), never papered over.

What is written per message: a venue snapshot as kind SNAPSHOT (for Binance, the book after the
snapshot and the buffered diffs it absorbed), an applied update as kind DELTA with the levels
as the book took them; diffs a sync drops (older than the snapshot) or buffers are not stored.
This module sits at the CLI level (like ``cli_record``): it imports ``venues``, and only
``importers.import_capture`` reaches it, lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradeloop.store import schema as S
from tradeloop.store.capture import Rows as _Rows
from tradeloop.store.capture import capture_lines
from tradeloop.store.writer import StoreWriter
from tradeloop.venues.binance.booksync import BinanceBookSync, Diff, SyncResult
from tradeloop.venues.binance.capture import snapshots
from tradeloop.venues.bitmex.ws import L2Book, L2Row

Levels = list[tuple[float, float]]
_FULL = 1 << 30  # "every level" for OrderBook.top


def _book_rows(rows: _Rows, inst: str, ts: int, ev: int, seq: int, kind: int, gap: bool,
               bids: Levels, asks: Levels) -> None:  # fmt: skip
    rows.n += 1
    for side, levels in ((S.BID, bids), (S.ASK, asks)):
        for px, sz in levels:
            rows.add(S.BOOK, inst, ts, ev, seq, kind, side, px, sz, gap=gap, msg=rows.n)


def import_binance(path: Path, writer: StoreWriter, venue: str) -> int:
    """Diff-depth streams synced to the REST snapshots the recorder fetched (``X.http.0.0``
    beside the WS file, applied when the recorder received them), plus trades."""
    futures = venue.endswith("FUTURES")
    http = path.with_name(path.name.split(".ws.")[0] + ".http.0.0")
    snaps = sorted(snapshots(http), key=lambda s: s[0]) if http.is_file() else []
    rows = _Rows()
    syncs: dict[str, BinanceBookSync] = {}
    gap: set[str] = set()
    k = 0

    def snapshot_due(now: int) -> None:
        nonlocal k
        while k < len(snaps) and round(snaps[k][0] * 1e9) <= now:
            at, sym, body = snaps[k]
            k += 1
            sync = syncs.setdefault(sym, BinanceBookSync(sym, futures=futures))
            if sync.on_snapshot(int(body["lastUpdateId"]), body["bids"], body["asks"]) is (
                SyncResult.APPLIED
            ):
                ts = round(at * 1e9)
                ev = int(body.get("E", 0)) * 1_000_000 or ts
                b, a = sync.book.top(_FULL)
                _book_rows(rows, sym, ts, ev, sync.last_id, S.SNAPSHOT, sym in gap, b, a)
                gap.discard(sym)

    for ts, msg in capture_lines(path):
        snapshot_due(ts)
        if not isinstance(msg, dict):
            continue
        d = msg.get("data", msg)
        if not isinstance(d, dict):
            continue
        e = d.get("e")
        if e == "depthUpdate":
            sym = d["s"]
            sync = syncs.setdefault(sym, BinanceBookSync(sym, futures=futures))
            r = sync.on_diff(Diff(int(d["U"]), int(d["u"]), d["b"], d["a"], d.get("pu")))
            if r is SyncResult.APPLIED:
                b, a = sync.last_levels
                _book_rows(rows, sym, ts, int(d["E"]) * 1_000_000, sync.last_id, S.DELTA, False,
                           list(b), list(a))  # fmt: skip
            elif r is SyncResult.RESYNC:
                gap.add(sym)
        elif e in ("trade", "aggTrade"):
            rows.add(S.TRADES, d["s"], ts, int(d["T"]) * 1_000_000, float(d["p"]), float(d["q"]),
                     "sell" if d.get("m") else "buy", str(d.get("t", d.get("a", ""))))  # fmt: skip
    snapshot_due(1 << 62)
    return rows.write(writer, venue)


def import_bitmex(path: Path, writer: StoreWriter) -> int:
    """``orderBookL2`` partial/insert/update/delete through the connector's id-keyed book,
    plus ``trade``. BitMEX sends no book sequence: ``sequence`` counts messages per symbol."""
    rows = _Rows()
    books: dict[str, L2Book] = {}
    seqs: dict[str, int] = {}
    gap: set[str] = set()
    for ts, msg in capture_lines(path):
        if not isinstance(msg, dict) or not isinstance(msg.get("data"), list):
            continue
        table, action, data = msg.get("table"), msg.get("action", ""), msg["data"]
        if table in ("orderBookL2", "orderBookL2_25"):
            by_sym: dict[str, list[L2Row]] = {}
            for r in msgspec.convert(data, list[L2Row]):
                by_sym.setdefault(r.symbol, []).append(r)
            for sym, lv in by_sym.items():
                book = books.setdefault(sym, L2Book(sym))
                res = book.apply(action, lv)
                if res.name == "APPLIED":
                    seqs[sym] = seqs.get(sym, 0) + 1
                    snap = action == "partial"
                    b, a = book.last_levels
                    _book_rows(rows, sym, ts, ts, seqs[sym], S.SNAPSHOT if snap else S.DELTA,
                               snap and sym in gap, list(b), list(a))  # fmt: skip
                    if snap:
                        gap.discard(sym)
                elif res.name == "RESYNC":
                    gap.add(sym)
        elif table == "trade":
            for d in data:
                rows.add(S.TRADES, d["symbol"], ts, ts, float(d["price"]), float(d["size"]),
                         d["side"].lower(), str(d.get("trdMatchID", "")))  # fmt: skip
    return rows.write(writer, "BITMEX")


def _bfx_levels(levels: list[Any]) -> tuple[Levels, Levels]:
    """``[price, count, amount]``: count 0 deletes (amount 1 a bid, -1 an ask), else the sign
    of amount is the side."""
    bids: Levels = []
    asks: Levels = []
    for px, count, amt in levels:
        if count == 0:
            (bids if amt > 0 else asks).append((float(px), 0.0))
        elif amt < 0:
            asks.append((float(px), float(-amt)))
        else:
            bids.append((float(px), float(amt)))
    return bids, asks


def import_bitfinex(path: Path, writer: StoreWriter) -> int:
    """v2 ``book`` (P0) and ``trades`` channels, by the ``chanId`` each subscription got; the
    connection-wide sequence number (conf flag 65536) is the book row's ``sequence``."""
    rows = _Rows()
    chans: dict[int, tuple[str, str]] = {}  # chanId -> (channel, symbol without the "t")
    synced: set[str] = set()
    for ts, msg in capture_lines(path):
        if isinstance(msg, dict):
            if msg.get("event") == "subscribed" and msg.get("channel") in ("book", "trades"):
                sym = str(msg.get("symbol", ""))[1:]
                chans[int(msg["chanId"])] = (msg["channel"], sym)
                if msg["channel"] == "book":
                    synced.discard(sym)  # a new subscription waits for its snapshot
            continue
        if not isinstance(msg, list) or len(msg) < 2 or msg[0] not in chans:
            continue
        channel, sym = chans[msg[0]]
        body = msg[1]
        seq = msg[-1] if isinstance(msg[-1], int) and len(msg) > 2 else 0
        if channel == "book" and isinstance(body, list):
            if body and isinstance(body[0], list):  # snapshot
                b, a = _bfx_levels(body)
                _book_rows(rows, sym, ts, ts, seq, S.SNAPSHOT, False, b, a)
                synced.add(sym)
            elif len(body) == 3 and sym in synced:
                b, a = _bfx_levels([body])
                _book_rows(rows, sym, ts, ts, seq, S.DELTA, False, b, a)
        elif channel == "trades":
            if body == "te" and isinstance(msg[2], list):
                trades = [msg[2]]
            elif isinstance(body, list) and body and isinstance(body[0], list):
                trades = sorted(body, key=lambda t: t[1])  # the snapshot is newest first
            else:
                continue
            for tid, mts, amt, px in trades:
                rows.add(S.TRADES, sym, ts, int(mts) * 1_000_000, float(px), abs(float(amt)),
                         "buy" if amt > 0 else "sell", str(tid))  # fmt: skip
    return rows.write(writer, "BITFINEX")
