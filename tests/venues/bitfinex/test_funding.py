"""Perpetual funding through the Bitfinex connector over real sockets (rule 9 of
``venues/base.py``): the emulator settles funding on our ``tBTCF0:USTF0`` position, pushes
only the margin wallet's ``wu`` (described ``Funding Event ...``, no id), and books the
payment in its ledger. The gateway reads the ledger on that push and hands the engine one
``FundingPaid`` per ledger entry -- the amount the wallet moved, the ledger id as its id --
never a fill or a report; a repeated push, ``fetch_funding`` and the reconnect's catch-up
never deliver it twice, and a payment whose push was lost arrives after a reconnect."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.support import funding_checks as fc
from tests.support.gateway_fixtures import bound

from tradeloop.emulator.bitfinex.funding import LedgerEntry
from tradeloop.model import (
    FundingPaid,
    Order,
    OrderReport,
    OrderType,
    Side,
)
from tradeloop.venues.bitfinex import funding as F
from tradeloop.venues.bitfinex.gateway import BitfinexGateway

from .conftest import PERP, Sink, make_gateway, until

GW = tuple[BitfinexGateway, Sink]


async def _long(g: BitfinexGateway, sink: Sink, cid: str, qty: float) -> None:
    order = Order(cid, PERP, Side.BUY, qty, OrderType.MARKET)
    await fc.open_position(g, order, lambda: sink.of(OrderReport))


def _margin(emu: Any) -> float:
    return float(emu.trading.account.sim.balances()["USTF0"].total)


async def test_funding_is_one_payment_from_the_ledger(gw: GW, emu: Any) -> None:
    g, sink = gw
    await _long(g, sink, "perp-f1", 0.5)
    money, before = fc.money_events(sink.log), _margin(emu)
    emu.config.funding_rate = 0.0003  # a long pays a positive rate
    (entry,) = emu.settle_funding()
    await until(lambda: sink.of(FundingPaid), "the funding payment")
    paid = fc.one_payment(sink.of(FundingPaid), payment_id=entry.entry_id, amount=-entry.amount,
                          symbol=PERP, ccy="USTF0", venue="BITFINEX")  # fmt: skip
    assert paid.ccy == g.instruments()[PERP].settle and paid.amount > 0
    assert abs(paid.amount - (before - _margin(emu))) < 1e-9  # what the wallet moved
    assert paid.position == 0.5 and paid.ts == entry.mts * 1_000_000
    # the REST history has the same payment; a repeated push and the catch-up add nothing
    wu = emu.trading.wallet("USTF0", "Funding Event BTCF0:USTF0 (0.5)")
    reads = g.funding.reads

    def pushed_thrice() -> None:
        g.funding_reads.retry_s = ()  # nothing new will come of these pushes: no re-reads
        for _ in range(3):
            g.on_private("wu", list(wu))  # a burst of pushes: one ledger read

    await fc.never_twice(g, lambda: sink.of(FundingPaid), pushed_thrice)
    assert g.funding.reads == reads + 3  # fetch_funding's, the burst's one, the catch-up's
    assert fc.money_events(sink.log) == money  # no fill, no report


async def test_lost_push_arrives_once_after_reconnect(gw: GW, emu: Any) -> None:
    g, sink = gw
    await _long(g, sink, "perp-f2", 0.2)
    emu.config.funding_rate = -0.0002  # a long receives a negative rate
    with fc.pushes_lost(emu.hub, "push_account"):
        (entry,) = emu.settle_funding()  # its wu is lost, as over a dying socket
    paid = await fc.arrives_after_reconnect(emu, g, lambda: sink.of(FundingPaid), lambda: sink.log)
    assert paid.payment_id == str(entry.entry_id) and paid.amount < 0
    assert paid.amount == -entry.amount


async def test_two_settlements_two_payments_oldest_first(gw: GW, emu: Any) -> None:
    g, sink = gw
    await _long(g, sink, "perp-f3", 0.1)
    first = emu.settle_funding()[0]
    second = emu.settle_funding()[0]
    await until(lambda: len(sink.of(FundingPaid)) == 2, "both payments")
    ids = [p.payment_id for p in sink.of(FundingPaid)]
    assert ids == [str(first.entry_id), str(second.entry_id)]
    fetched = await g.fetch_funding(since_ns=second.mts * 1_000_000)
    assert str(second.entry_id) in [p.payment_id for p in fetched]
    assert [p.payment_id for p in await g.fetch_funding()] == ids


async def test_ledger_pages_back_to_since(
    gw: GW, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More entries than a page: every one is read once (pages overlap on a shared time),
    oldest first, and other entries in the ledger are not payments."""
    g, _ = gw
    monkeypatch.setattr(F, "PAGE", 7)
    t0 = 1_700_000_000_000
    for i in range(30):  # three entries a millisecond, so pages cut through equal times
        text = f"Funding Event BTCF0:USTF0 ({i + 1})" if i % 5 else "Transfer of 1 USTF0"
        emu.funding.ledger.append(
            LedgerEntry(9000 + i, "USTF0", t0 + i // 3, -0.5 * i, 1000.0, text, "margin")
        )
    got = await g.fetch_funding()
    assert [p.payment_id for p in got] == [str(9000 + i) for i in range(30) if i % 5]
    later = await g.fetch_funding(since_ns=(t0 + 5) * 1_000_000)
    assert [p.payment_id for p in later] == [str(9000 + i) for i in range(15, 30) if i % 5]


async def test_gateway_clock_ahead_of_bitfinex_still_gets_the_push(emu: Any) -> None:
    """The first ``since`` is the gateway's own start time; an entry stamped by a venue
    clock 5 s behind it still arrives from the push (the read looks back)."""
    g = make_gateway(emu)
    g.now_ns = lambda: time.time_ns() + 5_000_000_000
    g._funding_since = g.now_ns()
    async with bound(g, Sink()) as (gateway, sink):
        await _long(gateway, sink, "perp-f4", 0.1)
        (entry,) = emu.settle_funding()
        await until(lambda: sink.of(FundingPaid), "the payment")
        assert sink.of(FundingPaid)[0].payment_id == str(entry.entry_id)


async def test_malformed_ledger_entry_is_one_line_and_skipped(
    gw: GW, emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    g, _ = gw
    t0 = 1_700_000_000_000
    for i, text in enumerate(["Funding Event BTCF0:USTF0 (1e)", "Funding Event BTCF0:USTF0 (2)"]):
        emu.funding.ledger.append(LedgerEntry(7000 + i, "USTF0", t0 + i, -1.0, 5.0, text, "margin"))
    (ok,) = await g.fetch_funding()
    assert ok.payment_id == "7001" and ok.position == 2.0
    (line,) = [r for r in caplog.records if "malformed ledger entry" in r.getMessage()]
    assert "7000" in line.getMessage() and line.exc_info is None


async def test_push_before_the_ledger_lists_it_is_read_again(gw: GW, emu: Any) -> None:
    """The ``wu`` can come before the ledger listing shows its entry: the first read finds
    nothing new, a later one (``retry_s``) brings it."""
    g, sink = gw
    await _long(g, sink, "perp-f5", 0.1)
    g.funding_reads.retry_s = (0.1, 0.1, 0.1, 5.0)
    listed = emu.funding.rows
    served: list[int] = []

    def rows(currency: str = "") -> list[Any]:
        out = listed(currency)
        served.append(len(out))
        return out

    emu.funding.rows = rows
    with fc.pushes_lost(emu.hub, "push_account"):
        g.on_private("wu", emu.trading.wallet("USTF0", "Funding Event BTCF0:USTF0 (0.1)"))
        await until(lambda: served, "the first ledger read")
        (entry,) = emu.settle_funding()  # listed only after that read
    await until(lambda: sink.of(FundingPaid), "the re-read to bring the payment")
    assert served[0] == 0 and sink.of(FundingPaid)[0].payment_id == str(entry.entry_id)
