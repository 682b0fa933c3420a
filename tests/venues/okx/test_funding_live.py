"""OKX funding in a live deployment, against the OKX emulator over loopback: the payment
the venue settles on the strategy's BTC-USDT-SWAP position is booked once -- into the
account's cash, the strategy's PnL and the journal -- when its ``funding_fee`` push arrives
while running, and one settled while the process is down is found by start-up
reconciliation; a further restart books nothing again. The account's funding then equals the
venue's funding bills."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.live.helpers import (
    account_block,
    emulator,
    restart_funding,
    started,
    strategy_block,
    write_config,
)
from tests.support.gateway_fixtures import until

from tradeloop.emulator.okx.server import OkxEmulator
from tradeloop.live.journal import Journal
from tradeloop.model import FundingPaid

K, S, P = "okx-fund-key", "okx-fund-secret", "okx-fund-pass"
NATIVE = "BTC-USDT-SWAP"
SYM = NATIVE + ".OKX"


def _bills(emu: OkxEmulator) -> list[tuple[str, float]]:
    """The venue's funding bills: (billId, what the account paid)."""
    return [(b["billId"], -float(b["balChg"])) for b in emu.trading.bills.rows]


async def test_okx_funding_booked_once_live_and_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("OKXF_KEY", K), ("OKXF_SECRET", S), ("OKXF_PASS", P)):
        monkeypatch.setenv(name, value)
    emu = emulator(K, S, P, symbols=[NATIVE], balances={"USDT": 100_000.0}, seed=4)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "j.sqlite"
    cfg = write_config(tmp_path / "live.toml", journal,
                       account_block("okx", url, "OKXF")
                       + strategy_block("BuyOnce", "once", None, "qty = 3"),
                       deployment="okx-funding", instruments=(SYM,))  # fmt: skip
    try:
        rt = await started(cfg)
        await rt.go_live()
        g = rt.groups[0]
        port = g.kernel.portfolio
        await until(lambda: port.positions[SYM].qty == 3, "the long", timeout=10)
        seen: list[FundingPaid] = []
        g.kernel.bus.subscribe(FundingPaid, seen.append)
        cash0 = port.cash_of(SYM)
        realized0 = port.strategy_pnl("once")[0]
        emu.config.funding_rate = 0.0003
        emu.settle_funding()  # its funding_fee push arrives while running
        await until(lambda: SYM in port.funding, "the payment booked", timeout=10)
        ((bill_id, paid),) = _bills(emu)
        assert paid > 0 and port.funding[SYM] == pytest.approx(paid, abs=1e-12)
        assert cash0 - port.cash_of(SYM) == pytest.approx(paid, abs=1e-9)
        assert realized0 - port.strategy_pnl("once")[0] == pytest.approx(paid, abs=1e-9)
        assert [p.payment_id for p in seen] == [bill_id]
        await rt.shutdown()

        # settled while the process is down: found and booked by start-up reconciliation
        emu.config.funding_rate = -0.0001
        emu.settle_funding()
        venue = _bills(emu)
        assert len(venue) == 2 and venue[1][1] < 0
        missed, funding, _ = await restart_funding(cfg, SYM)
        assert missed == 1
        assert funding == pytest.approx(sum(p for _, p in venue), abs=1e-12)
        # and once more: the venue lists both again, the journal books neither twice
        missed, funding, _ = await restart_funding(cfg, SYM)
        assert missed == 0
        assert funding == pytest.approx(sum(p for _, p in venue), abs=1e-12)
        j = Journal(journal)
        try:
            rows = j.fundings("okx")
        finally:
            j.close()
        assert [(r["payment_id"], r["amount"]) for r in rows] == venue
        assert {r["symbol"] for r in rows} == {SYM} and {r["ccy"] for r in rows} == {"USDT"}
    finally:
        await asyncio.wait_for(emu.stop(), 10)


async def test_okx_fill_while_down_before_the_settlement_carries_its_funding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process stops with a resting limit buy left at the venue; while it is down the buy
    fills, then funding settles on the position it opened. At the restart the fill (listed
    with OKX's ``fillTime``) and the funding bill are taken in the venue's order, so the
    payment is the strategy's; taken by when the process learnt of them -- both at the
    restart -- the fill could come after the payment, which would then land on a flat book
    and be lost."""
    for name, value in (("OKXF_KEY", K), ("OKXF_SECRET", S), ("OKXF_PASS", P)):
        monkeypatch.setenv(name, value)
    emu = emulator(K, S, P, symbols=[NATIVE], balances={"USDT": 100_000.0}, seed=5)
    url = await emu.start("127.0.0.1", 0)
    cfg = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite",
                       account_block("okx", url, "OKXF")
                       + strategy_block("HoldAndRest", "rest", None,
                                        "qty = 0, rest_qty = 3, gap = 0.01"),
                       deployment="okx-down", instruments=(SYM,),
                       extra_live='on_stop = "leave"')  # fmt: skip
    account = emu.trading.account
    try:
        rt = await started(cfg)
        await rt.go_live()
        await until(lambda: account.orders(open_only=True), "the resting buy", 20)
        await rt.shutdown()
        ((_info, resting),) = account.orders(open_only=True)
        m = emu.driver.markets[NATIVE]  # while down: the market falls through the buy ...
        m.grid = round((float(resting.price) * 0.99) / m.instrument.tick_size / m.spacing)
        emu.step()
        await until(lambda: not account.orders(open_only=True), "the buy filled")
        emu.config.funding_rate = 0.0003  # ... then funding settles on the position
        emu.settle_funding()
        ((_bill, paid),) = _bills(emu)
        missed, funding, mismatches = await restart_funding(cfg, SYM)
        assert missed == 1 and mismatches == []
        assert funding == pytest.approx(paid, abs=1e-12) and paid > 0
    finally:
        await asyncio.wait_for(emu.stop(), 10)
