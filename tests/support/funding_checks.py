"""The funding (rule 9 of ``venues/base.py``) checks every venue's connector suite makes.

Each venue's funding test opens a perpetual position on its emulator, settles funding and
asks the same questions of what the gateway delivered: exactly one ``FundingPaid`` equal to
the emulator's record; ``fetch_funding``, a repeated push and the reconnect's catch-up never
deliver it twice; a payment whose push was lost (the emulator's push silenced for the
settlement, as over a dying socket) arrives after the sockets drop, once. Why here: the five
venue suites had a copy each. These are plain functions over callables (what the sink holds
now, what it has seen) because the venue suites keep different sinks; what is particular to
a venue (its record's fields, its wallet, its push) stays in its own file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.gateway_fixtures import until

from tradeloop.model import Fill, FundingPaid, Order, OrderReport, OrderStatus
from tradeloop.venues.base import RECONNECTED, Gateway

Delivered = Callable[[], list[FundingPaid]]


async def open_position(
    gateway: Gateway, order: Order, reports: Callable[[], Iterable[OrderReport]]
) -> None:
    """Submit ``order`` (a market order on the perpetual) and wait until ``reports()`` says
    it filled and the gateway's tasks are done: the position funding settles on."""
    gateway.submit_order(order)
    cid = order.client_order_id
    await until(
        lambda: any(r.client_order_id == cid and r.status is OrderStatus.FILLED
                    for r in reports()),
        f"{cid} to fill",
    )  # fmt: skip
    await gateway.drain()


def money_events(events: Iterable[object]) -> list[object]:
    """The fills and order reports among ``events`` (a payment must add none)."""
    return [e for e in events if isinstance(e, (Fill, OrderReport))]


def one_payment(
    delivered: list[FundingPaid],
    *,
    payment_id: object,
    amount: float,
    symbol: str,
    ccy: str,
    venue: str,
    tolerance: float = 0.0,
) -> FundingPaid:
    """The one payment delivered, checked against the emulator's record: its id (as a
    string), the amount the account paid (exact unless ``tolerance``), symbol, currency and
    venue."""
    (paid,) = delivered
    assert paid.payment_id == str(payment_id)
    assert abs(paid.amount - amount) <= tolerance, (paid.amount, amount)
    assert (paid.symbol, paid.ccy, paid.venue) == (symbol, ccy, venue)
    return paid


async def never_twice(
    gateway: Gateway, delivered: Delivered, repeat_push: Callable[[], None] | None = None
) -> FundingPaid:
    """With one payment delivered: ``fetch_funding`` lists the same payment (id, amount,
    time), and a repeated push (``repeat_push``, when the venue pushes) and the catch-up a
    private reconnect runs deliver nothing more."""
    (paid,) = delivered()
    (again,) = await gateway.fetch_funding()
    assert (again.payment_id, again.amount, again.ts) == (paid.payment_id, paid.amount, paid.ts)
    if repeat_push is not None:
        repeat_push()
        await gateway.drain()  # the reads the push started have run
    await gateway.catch_up_funding()
    assert delivered() == [paid]
    return paid


@contextmanager
def pushes_lost(owner: Any, name: str) -> Iterator[None]:
    """``owner.name`` (an emulator hub's push function) sends nothing inside the block."""
    push = getattr(owner, name)
    setattr(owner, name, lambda *a, **k: None)
    try:
        yield
    finally:
        setattr(owner, name, push)


def reconnects(events: Iterable[object]) -> int:
    """How many ``reconnected`` statuses are among ``events``."""
    return sum(1 for e in events if getattr(e, "status", "") == RECONNECTED)


async def arrives_after_reconnect(
    emu: Any, gateway: Gateway, delivered: Delivered, events: Callable[[], Iterable[object]]
) -> FundingPaid:
    """With nothing delivered yet (the payment's push was lost): drop the emulator's sockets;
    once the gateway is back (``events()`` shows one more reconnect) the payment arrives,
    once, however many catch-ups run."""
    assert not delivered()
    before = reconnects(events())
    assert emu.faults.drop_ws() >= 1
    await until(lambda: reconnects(events()) > before, "the reconnect", timeout=20.0)
    await until(delivered, "the payment settled while its push was lost", timeout=20.0)
    await gateway.drain()  # every catch-up the reconnects started has run
    await gateway.catch_up_funding()
    (paid,) = delivered()
    return paid
