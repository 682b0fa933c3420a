"""kill -9 during ``tradeloop record`` leaves only readable files (at most the last flush
interval is lost), and the next run sweeps the killed writer's leftovers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tradeloop.emulator.okx import server as emulator
from tradeloop.store import schema as S
from tradeloop.store.writer import sweep


async def test_kill9_while_recording_leaves_readable_files(tmp_path: Path) -> None:
    emu = emulator.OkxEmulator(
        emulator.EmulatorConfig(symbols=["BTC-USDT"], seed=3, tick_interval_ms=5)
    )
    await emu.start("127.0.0.1", 0)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADELOOP_OKX")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradeloop.cli", "--log-level", "WARNING", "record",
        "--venue", "okx", "--url", emu.base_url, "--symbols", "BTC-USDT",
        "--channels", "trades,quotes,book", "--store", str(store), "--flush", "0.1",
        "--roll", "0.5", "--checkpoint", "0.3", env=env,
    )  # fmt: skip
    try:
        for _ in range(300):
            await asyncio.sleep(0.05)
            if len(S.all_files(store)) >= 6 and any(
                p.name.startswith("c-") for p in S.all_files(store)
            ):
                break
        assert proc.returncode is None, "recorder exited early"
        await asyncio.sleep(0.37)  # land somewhere inside a flush or a roll
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await emu.stop()
    files = S.all_files(store)
    assert files
    rows = sum(pq.read_table(f).num_rows for f in files)  # every file opens
    assert rows > 0
    book = [f for f in files if "channel=book" in str(f)]
    assert book
    sweep(store)
    assert not list(store.rglob("*.tmp"))
    assert sum(pq.read_table(f).num_rows for f in S.all_files(store)) == rows
