"""Protocol layer without sockets: body decoding, parameter coercion, symbols, envelopes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tradeloop.fmz.bars import aggregate, best_source
from tradeloop.fmz.dispatch import resolve, supported_methods
from tradeloop.fmz.protocol import FmzError, Params, decode_request, encode, err, ok
from tradeloop.fmz.symbols import parse_symbol

from .guide_examples import GUIDE_TICKER


def test_guide_ticker_request_decodes() -> None:
    req = decode_request(json.dumps(GUIDE_TICKER).encode())
    assert req.method == "ticker"
    assert req.params.text("symbol") == "LTC_USDT"
    assert req.creds.access_key == "xxx" and req.nonce == 1730275031047002000
    assert "xxx" not in repr(req.creds)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "malformed JSON"),
        (b"[1,2]", "JSON object"),
        (b'{"params":{}}', "method"),
        (b'{"method":5}', "method"),
        (b'{"method":"ticker","params":[1]}', "params"),
        (b'{"method":"ticker","access_key":1}', "access_key"),
        (b"\xff\xfe\x00", "malformed JSON"),
    ],
)
def test_bad_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(FmzError, match=fragment):
        decode_request(body)


def test_params_accept_strings_and_numbers() -> None:
    p = Params({"a": "60", "b": 60, "c": 0.1, "d": "1.50", "e": [1], "f": True, "g": "x"})
    assert p.integer("a") == 60 and p.integer("b") == 60
    assert p.number("c") == Decimal("0.1")  # repr(0.1), not 0.1000000000000000055...
    assert p.number("d") == Decimal("1.50")
    assert p.text("b") == "60"
    with pytest.raises(FmzError, match="'e' must be a string or number"):
        p.text("e")
    with pytest.raises(FmzError, match="bool"):
        p.number("f")
    with pytest.raises(FmzError, match="not a number"):
        p.number("g")
    with pytest.raises(FmzError, match="missing param 'zz'"):
        p.text("zz")
    with pytest.raises(FmzError, match="whole number"):
        Params({"x": "1.5"}).integer("x")
    with pytest.raises(FmzError, match="out of range"):
        Params({"x": "1e999999"}).integer("x")
    with pytest.raises(FmzError, match="not a number"):
        Params({"x": "NaN"}).number("x")
    assert p.integer("missing", 7) == 7


@pytest.mark.parametrize(
    ("text", "base", "quote", "contract"),
    [
        ("BTC_USDT", "BTC", "USDT", ""),
        ("btc_usdt", "BTC", "USDT", ""),
        ("Eth_Usdt", "ETH", "USDT", ""),
        ("BTC_USDT.swap", "BTC", "USDT", "swap"),
        ("btc_usdt.SWAP", "BTC", "USDT", "swap"),
        ("BTC_USD.250328", "BTC", "USD", "250328"),
    ],
)
def test_symbols(text: str, base: str, quote: str, contract: str) -> None:
    s = parse_symbol(text)
    assert (s.base, s.quote, s.contract) == (base, quote, contract)


@pytest.mark.parametrize("text", ["USDT", "", "BTC_", "_USDT", "BTC_USDT_X", "BTC-USDT", "B$_U"])
def test_bad_symbols(text: str) -> None:
    with pytest.raises(FmzError):
        parse_symbol(text)


def test_method_resolution_and_aliases() -> None:
    assert resolve("GetTicker")[0] == "ticker"
    assert resolve("getmarkets")[0] == "markets"
    assert resolve("position")[0] == "positions"
    assert resolve("SetMarginLevel")[0] == "setmarginlevel"
    assert resolve("__api_/api/v5/account/balance")[0] == "__api_"
    with pytest.raises(FmzError) as ei:
        resolve("frobnicate")
    msg = str(ei.value)
    assert msg.startswith("unsupported method: frobnicate")
    for m in supported_methods():
        assert m in msg


def test_envelopes() -> None:
    assert ok(1) == {"data": 1}
    assert ok([], {"x": 1}) == {"data": [], "raw": {"x": 1}}
    assert err("boom") == {"error": "boom"}
    assert json.loads(encode(ok(object())))["error"].startswith("internal error")


def test_aggregate_any_period() -> None:
    m = 60_000
    # seven 1-minute candles from 00:00; 3-minute buckets 00:00, 00:03, 00:06
    candles = [(i * m, 10.0 + i, 20.0 + i, 5.0 - i, 11.0 + i, 1.0) for i in range(7)]
    rows = aggregate(candles, 3)
    assert rows[0] == [0, 10.0, 22.0, 3.0, 13.0, 3.0]
    assert rows[1] == [180, 13.0, 25.0, 0.0, 16.0, 3.0]
    assert rows[2] == [360, 16.0, 26.0, -1.0, 17.0, 1.0]
    # window starting mid-bucket: the partial first bucket is dropped when asked
    assert aggregate(candles[1:], 3, complete_only=True)[0][0] == 180
    assert best_source(90, [1, 3, 5, 15, 30, 60]) == 30
    assert best_source(4320, [1, 60, 1440]) == 1440
    assert best_source(7, [1, 3, 5]) == 1


async def test_single_flight_shares_and_cancels() -> None:
    import asyncio

    from tradeloop.fmz.cache import SingleFlight

    calls = 0
    gate = asyncio.Event()

    async def upstream() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return calls

    sf = SingleFlight()
    a = asyncio.ensure_future(sf.do("k", upstream))
    b = asyncio.ensure_future(sf.do("k", upstream))
    await asyncio.sleep(0)
    a.cancel()  # one docker hangs up: the other still gets the shared answer
    gate.set()
    assert await b == 1 and calls == 1
    gate.clear()
    c = asyncio.ensure_future(sf.do("k", upstream))
    await asyncio.sleep(0)
    c.cancel()  # the last waiter leaves: the upstream call is cancelled, not inherited
    for _ in range(5):  # let the cancellations run their callbacks
        await asyncio.sleep(0)
    assert len(sf) == 0
    gate.set()
    assert await sf.do("k", upstream) == 3


async def test_optional_venue_methods_default_to_clear_errors() -> None:
    from tradeloop.fmz.protocol import Credentials
    from tradeloop.fmz.venue import FmzVenue, VenueSpec

    from .conftest import FakeVenue

    venue = FakeVenue("SPOT", VenueSpec("FAKE", "http://unused"))
    venue.label = "SPOT"
    creds = Credentials("a", "b")
    for call in (
        FmzVenue.positions(venue, creds, None),
        FmzVenue.set_margin_level(venue, creds, parse_symbol("BTC_USDT.swap"), 3),
        FmzVenue.fundings(venue, None),
        FmzVenue.markets(venue),
        FmzVenue.api(venue, creds, "GET", "/x", {}),
    ):
        with pytest.raises(FmzError, match=r"SPOT: .* is not supported"):
            await call
