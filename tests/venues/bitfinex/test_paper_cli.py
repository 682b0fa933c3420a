"""``tradeloop paper --venue bitfinex`` on tBTCUSD, as processes: ``tradeloop emulator bitfinex
...`` in one, then two paper runs against it -- the SMA example (``examples/sma_cross.py``,
the issue's example; a short quiet market may leave it without a trade) and
``tests/strategies/flip.py`` (trades every bar) -- with orders over the authenticated
WebSocket, dead-man switch on. Each run must exit 0, write its outputs and log no secret, and
their fills must account exactly for the change in the emulator's BTC wallet (read afterwards
over signed REST)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.paper_cli import (
    FLIP,
    SMA,
    PaperRun,
    assert_no_secret,
    cli_env,
    emulator,
    fees_in,
    paper,
    signed_qty,
)

from tradeloop.venues.bitfinex.rest import BitfinexRestClient

KEY, SECRET = "K-bitfinex-paper", "S-bitfinex-paper-secret"
EMULATOR = ("--api-key", KEY, "--api-secret", SECRET, "--balance", "USD=100000",
            "--balance", "BTC=2", "--symbols", "tBTCUSD,tETHUSD", "--tick-ms", "50")  # fmt: skip


def _paper(env: dict[str, str], url: str, strategy: Path, out: Path, seconds: int, *extra: str
           ) -> PaperRun:  # fmt: skip
    return paper(env, strategy, out, "--venue", "bitfinex", "--url", url, "--api-key", KEY,
                 "--api-secret", SECRET, "--symbol", "tBTCUSD", "--bar", "1s",
                 "--duration", str(seconds), "--cash", "5000", *extra)  # fmt: skip


async def test_paper_cli_spot_against_emulator_cli(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with emulator(env, "bitfinex", *EMULATOR) as emu:
        sma = _paper(env, emu.url, SMA, tmp_path / "sma", 4, "--param", "fast=1",
                     "--param", "slow=2")  # fmt: skip
        run = _paper(env, emu.url, FLIP, tmp_path / "paper", 8)
        rest = BitfinexRestClient(emu.url, KEY, SECRET)
        try:
            wallets = await rest.wallets()
        finally:
            await rest.close()
    result = run.result
    assert result["venue"] == "bitfinex" and result["symbols"] == ["tBTCUSD.BITFINEX"]
    assert result["bars"] >= 5  # 8 s of 1 s bars
    run.assert_summary()
    assert run.fills, "flip trades on every bar"
    assert sma.result["venue"] == "bitfinex" and sma.result["bars"] >= 2
    fills = run.fills + sma.fills
    (btc,) = [w for w in wallets if w[0] == "exchange" and w[1] == "BTC"]
    assert float(btc[2]) == pytest.approx(2 + signed_qty(fills) - fees_in(fills, "BTC"), abs=1e-8)
    assert_no_secret(emu.logs + run.logs + sma.logs, SECRET)
