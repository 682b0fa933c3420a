"""OKX funding over real loopback sockets: the emulator settles funding on our
BTC-USDT-SWAP position, writes OKX's funding bill (``type`` 8, ``subType`` 173/174) and pushes
``balance_and_position`` with ``eventType`` ``funding_fee``; the gateway, told by that push,
reads the bill and hands the engine one ``FundingPaid`` (rule 9 of ``venues/base.py``) with
the amount the wallet moved, keyed by the ``billId``. A repeated push, ``fetch_funding`` and
the catch-up after a reconnect never deliver it twice; a payment whose push was lost arrives
after the reconnect. The settlement is called directly: no test waits for a boundary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support import funding_checks as fc
from tests.support import gateway_fixtures
from tests.support.gateway_fixtures import bound, serving

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.model import FundingPaid, Order, OrderReport, Side
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.limits import rest_charges
from tradeloop.venues.ratelimit import Limit

from .e2e import FAST_WS, until

KEY, SECRET, PASS = "fund-key-1", "fund-secret-2", "fund-pass-3"
NATIVE = "BTC-USDT-SWAP"
SWAP = NATIVE + ".OKX"
GATEWAY_LOG = "tradeloop.venues.okx.gateway"


class Sink(gateway_fixtures.Sink):
    """The shared recording sink, with this suite's questions."""

    @property
    def funding(self) -> list[FundingPaid]:
        return self.of(FundingPaid)


@pytest.fixture
async def emu() -> AsyncIterator[OkxEmulator]:
    config = EmulatorConfig(
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASS,
        balances={"USDT": 100_000.0},
        symbols=[NATIVE],
        seed=5,
        tick_interval_ms=0,  # frozen: the mark moves only through our orders
        private_push_interval_s=0,  # no timed account pushes in the way
    )
    async with serving(OkxEmulator(config)) as e:
        yield e


@pytest.fixture
async def gw(emu: OkxEmulator) -> AsyncIterator[tuple[OkxGateway, Sink]]:
    gateway = OkxGateway(emu.base_url, KEY, SECRET, PASS, inst_types=("SWAP",), ws_config=FAST_WS)
    async with bound(gateway, Sink()) as pair:
        yield pair


async def _position(gateway: OkxGateway, sink: Sink, side: Side, contracts: float) -> None:
    order = Order(f"fund-{side.value}-{len(sink.log)}", SWAP, side, contracts)
    await fc.open_position(gateway, order, lambda: sink.of(OrderReport))


def _cash(emu: OkxEmulator) -> float:
    total: float = emu.trading.account.sim.balances()["USDT"].total
    return total


async def test_settlement_is_one_payment_from_its_bill(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 3)
    seen = fc.money_events(sink.log)
    emu.config.funding_rate = 0.0001  # a long pays a positive rate
    before = _cash(emu)
    emu.settle_funding()
    moved = before - _cash(emu)
    (bill,) = emu.trading.bills.rows
    assert (bill["type"], bill["subType"], bill["instId"]) == ("8", "173", NATIVE)
    assert float(bill["balChg"]) < 0 and bill["pnl"] == bill["balChg"] and bill["sz"] == "3"
    assert float(bill["bal"]) == _cash(emu)
    await until(lambda: sink.funding, "the funding payment")
    paid = fc.one_payment(sink.funding, payment_id=bill["billId"], amount=-float(bill["balChg"]),
                          symbol=SWAP, ccy="USDT", venue="OKX")  # fmt: skip
    assert paid.amount == emu.trading.account.sim.funding_payments()[-1].amount
    assert paid.amount == pytest.approx(moved, abs=1e-9) and paid.amount > 0
    assert paid.position == 3.0 and paid.ts == int(bill["ts"]) * 1_000_000

    def pushed_again() -> None:
        gateway.funding_reads.retry_s = ()  # nothing new will come of this push: no re-reads
        gateway.on_account("balance_and_position", [{"eventType": "funding_fee", "balData": []}])

    # the REST view is the same payment; a repeated push and the catch-up add nothing
    await fc.never_twice(gateway, lambda: sink.funding, pushed_again)
    assert fc.money_events(sink.log) == seen  # no fill, no report


async def test_payment_whose_push_was_lost_arrives_once_after_reconnect(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 2)
    emu.config.funding_rate = -0.0002  # a long receives a negative rate
    with fc.pushes_lost(emu.hub, "push_private"):
        emu.settle_funding()
    await gateway.drain()
    paid = await fc.arrives_after_reconnect(emu, gateway, lambda: sink.funding, lambda: sink.log)
    (bill,) = emu.trading.bills.rows
    assert bill["subType"] == "174" and paid.payment_id == bill["billId"]
    assert paid.amount == -float(bill["balChg"]) < 0


async def test_short_pays_a_negative_rate_and_bills_add_up_to_the_wallet(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    gateway, sink = gw
    await _position(gateway, sink, Side.SELL, 4)
    start = _cash(emu)
    for rate in (-0.0003, 0.0001, -0.0002):  # a short pays negative rates, receives positive
        emu.config.funding_rate = rate
        emu.settle_funding()
    await until(lambda: len(sink.funding) == 3, "three payments")
    await gateway.drain()
    bills = emu.trading.bills.rows
    assert [p.payment_id for p in sink.funding] == [b["billId"] for b in bills]
    assert [b["subType"] for b in bills] == ["173", "174", "173"]
    assert [p.amount > 0 for p in sink.funding] == [True, False, True]
    assert sum(p.amount for p in sink.funding) == pytest.approx(start - _cash(emu), abs=1e-9)
    assert [p.payment_id for p in await gateway.fetch_funding()] == [b["billId"] for b in bills]


async def test_funding_push_shapes(gw: tuple[OkxGateway, Sink], emu: OkxEmulator) -> None:
    """What OKX pushes on a settlement: ``balance_and_position`` (``funding_fee``, the cash
    and the position, no amount) before ``account`` and ``positions``."""
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 1)
    sent: list[tuple[str, list[Any]]] = []
    push = emu.hub.push_private

    def spy(channel: str, match: Any, data: list[Any]) -> None:
        sent.append((channel, data))
        push(channel, match, data)

    emu.hub.push_private = spy  # type: ignore[method-assign]
    try:
        emu.settle_funding()
    finally:
        emu.hub.push_private = push  # type: ignore[method-assign]
    assert [c for c, _ in sent] == ["balance_and_position", "account", "positions"]
    (row,) = sent[0][1]
    (bill,) = emu.trading.bills.rows
    assert row["eventType"] == "funding_fee" and row["trades"] == []
    assert [b["ccy"] for b in row["balData"]] == ["USDT"]
    assert float(row["balData"][0]["cashBal"]) == pytest.approx(float(bill["bal"]), abs=1e-9)
    assert [(p["instId"], p["pos"], p["posSide"]) for p in row["posData"]] == [(NATIVE, "1", "net")]
    await until(lambda: sink.funding, "the payment")


async def test_bills_listing_filters_and_pages(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    """``/account/bills``: newest first, ``after``/``before`` by billId, ``begin``/``end`` by
    ``ts``, ``type``/``subType``/``ccy``/``instType`` filters, at most 100 a page; the
    archive holds the same rows; ``fetch_funding`` pages all of them oldest first."""
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 1)
    with fc.pushes_lost(emu.hub, "push_private"):  # 130 settlements: more than a page
        for i in range(130):
            emu.config.funding_rate = 0.0001 if i % 2 else -0.0001
            emu.settle_funding()
    rows = emu.trading.bills.rows
    ids = [r["billId"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 130
    rest = gateway.rest
    page = await rest.bills("8", limit=5)
    assert [r["billId"] for r in page] == ids[::-1][:5]
    older = await rest.bills("8", limit=5, after=page[-1]["billId"])
    assert [r["billId"] for r in older] == ids[::-1][5:10]
    assert len(await rest.bills(limit=500)) == 100  # capped at 100
    assert {r["subType"] for r in await rest.request("GET", C.BILLS, {"subType": "174"}, True)} == {
        "174"
    }
    newer = await rest.request("GET", C.BILLS, {"before": ids[-3]}, True)
    assert [r["billId"] for r in newer] == ids[-2:][::-1]
    assert await rest.bills("2") == [] and await rest.bills("8", ccy="BTC") == []
    assert await rest.bills("8", inst_type="SPOT") == []
    inverse = await rest.request("GET", C.BILLS, {"ctType": "inverse"}, True)
    assert (
        inverse == [] and len(await rest.request("GET", C.BILLS, {"ctType": "linear"}, True)) == 100
    )
    t = int(rows[0]["ts"])
    assert len(await rest.request("GET", C.BILLS, {"end": t - 1}, True)) == 0
    assert len(await rest.bills("8", begin=t, limit=100, archive=True)) == 100
    with pytest.raises(Exception, match="51000"):
        await rest.bills(inst_type="NOPE")
    got = await gateway.fetch_funding()
    assert [p.payment_id for p in got] == ids
    assert [p.payment_id for p in await gateway.fetch_funding(t * 1_000_000)] == ids
    assert await gateway.fetch_funding((int(rows[-1]["ts"]) + 1) * 1_000_000) == []
    assert sum(p.amount for p in got) == pytest.approx(
        sum(p.amount for p in emu.trading.account.sim.funding_payments()), abs=1e-9
    )


async def test_bad_bill_and_bad_push_items_are_one_line_each(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 1)
    emu.settle_funding()
    await until(lambda: sink.funding, "the payment")
    await gateway.drain()
    (good,) = emu.trading.bills.rows
    bad_id = str(int(good["billId"]) + 1)
    emu.trading.bills.rows.append({**good, "billId": bad_id, "pnl": "lots"})
    caplog.set_level(logging.WARNING, logger=GATEWAY_LOG)
    gateway.funding_reads.retry_s = ()  # the bad bill is all there is: one read
    gateway.on_account("balance_and_position", ["junk", {"eventType": "funding_fee"}])  # type: ignore[list-item]
    await gateway.drain()
    assert [p.payment_id for p in sink.funding] == [good["billId"]]
    (line,) = [r for r in caplog.records
               if r.name == GATEWAY_LOG and r.levelno >= logging.WARNING]  # fmt: skip
    assert "bad funding bill" in line.getMessage() and bad_id in line.getMessage()
    assert line.exc_info is None  # one line, no traceback


async def test_push_before_its_bill_is_listed_is_read_again(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    """The ``funding_fee`` push can come before the bills listing shows the bill: the first
    read finds nothing new, a later one (``retry_s``) brings it, once."""
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 2)
    gateway.funding_reads.retry_s = (0.1, 0.1, 0.1, 5.0)
    listed = emu.trading.bills.query
    served: list[int] = []

    def query(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        out = listed(*args, **kwargs)
        served.append(len(out))
        return out

    emu.trading.bills.query = query  # type: ignore[method-assign]
    with fc.pushes_lost(emu.hub, "push_private"):
        gateway.on_account("balance_and_position", [{"eventType": "funding_fee", "balData": []}])
        await until(lambda: served, "the first bills read")
        emu.settle_funding()  # billed only after that read
    await until(lambda: sink.funding, "the re-read to bring the payment")
    await gateway.drain()
    (bill,) = emu.trading.bills.rows
    assert served[0] == 0 and len(served) >= 2
    assert [p.payment_id for p in sink.funding] == [bill["billId"]]


@pytest.mark.parametrize(
    ("pnl", "bal_chg", "pos_bal_chg", "paid"),
    [
        ("-0.25", "-0.25", "0", 0.25),  # cross: the account paid (subType 173)
        ("0.5", "0.5", "0", -0.5),  # received (174): a negative payment
        ("", "0", "-0.125", 0.125),  # isolated: the position's margin paid it
        ("", "", "", 0.0),  # says nothing: nothing paid, no exception
    ],
)
def test_funding_bill_sign(pnl: str, bal_chg: str, pos_bal_chg: str, paid: float) -> None:
    row = {"billId": "9", "type": "8", "instId": NATIVE, "ccy": "USDT", "ts": "1700000000000",
           "pnl": pnl, "balChg": bal_chg, "posBalChg": pos_bal_chg, "sz": "7"}  # fmt: skip
    assert P.is_funding_bill(row) and not P.is_funding_bill({**row, "type": "2"})
    p = P.parse_funding_bill(row, 5)
    assert (p.amount, p.position, p.payment_id, p.ts) == (paid, 7.0, "9", 1_700_000_000_000_000_000)


async def test_ccxt_reads_the_same_funding_history(
    gw: tuple[OkxGateway, Sink], emu: OkxEmulator
) -> None:
    """Third-party proof of the bill's field names: unmodified ccxt's
    ``fetch_funding_history`` (``bills-archive``, ``type`` 8) sees the payment the gateway
    delivered, under the same id, with ccxt's sign (the balance change)."""
    ccxt = pytest.importorskip("ccxt.async_support")
    gateway, sink = gw
    await _position(gateway, sink, Side.BUY, 2)
    emu.settle_funding()
    await until(lambda: sink.funding, "the payment")
    (paid,) = sink.funding
    ex = ccxt.okx({"apiKey": KEY, "secret": SECRET, "password": PASS})
    ex.urls["api"]["rest"] = emu.base_url
    ex.options["fetchMarkets"] = {"types": ["swap"]}
    try:
        await ex.load_markets()
        (row,) = await ex.fetch_funding_history("BTC/USDT:USDT")
    finally:
        await ex.close()
    assert (row["id"], row["code"], row["symbol"]) == (paid.payment_id, "USDT", "BTC/USDT:USDT")
    assert row["amount"] == -paid.amount and row["timestamp"] * 1_000_000 == paid.ts


def test_bills_rate_limits() -> None:
    """OKX: 5 requests a second for the recent bills, 5 per 2 s for the archive, per user."""
    assert C.RATE_LIMITS[C.BILLS] == Limit(5, 1.0)
    assert C.RATE_LIMITS[C.BILLS_ARCHIVE] == Limit(5, 2.0)
    (charge,) = rest_charges("GET", C.BILLS, {"type": "8"}, None)
    assert (charge.group, charge.cost) == (C.BILLS, 1.0)
