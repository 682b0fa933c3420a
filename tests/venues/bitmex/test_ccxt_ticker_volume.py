"""ccxt 4.5.82 ``bitmex.fetch_ticker`` reads the emulator's 24 h money right: ``baseVolume`` is
``homeNotional24h`` -- BTC for both the inverse XBTUSD (its turnover in satoshi / 1e8) and the
linear XBTUSDT (contracts x 1e-6) -- and ``quoteVolume`` is ``foreignNotional24h``: USD
contracts for XBTUSD, USDT (turnover in USDt / 1e6) for XBTUSDT. Run in ccxt's own environment
as ``test_ccxt.py`` does (skipped, with the reason, when it is missing), against a frozen market
so the row ccxt parsed is the one the emulator serves."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tests.support.gateway_fixtures import serving

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator

from .test_ccxt import STAMP, VENV_PY

pytestmark = pytest.mark.skipif(
    not (VENV_PY.exists() and STAMP.exists()),
    reason="ccxt 4.5.82 environment missing: bash scripts/ccxt_bitmex_env.sh makes it",
)

PROBE = """
import asyncio, json, sys
import ccxt.async_support as ccxt

async def main(base):
    ex = ccxt.bitmex({"enableRateLimit": False})
    ex.urls["api"]["public"] = ex.urls["api"]["private"] = base
    try:
        out = {}
        for sym in ("BTC/USD:BTC", "BTC/USDT:USDT"):
            t = await ex.fetch_ticker(sym)
            out[sym] = {k: t[k] for k in ("baseVolume", "quoteVolume", "vwap", "last")}
            out[sym]["info"] = t["info"]
        print(json.dumps(out))
    finally:
        await ex.close()

asyncio.run(main(sys.argv[1]))
"""


async def test_ccxt_ticker_volumes() -> None:
    cfg = BitmexConfig(api_key="K", api_secret="S", tick_interval_ms=0, seed=11,
                       balances={"XBt": 100_000_000.0})  # fmt: skip
    async with serving(BitmexEmulator(cfg)) as emu:
        now = int(time.time() * 1000)
        for k in range(60):  # prints in the current minute, on top of the seeded history
            emu.step(now + k * 50)
        proc = await asyncio.create_subprocess_exec(
            str(VENV_PY), "-c", PROBE, emu.base_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"},
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    got = json.loads(out.decode().strip().splitlines()[-1])
    inv, lin = got["BTC/USD:BTC"], got["BTC/USDT:USDT"]
    row = inv["info"]
    assert inv["baseVolume"] == row["homeNotional24h"] == row["turnover24h"] / 1e8
    assert inv["quoteVolume"] == row["foreignNotional24h"] == row["volume24h"]
    # BTC, not USD: the USD volume over a price near the last
    assert 0.98 < inv["quoteVolume"] / inv["baseVolume"] / inv["last"] < 1.02
    assert inv["vwap"] == pytest.approx(row["volume24h"] / inv["baseVolume"])
    row = lin["info"]
    assert lin["baseVolume"] == row["homeNotional24h"] == pytest.approx(row["volume24h"] / 1e6)
    assert lin["quoteVolume"] == row["foreignNotional24h"] == row["turnover24h"] / 1e6
    assert 0.98 < lin["quoteVolume"] / lin["baseVolume"] / lin["last"] < 1.02
