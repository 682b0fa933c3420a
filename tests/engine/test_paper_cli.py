"""The issue's own commands, as processes: ``tradeloop emulator okx ...`` in one, then
``tradeloop paper examples/sma_cross.py --venue okx --url ...`` in another. The paper run must
exit 0, write its outputs, log no secrets, and its fills must account exactly for the change
in the emulator's BTC balance (queried afterwards over signed REST)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.paper_cli import (
    SMA,
    assert_no_secret,
    cli_env,
    emulator,
    fees_in,
    paper,
    signed_qty,
)

from tradeloop.venues.okx.rest import OkxRestClient

KEY, SECRET, PASS = "K-paper-cli", "S-paper-cli-secret", "P-paper-cli-pass"
EMULATOR = ("--api-key", KEY, "--api-secret", SECRET, "--passphrase", PASS,
            "--balance", "USDT=100000", "--balance", "BTC=2",
            "--symbols", "BTC-USDT,ETH-USDT,BTC-USDT-SWAP", "--tick-ms", "50")  # fmt: skip


async def test_paper_cli_runs_sma_cross_against_emulator_cli(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with emulator(env, "okx", *EMULATOR) as emu:
        run = paper(env, SMA, tmp_path / "paper", "--venue", "okx", "--url", emu.url,
                    "--api-key", KEY, "--api-secret", SECRET, "--passphrase", PASS,
                    "--symbol", "BTC-USDT", "--bar", "1s", "--duration", "8",
                    "--param", "fast=1", "--param", "slow=2", "--cash", "5000")  # fmt: skip
        async with OkxRestClient(emu.url, KEY, SECRET, PASS) as rest:
            balance = await rest.balance("BTC")
    result = run.result
    # --symbol BTC-USDT (the bare instId) resolves to the instrument id
    assert result["venue"] == "okx" and result["symbols"] == ["BTC-USDT.OKX"]
    assert result["bars"] >= 5  # 8 s of 1 s bars, closed by the wall clock
    run.assert_summary()
    fills = run.fills  # as many rows as result.json counts
    # The venue's BTC moved by exactly what the engine recorded: bought - sold - BTC fees.
    venue_btc = float(balance[0]["details"][0]["cashBal"])
    # cashBal is shown with 8 decimals, fees are kept exact: allow that one rounding
    assert venue_btc == pytest.approx(2 + signed_qty(fills) - fees_in(fills, "BTC"), abs=1e-8)
    assert_no_secret(emu.logs + run.logs, SECRET, PASS)
