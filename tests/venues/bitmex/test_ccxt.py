"""Third-party proof (issue 11): unmodified ccxt 4.5.82 ``bitmex`` / ccxt.pro ``bitmex`` -- the
last ccxt release with BitMEX -- against the emulator over 127.0.0.1 with only its URLs
changed. The project's .venv carries a newer ccxt without BitMEX, so ccxt runs in its own
environment (``.venv-ccxt4582``, made by ``scripts/ccxt_bitmex_env.sh``, which
``scripts/test.sh`` calls) as a subprocess: ``ccxt_bitmex_probe.py`` makes the calls and prints
what they returned; this test checks it against the emulator's own state. Skipped, with the
reason, when that environment could not be set up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator

REPO = Path(__file__).resolve().parents[3]
VENV_PY = REPO / ".venv-ccxt4582" / "bin" / "python"
STAMP = REPO / ".venv-ccxt4582" / ".ccxt-bitmex-installed"
PROBE = Path(__file__).with_name("ccxt_bitmex_probe.py")

pytestmark = pytest.mark.skipif(
    not (VENV_PY.exists() and STAMP.exists()),
    reason="ccxt 4.5.82 environment missing: bash scripts/ccxt_bitmex_env.sh makes it "
    "(it could not install ccxt==4.5.82 here; see .venv-ccxt4582/setup.log)",
)


async def _probe(emu: BitmexEmulator) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        str(VENV_PY), str(PROBE), emu.base_url, "K", "S",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"},
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail("the ccxt probe did not finish in 120 s")
    assert proc.returncode == 0, err.decode()[-3000:]
    doc: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return doc


async def test_ccxt_4582_bitmex_against_emulator(emu: BitmexEmulator) -> None:
    r = await _probe(emu)
    assert "failed" not in r, f"ccxt step {r.get('failed')!r} raised {r.get('error')}"
    assert r["version"] == "4.5.82" and r["step"] == "done"
    # markets: the three contracts, XBTUSD the inverse swap settled in BTC
    m = r["market"]
    assert m["id"] == "XBTUSD" and m["inverse"] and not m["linear"] and m["settle"] == "BTC"
    assert set(m["symbols"]) == {"BTC/USD:BTC", "ETH/USD:BTC", "BTC/USDT:USDT"}
    # market data
    t = r["ticker"]
    assert 0 < t["bid"] < t["ask"] and t["last"] > 0
    bids, asks = r["book"]["bids"], r["book"]["asks"]
    assert len(bids) == len(asks) == 25
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks) and bids[0][0] < asks[0][0]
    assert all(p % 0.5 == 0 and s > 0 for p, s in bids + asks)  # XBTUSD tick, contracts
    assert r["trades"] and {x["symbol"] for x in r["trades"]} == {"BTC/USD:BTC"}
    bars = r["ohlcv"]
    assert len(bars) == 5 and [b[0] for b in bars] == sorted(b[0] for b in bars)
    assert all(b[0] % 60_000 == 0 and b[3] <= min(b[1], b[4]) <= b[2] for b in bars)
    assert r["balance"] == {"BTC": 1.0, "USDT": 10_000.0}  # XBt / USDt minor units converted
    # orders: a resting limit buy, listed open, canceled; then a market buy that fills
    lim = r["limit"]
    assert lim["status"] == "open" and lim["side"] == "buy" and lim["type"] == "limit"
    assert r["open"] == [lim["id"]]
    assert r["canceled"] == {"id": lim["id"], "status": "canceled"} and r["open_after"] == []
    mkt = r["market_order"]
    assert mkt["status"] == "closed" and mkt["type"] == "market" and mkt["filled"] > 0
    # what ccxt read back is what the emulator booked
    execs = [e for e in emu.trading.executions if e["execType"] == "Trade"]
    mine = r["my_trades"]
    assert [(x["order"], x["side"], x["amount"]) for x in mine] == [
        (e["orderID"], "buy", float(e["lastQty"])) for e in execs
    ]
    assert {x["order"] for x in mine} == {mkt["id"]} and sum(x["amount"] for x in mine) == 200
    assert [x["fee"]["cost"] for x in mine] == [e["execComm"] for e in execs]  # XBt, raw
    assert {x["fee"]["currency"] for x in mine} == {"BTC"}
    pos = emu.trading.account.sim.positions()["XBTUSD"]
    assert r["positions"] == [{"symbol": "BTC/USD:BTC", "contracts": pos.qty, "side": "long"}]
    assert pos.qty == 200
    # ccxt.pro: the L2 book kept from partial + id-keyed deltas, and the private order table
    assert r["has"] == {"watchOrderBook": True, "watchOrders": True}
    assert 0 < r["watch_book"]["bid"] < r["watch_book"]["ask"]
    seen = r["watch_orders"]
    assert {"id": seen["placed"], "status": "open"} in seen["seen"]
