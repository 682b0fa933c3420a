"""The recorder's emission rules catch each way a gateway can break rules 1, 2, 4 and 8 — so a
clean run of the suite means something. Synthetic event logs, no venue."""

from __future__ import annotations

import pytest

from tradeloop.model import (
    BalanceUpdate,
    Event,
    Fill,
    Liquidity,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
    TradeTick,
    VenueStatus,
)

from .harness import Recorder

S = OrderStatus
SYM = "BTC-USDT.OKX"


def report(status: OrderStatus, filled: float = 0.0, cid: str = "a", **kw: object) -> OrderReport:
    return OrderReport(1, cid, "v1", str(kw.pop("symbol", SYM)), status, filled, 100.0,
                       **kw)  # type: ignore[arg-type]  # fmt: skip


def fill(qty: float, trade: str = "t1", cid: str = "a", symbol: str = SYM) -> Fill:
    return Fill(1, cid, "v1", trade, symbol, Side.BUY, 100.0, qty, 0.0, "USDT", Liquidity.TAKER)


def violations(*events: Event) -> list[str]:
    rec = Recorder("OKX")
    rec.log.extend(events)
    return rec.violations()


def test_a_lawful_life_is_clean() -> None:
    assert violations(
        report(S.ACCEPTED), fill(1.0, "t1"), report(S.PARTIALLY_FILLED, 1.0),
        fill(1.0, "t2"), report(S.FILLED, 2.0),
        report(S.REJECTED, cid="b", code=RejectReason.INSUFFICIENT_FUNDS),
        BalanceUpdate(1, "USDT", 1.0, 1.0, "OKX"), VenueStatus(1, "OKX", "reconnected"),
    ) == []  # fmt: skip


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ((report(S.PARTIALLY_FILLED, 1.0), report(S.ACCEPTED, 1.0)), "backwards"),
        ((report(S.CANCELED), report(S.ACCEPTED)), "after final"),
        (
            (fill(1.0), report(S.PARTIALLY_FILLED, 1.0), report(S.PARTIALLY_FILLED, 0.5)),
            "not cumulative",
        ),
        ((report(S.ACCEPTED), report(S.FILLED, 1.0), fill(1.0)), "before it"),
        ((fill(1.0), fill(1.0), report(S.FILLED, 1.0)), "delivered twice"),
        ((fill(1.0), report(S.FILLED, 1.0), fill(0.5, "t9")), "after its final report"),
        ((fill(2.0), report(S.FILLED, 1.0)), "fills sum to"),
        ((report(S.REJECTED),), "typed RejectReason"),
        ((report(S.ACCEPTED, symbol="BTC-USDT"),), "rule 4"),
        ((fill(1.0, symbol="BTC-USDT"),), "rule 4"),
        ((TradeTick(1, "BTC-USDT", 1.0, 1.0, Side.BUY),), "rule 4"),
        ((BalanceUpdate(1, "USDT", 1.0, 1.0),), "rule 8"),
        ((VenueStatus(1, "FTX", "resync"),), "rule 8"),
    ],
)
def test_each_break_is_named(events: tuple[Event, ...], says: str) -> None:
    found = violations(*events)
    assert any(says in v for v in found), found
    with pytest.raises(AssertionError, match="Gateway contract broken"):
        rec = Recorder("OKX")
        rec.log.extend(events)
        rec.assert_clean()
