"""Funding payments in a live deployment, against the BitMEX emulator over loopback: each
payment the venue settles on the strategies' XBTUSD position is booked once -- into the
account's cash, the strategy's PnL and the journal, in one transaction -- whether it arrives
as a push while running or is found by start-up reconciliation after a restart; a second
restart books nothing again. The account's funding then equals the venue's wallet rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.gateway_fixtures import until

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator
from tradeloop.live.journal import Journal
from tradeloop.live.status import runtime_snapshot
from tradeloop.model import FundingPaid

from .helpers import (
    keyed_account_block,
    restart_funding,
    started,
    strategy_block,
    write_config,
)

K, S = "fund-key", "fund-secret"
SYM = "XBTUSD.BITMEX"
SAT = 100_000_000


def _venue_funding(emu: BitmexEmulator) -> list[int]:
    """What the venue charged, per payment, in satoshi (positive: we paid)."""
    return [int(e["execComm"]) for e in emu.trading.executions if e["execType"] == "Funding"]


def _deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, qty: int,
                name: str) -> tuple[Path, Path]:  # fmt: skip
    """A one-strategy BitMEX deployment (``BuyOnce`` of ``qty`` XBTUSD) on the emulator at
    ``url``, keyed from the environment, the dead-man switch off: (config, journal)."""
    monkeypatch.setenv("BM_KEY", K)
    monkeypatch.setenv("BM_SECRET", S)
    monkeypatch.setenv("TRADELOOP_BITMEX_DEAD_MAN_MS", "0")
    journal = tmp_path / "j.sqlite"
    cfg = write_config(tmp_path / "live.toml", journal,
                       keyed_account_block("bm", url, "BM", "bitmex")
                       + strategy_block("BuyOnce", "once", None, f"qty = {qty}"),
                       deployment=name, instruments=(SYM,))  # fmt: skip
    return cfg, journal


def _emulator() -> BitmexEmulator:
    cfg = BitmexConfig(api_key=K, api_secret=S, balances={"XBt": 100_000_000.0},
                       symbols=["XBTUSD"], seed=3, tick_interval_ms=50)  # fmt: skip
    return BitmexEmulator(cfg)


async def test_funding_booked_once_live_and_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = _emulator()
    url = await emu.start("127.0.0.1", 0)
    cfg, journal = _deployment(tmp_path, monkeypatch, url, 2000, "bm-funding")
    try:
        rt = await started(cfg)
        await rt.go_live()
        g = rt.groups[0]
        port = g.kernel.portfolio
        await until(lambda: port.positions[SYM].qty == 2000, timeout=10)
        seen: list[FundingPaid] = []
        g.kernel.bus.subscribe(FundingPaid, seen.append)
        cash0 = port.cash_of(SYM)
        realized0 = port.strategy_pnl("once")[0]
        emu.config.funding_rate = 0.0003
        emu.settle_funding()  # pushed while running
        await until(lambda: SYM in port.funding, timeout=10)
        (paid,) = _venue_funding(emu)
        assert paid > 0 and round(port.funding[SYM] * SAT) == paid
        assert round((cash0 - port.cash_of(SYM)) * SAT) == paid
        assert round((realized0 - port.strategy_pnl("once")[0]) * SAT) == paid
        assert [p.payment_id for p in seen] == [emu.trading.executions[-1]["execID"]]
        snap = runtime_snapshot(rt)["groups"][0]  # what the dashboard shows
        assert snap["funding"] == {SYM: port.funding[SYM]}
        assert snap["strategies"]["once"]["funding"] == pytest.approx(port.funding[SYM])
        await rt.shutdown()

        # settled while the process is down: found and booked by start-up reconciliation
        emu.config.funding_rate = -0.0001
        emu.settle_funding()
        venue = _venue_funding(emu)
        assert len(venue) == 2 and venue[1] < 0
        missed, funding, mismatches = await restart_funding(cfg, SYM)
        assert missed == 1 and mismatches == [] and round(funding * SAT) == sum(venue)
        # and once more: the venue lists both again, the journal books neither twice
        missed, funding, _ = await restart_funding(cfg, SYM)
        assert missed == 0 and round(funding * SAT) == sum(venue)
        j = Journal(journal)
        try:
            rows = j.fundings("bm")
        finally:
            j.close()
        assert [round(r["amount"] * SAT) for r in rows] == venue
        assert {r["symbol"] for r in rows} == {SYM} and {r["ccy"] for r in rows} == {"BTC"}
    finally:
        await asyncio.wait_for(emu.stop(), 10)


async def test_unreadable_funding_history_is_one_warning_not_a_failed_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A venue that refuses the funding history at start-up (a key without the permission):
    the start goes on, one warning names it and the journal keeps it as an event."""
    from tradeloop.core.errors import VenueError
    from tradeloop.venues.bitmex.gateway import BitmexGateway

    emu = _emulator()
    url = await emu.start("127.0.0.1", 0)
    cfg, journal = _deployment(tmp_path, monkeypatch, url, 100, "bm-unread")
    try:
        await (await started(cfg)).shutdown()  # the first start records the baseline

        async def refused(self: BitmexGateway, since_ns: int = 0) -> list[FundingPaid]:
            raise VenueError("GET /api/v1/execution: BitMEX 403 Access Denied", "Access Denied")

        monkeypatch.setattr(BitmexGateway, "fetch_funding", refused)
        rt = await started(cfg)
        (rep,) = rt.reports
        await rt.shutdown()
        assert rep.missed_funding == 0 and rep.mismatches == []
        lines = [r for r in caplog.records if "could not be read" in r.getMessage()]
        assert len(lines) == 1 and "Access Denied" in lines[0].getMessage()
        j = Journal(journal)
        try:
            assert [e[1] for e in j.events("funding_unread")] == ["funding_unread"]
        finally:
            j.close()
    finally:
        await asyncio.wait_for(emu.stop(), 10)


async def test_a_fill_while_down_before_the_settlement_carries_its_funding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process stops with a resting limit buy (``on_stop = "leave"``); while it is down
    the order fills, then funding settles on the position it opened. At the restart both are
    found, and taken in the venue's order -- the fill, then the payment on it -- so the
    payment is the strategy's, to the satoshi (taken the other way it lands on a flat book
    and is lost)."""
    emu = _emulator()
    url = await emu.start("127.0.0.1", 0)
    monkeypatch.setenv("BM_KEY", K)
    monkeypatch.setenv("BM_SECRET", S)
    monkeypatch.setenv("TRADELOOP_BITMEX_DEAD_MAN_MS", "0")
    cfg = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite",
                       keyed_account_block("bm", url, "BM", "bitmex")
                       + strategy_block("HoldAndRest", "rest", None,
                                        "qty = 0, rest_qty = 1000, gap = 0.01"),
                       deployment="bm-down", instruments=(SYM,),
                       extra_live='on_stop = "leave"')  # fmt: skip
    try:
        rt = await started(cfg)
        await rt.go_live()
        await until(lambda: emu.trading.account.orders(open_only=True), "the resting buy", 20)
        await rt.shutdown()
        ((_info, resting),) = emu.trading.account.orders(open_only=True)
        # while down: the market falls through the buy, then funding settles on it
        m = emu.driver.markets["XBTUSD"]
        m.grid = round((float(resting.price) - 500) / m.instrument.tick_size / m.spacing)
        emu.step()
        await until(lambda: not emu.trading.account.orders(open_only=True), "the buy filled")
        emu.config.funding_rate = 0.0003
        emu.settle_funding()
        (paid,) = _venue_funding(emu)
        missed, funding, mismatches = await restart_funding(cfg, SYM)
        assert missed == 1 and mismatches == []
        assert round(funding * SAT) == paid > 0
    finally:
        await asyncio.wait_for(emu.stop(), 10)
