"""A paper run on the OKX emulator, in process, with the dashboard attached (loopback only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conformance.harness import until
from tests.live.helpers import account_block, emulator, write_config

from tradeloop.dashboard import Dashboard, DashboardOptions, hook
from tradeloop.emulator.okx.server import OkxEmulator
from tradeloop.live.config import load_live_config
from tradeloop.live.runtime import LiveRuntime

K, S, P = "dash-key", "dash-secret", "dash-pass"
STRATS = Path(__file__).resolve().parent / "strategies.py"


@dataclass
class PaperRun:
    rt: LiveRuntime
    emu: OkxEmulator
    dash: Dashboard
    url: str
    task: asyncio.Task[None]

    def venue_orders(self) -> int:
        """Orders the emulated venue has accepted so far (its order id counter)."""
        sim: Any = self.emu.trading.account.sim
        return int(sim._oid)


def strategy(cls: str = "Busy", sid: str = "busy", bar: str = "1s", mode: str = "live") -> str:
    return (f'\n[[strategy]]\nfile = "{STRATS}"\nclass = "{cls}"\nid = "{sid}"\n'
            f'bar = "{bar}"\nmode = "{mode}"\n')  # fmt: skip


@contextlib.asynccontextmanager
async def paper_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str | None = None,
                    window_s: float = 0.05) -> AsyncIterator[PaperRun]:  # fmt: skip
    monkeypatch.setenv("D_KEY", K)
    monkeypatch.setenv("D_SECRET", S)
    monkeypatch.setenv("D_PASS", P)
    emu = emulator(K, S, P, tick_interval_ms=20)
    url = await emu.start("127.0.0.1", 0)
    cfg_path = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite",
                            account_block("okx-a", url, "D") + (body or strategy()),
                            extra_live="warmup = false")  # fmt: skip
    rt = LiveRuntime(load_live_config(cfg_path))
    rt.start_hooks.append(hook(DashboardOptions(window_s=window_s)))
    stop = asyncio.Event()
    task = asyncio.create_task(rt.run(stop))
    try:
        # generous deadlines (hang guards): start-up is seconds on a loaded machine
        await until(lambda: bool(rt.hooked) or task.done(), "the dashboard hook", 60)
        if task.done():
            task.result()
        dash = rt.hooked[0]
        await until(lambda: bool(rt.feed.kernels) or task.done(), "go-live", 60)
        if task.done():
            task.result()
        yield PaperRun(rt, emu, dash, dash.url, task)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
        await emu.stop()
