"""Record from the in-process OKX emulator through WS drops, then rebuild every book from the
store and compare it with the emulator's own book at the same sequence (OKX checksums)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from tradeloop.book.checksum import okx_checksum
from tradeloop.emulator.okx import server as emulator
from tradeloop.emulator.okx import views
from tradeloop.store import schema as S
from tradeloop.store.cli_record import record
from tradeloop.store.reader import Book, apply, book_messages, read_stream
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

FAST_WS = WsConfig(
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)
SYMBOLS = ["BTC-USDT", "ETH-USDT"]


def emulator_checksums(emu: Any, out: dict[str, dict[int, int]]) -> None:
    for sym in SYMBOLS:
        m = emu.driver.markets[sym]
        asks, bids = views.book_levels(m, 25)
        out[sym][emu.hub.seq_for(sym).seq] = okx_checksum(bids, asks)


async def test_record_with_drops_rebuilds_the_emulators_books(tmp_path: Path) -> None:
    emu = emulator.OkxEmulator(
        emulator.EmulatorConfig(symbols=SYMBOLS, seed=11, tick_interval_ms=0)
    )
    await emu.start("127.0.0.1", 0)
    truth: dict[str, dict[int, int]] = {s: {} for s in SYMBOLS}
    writer = StoreWriter(tmp_path, sync=False)
    rec = Recorder(writer, checkpoint_s=0.3)
    gw = OkxGateway(emu.base_url, inst_types=("SPOT",), ws_config=FAST_WS)
    stop = asyncio.Event()
    ids = [f"{s}.OKX" for s in SYMBOLS]
    task = asyncio.create_task(
        record([(gw, ids)], rec, ("trades", "quotes", "book"), flush_s=0.2, roll_s=1.0, stop=stop)
    )
    try:
        for _ in range(200):
            if rec.books and all(f"{s}.OKX" in rec.books for s in SYMBOLS):
                break
            await asyncio.sleep(0.02)
        drops = 0
        for i in range(240):
            emu.step()
            emulator_checksums(emu, truth)
            await asyncio.sleep(0.005)
            if i % 80 == 40:
                drops += emu.faults.drop_ws()
                await asyncio.sleep(0.3)
        assert drops >= 2
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await task
        await emu.stop()

    compared = 0
    for sym in SYMBOLS:
        t = read_stream(tmp_path, "OKX", S.BOOK, sym)
        assert t.num_rows > 0
        book = Book()
        snapshots = 0
        for _ts, seq, kind, gap, bids, asks in book_messages(t):
            snapshots += kind == S.SNAPSHOT
            if not apply(book, kind, gap, seq, bids, asks):
                continue
            if seq in truth[sym] and kind != S.CHECKPOINT:
                assert book.okx_checksum() == truth[sym][seq], (sym, seq)
                compared += 1
        assert snapshots >= 3  # the first subscribe and one per drop
    assert compared > 300
    status = read_stream(tmp_path, "OKX", S.STATUS, "_venue")
    assert "disconnected" in status.column("status").to_pylist()
    book_rows = read_stream(tmp_path, "OKX", S.BOOK, "ETH-USDT")
    assert book_rows.filter(pc.field("gap")).num_rows > 0  # the snapshots after each drop
    # rolled: one compacted file per partition and day, no leftover parts or temp files
    for d in {p.parent for p in S.all_files(tmp_path)}:
        assert not list(d.glob("*.tmp"))
    assert rec.stats.gaps >= 2
