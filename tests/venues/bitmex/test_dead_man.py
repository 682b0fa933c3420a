"""The dead-man switch as ``tradeloop paper`` / live get it: a BitMEX gateway built through the
registry arms ``cancelAllAfter`` by default (60 s, refreshed every quarter), the emulator
shows the timer, a clean stop turns it off and leaves our orders resting, the environment
can turn it off, and a killed trading process (its own OS process, SIGKILLed: no stop, no
disarm) has its orders canceled by the emulator once the timeout runs out, not before."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex.gateway import dead_man_from_env

from .conftest import Sink, make_gateway, until
from .test_e2e import order

CHILD = Path(__file__).with_name("dead_man_child.py")
ROOT = Path(__file__).resolve().parents[3]


def below_market(emu: BitmexEmulator) -> float:
    m = emu.driver.markets["XBTUSD"]
    return float(m.px(m.best_bid())) - 1000


def open_orders(emu: BitmexEmulator) -> int:
    return len(emu.trading.account.orders(open_only=True))


async def test_registry_arms_by_default_and_clean_stop_disarms(
    emu: BitmexEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(C.DEAD_MAN_ENV, raising=False)
    gateway = make_gateway(emu.base_url)
    assert gateway.dead_man_ms == C.DEAD_MAN_MS == 60_000
    gateway.bind(Sink())
    await gateway.start()
    try:
        # the emulator's timer: armed about 60 s ahead
        await until(lambda: emu.trading.dead_man_at > time.time() + 50, "the switch armed")
        gateway.submit_order(order("dm-clean", 100, below_market(emu)))
        await gateway.drain()
        assert open_orders(emu) == 1
    finally:
        await gateway.stop()
    assert emu.trading.dead_man_at == 0.0, "a clean stop turns the switch off"
    assert gateway.stream is None
    emu.trading.check_dead_man(time.time() + 3600)  # an hour on: nothing left to fire
    assert open_orders(emu) == 1, "orders outlive a clean stop"


async def test_env_turns_it_off(emu: BitmexEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(C.DEAD_MAN_ENV, "0")
    gateway = make_gateway(emu.base_url)
    assert gateway.dead_man_ms == 0
    gateway.bind(Sink())
    await gateway.start()
    try:
        gateway.submit_order(order("dm-off", 100, below_market(emu)))
        await gateway.drain()
        assert gateway.stream is not None and gateway.stream.authenticated
        assert not gateway.stream.armed and emu.trading.dead_man_at == 0.0
    finally:
        await gateway.stop()
    # an explicit option wins over the environment
    assert make_gateway(emu.base_url, dead_man_ms=5000).dead_man_ms == 5000


def test_env_values() -> None:
    assert dead_man_from_env({}) == C.DEAD_MAN_MS
    assert dead_man_from_env({C.DEAD_MAN_ENV: " 15000 "}) == 15_000
    assert dead_man_from_env({C.DEAD_MAN_ENV: "0"}) == 0
    for bad in ("-1", "60s", "1.5"):
        with pytest.raises(ConfigError, match=C.DEAD_MAN_ENV):
            dead_man_from_env({C.DEAD_MAN_ENV: bad})


async def test_killed_process_has_its_orders_canceled(emu: BitmexEmulator) -> None:
    emu.config.housekeeping_s = 0.02
    # a short timeout a loaded machine cannot miss by accident (refreshed every 375 ms)
    env = {**os.environ, C.DEAD_MAN_ENV: "1500", "PYTHONPATH": str(ROOT / "src")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), emu.base_url, str(below_market(emu)),
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line == b"ready\n", line
        assert open_orders(emu) == 1 and emu.trading.dead_man_at > 0
        await asyncio.sleep(3.0)  # twice the timeout: kept alive by the child
        assert open_orders(emu) == 1, "the switch fired while the process was alive"
        assert proc.returncode is None
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    # the process is gone without a word: the emulator cancels everything once it runs out
    await until(lambda: open_orders(emu) == 0, "the dead man's cancel", 15)
    assert emu.trading.dead_man_at == 0.0


async def test_stop_goes_on_when_the_venue_cannot_confirm(
    emu: BitmexEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(C, "DISARM_TIMEOUT_S", 0.3)
    gateway = make_gateway(emu.base_url, dead_man_ms=60_000)
    gateway.bind(Sink())
    await gateway.start()
    await until(lambda: emu.trading.dead_man_at > 0, "the switch armed")
    emu.faults.add_latency(1_500)  # every REST answer now comes too late
    try:
        await asyncio.wait_for(gateway.stop(), 10)
    finally:
        emu.faults.reset()
    assert gateway.stream is None
    assert "could not turn the dead-man switch off" in caplog.text
    assert emu.trading.dead_man_at > 0, "still armed: BitMEX cancels when it runs out"


async def test_switch_rearmed_on_reconnect(
    emu: BitmexEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dropped socket is re-armed on its new login, not a refresh period (15 s) later: the
    venue's timer moves on within a few seconds of the reconnect."""
    monkeypatch.delenv(C.DEAD_MAN_ENV, raising=False)
    gateway = make_gateway(emu.base_url)
    sink = Sink()
    gateway.bind(sink)
    gateway.bind_data(sink)
    await gateway.start()
    try:
        await until(lambda: emu.trading.dead_man_at > time.time() + 50, "the switch armed")
        emu.trading.dead_man_at = time.time() + 30  # as if half the timeout had run
        emu.faults.drop_ws()
        await until(lambda: emu.trading.dead_man_at > time.time() + 50,
                    "re-armed after reconnect", 5)  # fmt: skip
        assert gateway.stream is not None and gateway.stream.armed
    finally:
        await gateway.stop()
    assert emu.trading.dead_man_at == 0.0
