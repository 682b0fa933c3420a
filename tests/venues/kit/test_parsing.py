"""The kit's parse helpers and identity hooks, as every venue's ``parse`` / ``orders`` use them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import Instrument, InstrumentKind, RejectReason
from tradeloop.venues.execution import ErrorKind, ErrorTable, ListedHooks, spend_size
from tradeloop.venues.parsing import (
    VenueIds,
    balance_rows,
    float_text,
    instruments_by_id,
    iso_seconds,
    num,
)

IDS = VenueIds("XYZ")


def test_ids_round_trip_and_foreign_ids_pass_through() -> None:
    assert IDS.symbol_id("BTC/USD") == "BTC/USD.XYZ"
    assert IDS.native("BTC/USD.XYZ") == "BTC/USD"
    assert IDS.native("BTC-USDT.OKX") == "BTC-USDT.OKX"  # not ours: left for lookups to refuse


def test_numbers_text_and_times() -> None:
    assert num(None) == 0.0 and num("1.5") == 1.5 and num(2) == 2.0
    assert float_text(60012) == "60012.0" and float_text(0.00001) == "1e-05"
    assert iso_seconds("2021-05-01T00:00:01.500000+00:00") == 1619827201.5
    assert iso_seconds(None) == 0.0


def test_balance_rows() -> None:
    rows = [{"coin": "USD", "total": 10, "free": 4}, {"coin": "BTC", "total": None, "free": None}]
    usd, btc = balance_rows(rows, 7, "XYZ")
    assert (usd.ts, usd.asset, usd.total, usd.free, usd.venue) == (7, "USD", 10.0, 4.0, "XYZ")
    assert (btc.total, btc.free) == (0.0, 0.0)


def build(d: Any) -> Instrument | None:
    if d.get("skip"):
        return None
    return Instrument.of(d["name"], "XYZ", "BTC", "USD", tick_size=float(d["tick"]), lot_size=1.0)


def test_instruments_by_id_skips_malformed_and_unwanted_rows(caplog: Any) -> None:
    rows = [{"name": "A", "tick": 1}, {"name": "B"}, {"name": "C", "tick": "x"}, {"skip": 1}]
    got = instruments_by_id(rows, build, "XYZ", "name")
    assert list(got) == ["A.XYZ"]
    assert "skipping malformed XYZ instrument B" in caplog.text
    assert "instrument C" in caplog.text


class Hooks(ListedHooks):
    venue = "XYZ"
    ids = IDS
    errors = ErrorTable({"gone": ErrorKind.NOT_FOUND}, {"poor": RejectReason.INSUFFICIENT_FUNDS})
    client_ids = re.compile(r"[a-z0-9]{1,8}")

    async def place(self, *a: Any) -> Any: ...
    async def cancel(self, *a: Any) -> None: ...
    async def amend(self, *a: Any) -> None: ...
    async def fetch_order(self, *a: Any) -> Any: ...
    async def fetch_fills(self, *a: Any) -> Any: ...


INST = Instrument.of(
    "BTC/USD", "XYZ", "BTC", "USD", tick_size=1.0, lot_size=0.001, kind=InstrumentKind.SPOT
)


def test_listed_hooks_answer_the_identity_hooks() -> None:
    up = [True]
    hooks = Hooks(None, {INST.symbol: INST}, lambda: up[0])
    assert hooks.instrument("BTC/USD.XYZ") is INST and hooks.instrument("ETH/USD.XYZ") is None
    assert hooks.native_symbol("BTC/USD.XYZ") == "BTC/USD"
    assert hooks.native_symbol("ETH/USD.XYZ") == "ETH/USD"  # not listed: by the suffix
    assert hooks.symbol_id("ETH/USD") == "ETH/USD.XYZ"
    assert hooks.venue_client_id("abc1") == "abc1"
    hashed = hooks.venue_client_id("Not-Plain-And-Long")
    assert hashed.startswith("tl") and hashed == hooks.venue_client_id("Not-Plain-And-Long")
    assert hooks.streaming()
    up[0] = False
    assert not hooks.streaming()
    assert hooks.classify(VenueError("x", "gone")).kind is ErrorKind.NOT_FOUND
    assert hooks.classify(VenueError("x", "poor")).reason is RejectReason.INSUFFICIENT_FUNDS
    assert hooks.classify(RateLimited("slow", "429")).kind is ErrorKind.RATE_LIMITED
    hooks.order_ids.remember("9", "abc1")
    assert hooks.order_ids.get("9") == "abc1"


def test_spend_size_floors_to_the_lot_and_refuses_dust() -> None:
    assert spend_size(INST, 100.0, 30_000.0, "too small") == "0.003"
    with pytest.raises(VenueError) as err:
        spend_size(INST, 10.0, 30_000.0, "too small")
    assert err.value.code == "too small"
    with pytest.raises(VenueError):
        spend_size(INST, 100.0, 0.0, "too small")  # no ask to price it at
