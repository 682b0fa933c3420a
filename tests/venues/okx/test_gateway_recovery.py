"""OkxGateway recovery rules without a network, against a scripted REST double: a cancel is
re-sent until OKX confirms it or the order is known finished, a hopeless or timed-out cancel is
reported to the engine, and a placement OKX answered "duplicate clOrdId" (an earlier attempt
landed) is resolved, never reported as rejected."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    VenueStatus,
)
from tradeloop.venues.http import RequestTimeout, UnknownOutcome
from tradeloop.venues.okx.gateway import OkxGateway, RecoveryPolicy
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.retry import RetryConfig

FAST = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.001, cap=0.002),
    cancel_deadline_s=5.0,
    lookup_backoff=RetryConfig(max_attempts=4, base=0.001, cap=0.002),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.001, cap=0.002),
    reconcile_deadline_s=0.2,
)

Script = list[Any]  # each entry: an exception to raise or a value to return


def row(state: str, acc: str = "0", cid: str = "c1") -> dict[str, Any]:
    return {
        "instId": "BTC-USDT",
        "clOrdId": cid,
        "ordId": "77",
        "side": "buy",
        "state": state,
        "accFillSz": acc,
        "avgPx": "100" if acc != "0" else "",
    }


def fill_row(trade_id: str, sz: str) -> dict[str, Any]:
    return {
        "instId": "BTC-USDT",
        "ordId": "77",
        "tradeId": trade_id,
        "side": "buy",
        "fillPx": "100",
        "fillSz": sz,
        "fee": "-0.01",
        "feeCcy": "USDT",
        "execType": "M",
    }


class FakeRest:
    """The slice of OkxRestClient the gateway's order paths use, answering from scripts."""

    base_url = "http://127.0.0.1:1"
    credentials = None

    def __init__(self) -> None:
        self.cancels: Script = []
        self.places: Script = []
        self.lookups: Script = []
        self.fill_rows: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.inst_ids: set[str] = set()  # what went on the wire
        self.cancel_gate: asyncio.Event | None = None

    @staticmethod
    def _next(script: Script, default: Any) -> Any:
        item = script.pop(0) if script else default
        if isinstance(item, BaseException):
            raise item
        return item

    async def cancel_order(self, inst_id: str, cl_ord_id: str | None = None) -> dict[str, Any]:
        self.calls.append("cancel")
        self.inst_ids.add(inst_id)
        if self.cancel_gate is not None:
            await self.cancel_gate.wait()
        return cast(dict[str, Any], self._next(self.cancels, {"sCode": "0"}))

    async def place_order(self, **params: Any) -> dict[str, Any]:
        self.calls.append("place")
        self.inst_ids.add(params["inst_id"])
        return cast(dict[str, Any], self._next(self.places, {"ordId": "77", "sCode": "0"}))

    async def get_order(self, inst_id: str, cl_ord_id: str | None = None) -> dict[str, Any]:
        self.calls.append("get_order")
        self.inst_ids.add(inst_id)
        return cast(dict[str, Any], self._next(self.lookups, row("live")))

    async def fills(
        self, inst_id: str | None = None, ord_id: str | None = None, after: str | None = None
    ) -> list[Any]:
        """One page, as OKX's: the rows fit one (``after`` would page further back)."""
        self.calls.append("fills")
        return list(self.fill_rows)

    async def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.log: list[Any] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.log.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)

    def reports(self) -> list[OrderReport]:
        return [x for x in self.log if isinstance(x, OrderReport)]


BTC = Instrument.of("BTC-USDT", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=0.01)
SYM = BTC.symbol  # BTC-USDT.OKX: what the engine speaks; the wire gets BTC-USDT


def make(policy: RecoveryPolicy = FAST) -> tuple[OkxGateway, FakeRest, Sink]:
    fake = FakeRest()
    gw = OkxGateway(rest=cast(OkxRestClient, fake), recovery=policy)
    sink = Sink()
    gw.bind(sink)
    return gw, fake, sink


def working(gw: OkxGateway, state: str = "live", acc: str = "0") -> Order:
    """An order the gateway tracks as working (learned from an ``orders`` push)."""
    gw.on_orders([row(state, acc)])
    return Order("c1", SYM, Side.BUY, 2.0, OrderType.LIMIT, 100.0)


def rate_limited() -> RateLimited:
    return RateLimited("POST /api/v5/trade/cancel-order: HTTP 429", "50011")


async def test_cancel_is_resent_through_rate_limits_until_confirmed() -> None:
    gw, fake, sink = make()
    order = working(gw)
    fake.cancels = [rate_limited(), rate_limited(), rate_limited()]
    fake.lookups = [row("canceled")]
    gw.cancel_order(order)
    await gw.drain()
    # three refused rounds, then OKX confirms; no private socket, so the state is fetched
    assert fake.calls == ["cancel"] * 4 + ["get_order"]
    assert [r.status for r in sink.reports()] == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]
    assert not any(r.reason.startswith("cancel failed") for r in sink.reports())
    assert {r.symbol for r in sink.reports()} == {SYM} and fake.inst_ids == {"BTC-USDT"}


async def test_cancel_answered_already_finished_resolves_from_the_order_state() -> None:
    gw, fake, sink = make()
    order = working(gw)
    fake.cancels = [VenueError("already filled", "51400")]
    fake.lookups = [row("filled", acc="2")]
    fake.fill_rows = [fill_row("t2", "1.5"), fill_row("t1", "0.5")]  # newest first
    gw.cancel_order(order)
    await gw.drain()
    assert fake.calls == ["cancel", "get_order", "fills"]
    kinds = [type(x).__name__ for x in sink.log]
    assert kinds == ["OrderReport", "Fill", "Fill", "OrderReport"]
    assert sink.log[-1].status is OrderStatus.FILLED
    assert [f.trade_id for f in sink.log if isinstance(f, Fill)] == ["t1", "t2"]


async def test_cancel_refused_for_good_is_reported_at_once() -> None:
    gw, fake, sink = make()
    order = working(gw)
    fake.cancels = [AuthError("bad key", "50111")]
    gw.cancel_order(order)
    await gw.drain()
    assert fake.calls == ["cancel"]
    last = sink.reports()[-1]
    assert last.status is OrderStatus.ACCEPTED and last.client_order_id == "c1"
    assert last.reason.startswith("cancel failed: OKX 50111")


async def test_cancel_past_the_deadline_reports_the_live_state() -> None:
    policy = RecoveryPolicy(
        cancel_backoff=RetryConfig(max_attempts=0, base=0.01, cap=0.02, min_delay=0.01),
        cancel_deadline_s=0.1,
    )
    gw, fake, sink = make(policy)
    order = working(gw, "partially_filled", acc="0.5")
    fake.cancels = [rate_limited() for _ in range(1000)]
    gw.cancel_order(order)
    await gw.drain()
    n = fake.calls.count("cancel")
    assert 2 <= n < 1000  # kept trying, then stopped at the deadline
    last = sink.reports()[-1]
    assert last.status is OrderStatus.PARTIALLY_FILLED and last.filled_qty == 0.5
    assert last.reason.startswith("cancel failed") and "gave up after 0.1s" in last.reason


async def test_a_second_cancel_joins_the_running_one() -> None:
    gw, fake, sink = make()
    order = working(gw)
    fake.cancel_gate = asyncio.Event()
    gw.cancel_order(order)
    await asyncio.sleep(0)
    gw.cancel_order(order)
    await asyncio.sleep(0.01)
    fake.cancel_gate.set()
    fake.lookups = [row("canceled")]
    await gw.drain()
    assert fake.calls.count("cancel") == 1
    assert sink.reports()[-1].status is OrderStatus.CANCELED


def test_recovery_policy_needs_a_positive_deadline() -> None:
    with pytest.raises(ValueError):
        RecoveryPolicy(cancel_deadline_s=0.0)


async def test_lookup_after_an_unknown_placement_outcome_finds_the_order() -> None:
    gw, fake, sink = make()
    gw._instruments[SYM] = BTC
    fake.places = [RequestTimeout("POST /api/v5/trade/order: no response")]
    fake.lookups = [rate_limited(), row("live")]
    gw.submit_order(Order("c1", SYM, Side.BUY, 2.0, OrderType.LIMIT, 100.0))
    await gw.drain()
    assert [r.status for r in sink.reports()] == [OrderStatus.ACCEPTED]
    assert fake.calls == ["place", "get_order", "get_order"]
    assert sink.reports()[0].symbol == SYM and fake.inst_ids == {"BTC-USDT"}


def not_found() -> VenueError:
    return VenueError("GET /api/v5/trade/order: OKX 51603 Order does not exist.", "51603")


async def place(gw: OkxGateway, fake: FakeRest, error: VenueError, *lookups: Any) -> None:
    gw._instruments[SYM] = BTC
    fake.places = [error]
    fake.lookups = list(lookups)
    gw.submit_order(Order("c1", SYM, Side.BUY, 2.0, OrderType.LIMIT, 100.0))
    await gw.drain()


async def test_duplicate_clordid_answer_is_resolved_not_rejected() -> None:
    gw, fake, sink = make()
    dup = UnknownOutcome("order c1: duplicate but not found", "51016")
    fake.fill_rows = [fill_row("t1", "0.5")]
    await place(gw, fake, dup, rate_limited(), row("partially_filled", acc="0.5"))
    assert [type(x).__name__ for x in sink.log] == ["Fill", "OrderReport"]
    assert [r.status for r in sink.reports()] == [OrderStatus.PARTIALLY_FILLED]


async def test_duplicate_clordid_never_becomes_a_rejection_even_if_unseen() -> None:
    gw, fake, sink = make()
    status: list[VenueStatus] = []
    gw.on_account_event = lambda ev: status.append(cast(VenueStatus, ev))
    fake.lookups = [not_found() for _ in range(100_000)]
    await place(gw, fake, VenueError("dup", "51016"), *fake.lookups)
    assert sink.reports() == []  # still in doubt: never "rejected"
    # looked up past the lookup rounds, until the reconcile deadline, then the engine is told
    assert fake.calls.count("get_order") > FAST.lookup_backoff.max_attempts
    assert [s.status for s in status] == ["reconcile_failed"]


async def test_one_empty_lookup_is_not_enough_to_call_an_order_absent() -> None:
    gw, fake, sink = make()
    await place(gw, fake, RequestTimeout("no answer"), not_found(), row("live"))
    assert [r.status for r in sink.reports()] == [OrderStatus.ACCEPTED]


async def test_order_absent_on_repeated_lookups_is_rejected() -> None:
    gw, fake, sink = make()
    await place(gw, fake, RequestTimeout("no answer"), not_found(), not_found())
    (report,) = sink.reports()
    assert report.status is OrderStatus.REJECTED and "not found" in report.reason


async def test_definite_refusal_is_a_rejection() -> None:
    gw, fake, sink = make()
    await place(gw, fake, rate_limited())
    (report,) = sink.reports()
    assert report.status is OrderStatus.REJECTED and "50011" in report.reason
    assert fake.calls == ["place"]
