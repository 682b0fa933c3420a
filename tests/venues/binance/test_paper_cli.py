"""``tradeloop paper --venue binance`` on spot and on the USD-M perpetual, as processes:
``tradeloop emulator binance ...`` in one, the paper run of ``tests/strategies/flip.py`` in
another (the shared harness, ``tests/support/paper_cli.py``). The run must exit 0, write its
outputs, log no secret, and its fills must account exactly for the change in the emulator's
BTC balance (spot) or position (perpetual), read afterwards over signed REST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support import paper_cli as cli

from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.rest import BinanceRestClient

KEY, SECRET = "K-binance-paper", "S-binance-paper-secret"
EMULATOR = ("--api-key", KEY, "--api-secret", SECRET, "--balance", "USDT=100000",
            "--balance", "BTC=2", "--symbols", "BTCUSDT,ETHUSDT", "--tick-ms", "50")  # fmt: skip


def _paper(env: dict[str, str], url: str, out: Path, symbol: str, seconds: int) -> cli.PaperRun:
    return cli.paper(env, cli.FLIP, out, "--venue", "binance", "--url", url, "--api-key", KEY,
                     "--api-secret", SECRET, "--symbol", symbol, "--bar", "1s",
                     "--duration", str(seconds), "--cash", "5000")  # fmt: skip


def _btc(account: dict[str, Any]) -> float:
    """The spot wallet's whole BTC (free and locked)."""
    btc = next(b for b in account["balances"] if b["asset"] == "BTC")
    return float(btc["free"]) + float(btc["locked"])


async def test_paper_cli_spot_against_emulator_cli(tmp_path: Path) -> None:
    env = cli.cli_env(tmp_path)
    with cli.emulator(env, "binance", *EMULATOR) as emu:
        run = _paper(env, emu.url, tmp_path / "paper", "BTCUSDT", 8)
        rest = BinanceRestClient(emu.url, Credentials(KEY, SECRET))
        try:
            account = await rest.call("GET", "/api/v3/account", signed=True)
        finally:
            await rest.close()
    result = run.result
    assert result["venue"] == "binance" and result["symbols"] == ["BTCUSDT.BINANCE"]
    assert result["bars"] >= 5  # 8 s of 1 s bars
    run.assert_summary()
    fills = run.fills
    assert fills, "flip trades on every bar"
    expected = 2 + cli.signed_qty(fills) - cli.fees_in(fills, "BTC")
    assert _btc(account) == pytest.approx(expected, abs=1e-8)  # 8 decimals shown
    cli.assert_no_secret(emu.logs + run.logs, SECRET)


async def test_paper_cli_perpetual_against_emulator_cli(tmp_path: Path) -> None:
    env = cli.cli_env(tmp_path)
    with cli.emulator(env, "binance", *EMULATOR) as emu:
        run = _paper(env, emu.url, tmp_path / "paper", "BTCUSDT-PERP", 6)
        rest = BinanceRestClient(emu.url, Credentials(KEY, SECRET))
        try:
            pos = await rest.call("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"},
                                  signed=True)  # fmt: skip
            account = await rest.call("GET", "/api/v3/account", signed=True)
        finally:
            await rest.close()
    result = run.result
    assert result["symbols"] == ["BTCUSDT-PERP.BINANCE"] and result["bars"] >= 3
    fills = run.fills
    assert fills, "flip trades on every bar"
    assert {f["fee_ccy"] for f in fills} == {"USDT"}  # a perpetual pays fees in its margin asset
    assert float(pos[0]["positionAmt"]) == pytest.approx(cli.signed_qty(fills), abs=1e-9)
    assert _btc(account) == 2.0  # the spot wallet is untouched
    cli.assert_no_secret(emu.logs + run.logs, SECRET)
