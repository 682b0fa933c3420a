"""OkxStream's decode → sync → events path on the real OKX capture (no socket: frames are
fed to the stream's message handler exactly as the WS client would)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.book.checksum import okx_checksum
from tradeloop.model import BookLevels, Event, QuoteTick, TradeTick
from tradeloop.venues.okx.ws import OkxStream, arg_key, batch_subscriptions, op_payload


def received_raw(path: Path) -> list[str]:
    """Received messages of a cryptofeed capture (lines ``ts: msg``; sends/connects skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.partition(": ")[2] for ln in lines if ln[:1].isdigit()]


pytestmark = pytest.mark.shared
INSTS = ("BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT")


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.statuses: list[tuple[str, str]] = []

    def on_market_data(self, event: Event) -> None:
        self.events.append(event)

    def on_orders(self, items: list[dict[str, Any]]) -> None: ...

    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None: ...

    def on_status(self, status: str, detail: str) -> None:
        self.statuses.append((status, detail))


async def _stream() -> tuple[OkxStream, Collect]:
    sink = Collect()
    stream = OkxStream("ws://127.0.0.1:1/ws/v5/public", sink, now_ns=lambda: 42)
    for inst in INSTS:
        await stream.subscribe(
            *({"channel": c, "instId": inst} for c in ("books", "trades", "tickers"))
        )
    return stream, sink


async def test_capture_through_stream(shared_data: Path) -> None:
    stream, sink = await _stream()
    raws = list(received_raw(shared_data / "captures" / "OKX.ws.1.0"))
    for raw in raws:
        stream._on_text(raw)
    assert sum(s.checksums_ok for s in stream.books.values()) == 290
    assert stream.resyncs == 0 and not sink.statuses
    msgs = [json.loads(r) for r in raws]
    n_trades = sum(
        len(m["data"]) for m in msgs if m.get("arg", {}).get("channel") == "trades" and "data" in m
    )
    n_tickers = sum(
        len(m["data"]) for m in msgs if m.get("arg", {}).get("channel") == "tickers" and "data" in m
    )
    assert sum(isinstance(e, TradeTick) for e in sink.events) == n_trades
    assert sum(isinstance(e, QuoteTick) for e in sink.events) == n_tickers
    books = [e for e in sink.events if isinstance(e, BookLevels)]
    assert len(books) == 290 and sum(b.snapshot for b in books) == 3
    assert all(e.ts == 42 for e in sink.events)
    for inst in INSTS:
        last = stream.books[inst].book
        bb, ba = last.best_bid(), last.best_ask()
        assert bb and ba and bb[0] < ba[0]


async def test_generic_path_and_corruption_resync(shared_data: Path) -> None:
    stream, sink = await _stream()
    raws = [
        r
        for r in received_raw(shared_data / "captures" / "OKX.ws.1.0")
        if '"books"' in r and '"action"' in r
    ]
    # Re-serialise with a different key order: the fast path declines, the generic path runs.
    for raw in raws[:60]:
        m = json.loads(raw)
        stream._on_text(json.dumps({"action": m["action"], "data": m["data"], "arg": m["arg"]}))
    assert sum(s.checksums_ok for s in stream.books.values()) == 60
    m = json.loads(raws[60])
    m["data"][0]["checksum"] += 1
    stream._on_text(json.dumps(m))
    await asyncio.sleep(0)  # let the scheduled resubscribe run
    assert stream.resyncs == 1
    assert sink.statuses and sink.statuses[0][0] == "resync"
    assert "checksum mismatch" in sink.statuses[0][1]
    inst = m["arg"]["instId"]
    assert not stream.books[inst].synced
    # Still subscribed (re-subscribed, not dropped).
    assert arg_key({"channel": "books", "instId": inst}) in stream.client.subscriptions


def test_subscription_batching_respects_size_limit() -> None:
    subs = [
        op_payload("subscribe", [{"channel": "books", "instId": f"X{i}-USDT"}]) for i in range(3000)
    ]
    batched = batch_subscriptions(subs)
    assert 1 < len(batched) < 10
    assert all(len(b) <= 64 * 1024 for b in batched)
    args = [a for b in batched for a in json.loads(b)["args"]]
    assert len(args) == 3000 and args[0] == {"channel": "books", "instId": "X0-USDT"}


async def test_books5_and_bbo_are_quotes_not_book_updates(shared_data: Path) -> None:
    stream, sink = await _stream()
    await stream.subscribe({"channel": "books5", "instId": "BTC-USDT"})
    snap = json.loads((shared_data / "fixtures/okx/ws_bbo_tbt.json").read_text())
    five = {"arg": {"channel": "books5", "instId": "BTC-USDT"}, "data": snap["data"]}
    stream._on_text(json.dumps(five, separators=(",", ":")))
    stream._on_text(json.dumps(snap, separators=(",", ":")))
    quotes = [e for e in sink.events if isinstance(e, QuoteTick)]
    assert [(q.bid, q.ask) for q in quotes] == [(8476.97, 8476.98)] * 2
    assert stream.books["BTC-USDT"].checksums_ok == 0 and not stream.books["BTC-USDT"].synced


def _compact(m: dict[str, Any]) -> str:
    """What OKX sends: key order arg, action, data and no spaces (takes the fast path)."""
    return json.dumps(m, separators=(",", ":"))


async def test_fast_path_events_equal_generic_path(shared_data: Path) -> None:
    raws = [
        r
        for r in received_raw(shared_data / "captures" / "OKX.ws.1.0")
        if '"books"' in r and '"action"' in r
    ]
    fast, fast_sink = await _stream()
    generic, generic_sink = await _stream()
    for raw in raws:
        m = json.loads(raw)
        assert raw.startswith('{"arg":{"channel":"books"')  # the capture is fast-path shaped
        fast._on_text(raw)
        generic._on_text(json.dumps({"data": m["data"], "arg": m["arg"], "action": m["action"]}))
    assert fast_sink.events == generic_sink.events and len(fast_sink.events) == 290
    first = fast_sink.events[0]
    assert isinstance(first, BookLevels) and first.snapshot and first.ts == 42
    assert first.symbol == json.loads(raws[0])["arg"]["instId"] + ".OKX"  # the instrument id
    m0 = json.loads(raws[0])["data"][0]
    assert first.bids == [(float(p), float(s)) for p, s, *_ in m0["bids"]]
    assert first.asks == [(float(p), float(s)) for p, s, *_ in m0["asks"]]
    for inst in INSTS:
        assert fast.books[inst].book.top_text(400) == generic.books[inst].book.top_text(400)


async def test_fast_path_checksum_mismatch_resyncs(shared_data: Path) -> None:
    stream, sink = await _stream()
    raws = [
        r
        for r in received_raw(shared_data / "captures" / "OKX.ws.1.0")
        if '"books"' in r and '"action"' in r
    ]
    for raw in raws[:60]:
        stream._on_text(raw)
    assert sum(s.checksums_ok for s in stream.books.values()) == 60
    m = json.loads(raws[60])
    m["data"][0]["checksum"] += 1
    stream._on_text(_compact(m))
    await asyncio.sleep(0)
    assert stream.resyncs == 1 and "checksum mismatch" in sink.statuses[0][1]
    inst = m["arg"]["instId"]
    assert not stream.books[inst].synced
    n_events = len(sink.events)
    later = [r for r in raws[61:] if json.loads(r)["arg"]["instId"] == inst]
    stream._on_text(later[0])  # updates are ignored until a fresh snapshot
    assert len(sink.events) == n_events


async def test_fast_path_sequence_gap_resyncs() -> None:
    sink = Collect()
    stream = OkxStream("ws://127.0.0.1:1/ws/v5/public", sink, now_ns=lambda: 7)
    await stream.subscribe({"channel": "books", "instId": "X-USDT"})
    arg = {"channel": "books", "instId": "X-USDT"}
    bids, asks = [["100.10", "1", "0", "1"]], [["100.5", "0.10", "0", "1"]]
    snap = {"bids": bids, "asks": asks, "prevSeqId": -1, "seqId": 10}
    snap["checksum"] = okx_checksum(bids, asks)
    stream._on_text(_compact({"arg": arg, "action": "snapshot", "data": [snap]}))
    upd = {"bids": [["100.2", "3", "0", "1"]], "asks": [], "prevSeqId": 10, "seqId": 11}
    upd["checksum"] = okx_checksum([["100.2", "3"], *bids], asks)
    stream._on_text(_compact({"arg": arg, "action": "update", "data": [upd]}))
    assert [e.sequence for e in sink.events if isinstance(e, BookLevels)] == [10, 11]
    assert sink.events[-1] == BookLevels(7, "X-USDT.OKX", [(100.2, 3.0)], [], False, 11)
    gap = dict(upd, prevSeqId=12, seqId=13)
    stream._on_text(_compact({"arg": arg, "action": "update", "data": [gap]}))
    await asyncio.sleep(0)
    assert stream.resyncs == 1 and "sequence gap" in sink.statuses[0][1]
    assert len(sink.events) == 2


async def test_fast_path_malformed_level_resyncs_without_raising(shared_data: Path) -> None:
    """A level whose size is not a number, on the hot path: no exception escapes the stream,
    the book is marked invalid and a resync is scheduled (like a checksum mismatch)."""
    stream, sink = await _stream()
    raws = [
        r
        for r in received_raw(shared_data / "captures" / "OKX.ws.1.0")
        if '"books"' in r and '"action"' in r
    ]
    for raw in raws[:30]:
        stream._on_text(raw)
    m = next(json.loads(r) for r in raws[30:] if json.loads(r)["data"][0]["asks"])
    m["data"][0]["asks"][0][1] = "12..5"
    n_events = len(sink.events)
    stream._on_text(_compact(m))
    await asyncio.sleep(0)
    assert stream.resyncs == 1 and len(sink.events) == n_events
    assert "malformed book level" in sink.statuses[0][1] and "'12..5'" in sink.statuses[0][1]
    assert not stream.books[m["arg"]["instId"]].synced
