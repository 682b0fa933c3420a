"""FTX connector pieces without a venue: signing (§0.1 vector, REST written out with hmac),
error texts -> typed errors -> lifecycle verdicts, order states, the orderbook checksum against
the emulator's own, routing of early fills, client ids, and the registry entry."""

from __future__ import annotations

import hashlib
import hmac
import random
from typing import Any

import pytest

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.model import Fill, OrderReport, OrderStatus, RejectReason
from tradeloop.venues import registry
from tradeloop.venues.execution import ErrorKind
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.auth import FtxCredentials, ws_login_signature
from tradeloop.venues.ftx.gateway import FtxGateway, default_ws_url
from tradeloop.venues.ftx.orders import classify, ftx_client_id
from tradeloop.venues.ftx.rest import ftx_error
from tradeloop.venues.ftx.ws import _BookData, ftx_book
from tradeloop.venues.http import NetworkError, RequestTimeout, UnknownOutcome

from .conftest import PERP, Sink


def test_ws_login_vector_from_ftx_docs() -> None:
    secret = "Y2QTHI23f23f23jfjas23f23To0RfUwX3H42fvN-"
    expected = "d10b5a67a1a941ae9463a60b285ae845cdeac1b11edc7da9977bef0228b96de9"
    assert ws_login_signature(secret, 1557246346499) == expected
    creds = FtxCredentials("k", secret, subaccount="my sub")
    args = creds.ws_login(now=1557246346.499)
    assert args == {"key": "k", "sign": expected, "time": 1557246346499, "subaccount": "my sub"}


def test_rest_headers_sign_ts_method_path_and_body() -> None:
    creds = FtxCredentials("key1", "secret1", subaccount="sub/1 x")
    body = '{"market":"BTC-PERP","price":null}'
    h = creds.rest_headers("post", "/api/orders?x=1", body, now=1700000000.123)
    want = hmac.new(b"secret1", b"1700000000123POST/api/orders?x=1" + body.encode(),
                    hashlib.sha256).hexdigest()  # fmt: skip
    assert h == {"FTX-KEY": "key1", "FTX-TS": "1700000000123", "FTX-SIGN": want,
                 "FTX-SUBACCOUNT": "sub%2F1%20x"}  # fmt: skip
    assert "FTX-SUBACCOUNT" not in FtxCredentials("k", "s").rest_headers("GET", "/api/x")
    assert "secret1" not in repr(creds)


def test_error_texts_become_typed_errors() -> None:
    assert isinstance(ftx_error("Too many requests", 429), RateLimited)
    assert isinstance(ftx_error("Not logged in: Invalid signature", 401), AuthError)
    busy = ftx_error("Please retry request", 503)
    assert busy.retryable and busy.code == "Please retry request"
    refused = ftx_error("Not enough balances", 400)
    assert not refused.retryable and refused.code == "Not enough balances"


K, R = ErrorKind, RejectReason


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (VenueError("x", "Not enough balances"), K.PERMANENT, R.INSUFFICIENT_FUNDS),
        (VenueError("x", "Size too small"), K.PERMANENT, R.INVALID_SIZE),
        (VenueError("x", "Invalid price"), K.PERMANENT, R.INVALID_PRICE),
        (VenueError("x", "No such market: X"), K.PERMANENT, R.INVALID_INSTRUMENT),
        (VenueError("x", "Invalid reduce-only order"), K.PERMANENT, R.REDUCE_ONLY),
        (VenueError("x", "Something new"), K.PERMANENT, R.OTHER),
        (VenueError("x", C.AMEND_UNSUPPORTED), K.PERMANENT, R.OTHER),
        (VenueError("x", "Order not found"), K.NOT_FOUND, R.ORDER_NOT_FOUND),
        (VenueError("x", "Order already closed"), K.FINISHED, R.ORDER_CLOSED),
        (VenueError("x", "Duplicate client order ID"), K.DUPLICATE_ID, R.DUPLICATE_ID),
        (RateLimited("x", "", 1.5), K.RATE_LIMITED, R.RATE_LIMITED),
        (ftx_error("Please retry request", 503), K.UNKNOWN_OUTCOME, R.TIMEOUT),
        (VenueError("x", "", retryable=True), K.UNKNOWN_OUTCOME, R.TIMEOUT),
        (RequestTimeout("x"), K.UNKNOWN_OUTCOME, R.TIMEOUT),
        (NetworkError("x"), K.UNKNOWN_OUTCOME, R.TIMEOUT),
        (UnknownOutcome("x"), K.UNKNOWN_OUTCOME, R.TIMEOUT),
        (AuthError("x", "Not logged in"), K.PERMANENT, R.OTHER),
    ],
)  # fmt: skip
def test_classify(exc: VenueError, kind: ErrorKind, reason: RejectReason) -> None:
    verdict = classify(exc)
    assert (verdict.kind, verdict.reason) == (kind, reason)
    if isinstance(exc, RateLimited):
        assert verdict.retry_after == 1.5


@pytest.mark.parametrize(
    ("status", "filled", "want"),
    [
        ("new", 0.0, OrderStatus.ACCEPTED),
        ("open", 0.0, OrderStatus.ACCEPTED),
        ("open", 0.4, OrderStatus.PARTIALLY_FILLED),
        ("closed", 1.0, OrderStatus.FILLED),
        ("closed", 0.4, OrderStatus.CANCELED),
        ("closed", 0.0, OrderStatus.CANCELED),
    ],
)
def test_order_states(status: str, filled: float, want: OrderStatus) -> None:
    row = {"id": 7, "clientId": "c1", "market": "BTC/USD", "status": status, "size": 1.0,
           "filledSize": filled, "avgFillPrice": 100.0 if filled else None}  # fmt: skip
    report = P.parse_order(row, 5)
    assert (report.status, report.client_order_id, report.venue_order_id) == (want, "c1", "7")
    assert report.symbol == "BTC/USD.FTX" and report.filled_qty == filled
    with pytest.raises(ValueError, match="unknown FTX order status"):
        P.parse_order({**row, "status": "weird"}, 5)


def test_markets_become_instruments_keyed_by_id() -> None:
    rows: list[dict[str, Any]] = [
        {"name": "BTC-PERP", "type": "future", "underlying": "BTC", "priceIncrement": 1.0,
         "sizeIncrement": 0.0001, "minProvideSize": 0.0001, "enabled": True},
        {"name": "BTC-0930", "type": "future", "underlying": "BTC", "priceIncrement": 1.0,
         "sizeIncrement": 0.0001},
        {"name": "BTC/USD", "type": "spot", "baseCurrency": "BTC", "quoteCurrency": "USD",
         "priceIncrement": 1.0, "sizeIncrement": 0.0001},
        {"name": "OFF/USD", "type": "spot", "baseCurrency": "OFF", "quoteCurrency": "USD",
         "priceIncrement": 1.0, "sizeIncrement": 1.0, "enabled": False},
        {"name": "BAD/USD", "type": "spot", "baseCurrency": "BAD", "quoteCurrency": "USD"},
    ]  # fmt: skip
    insts = P.parse_markets(rows)
    assert set(insts) == {"BTC-PERP.FTX", "BTC-0930.FTX", "BTC/USD.FTX"}
    perp = insts["BTC-PERP.FTX"]
    assert (perp.native, perp.kind.value, perp.settle) == ("BTC-PERP", "swap", "USD")
    assert not perp.inverse
    assert insts["BTC-0930.FTX"].kind.value == "future"
    assert insts["BTC/USD.FTX"].kind.value == "spot" and insts["BTC/USD.FTX"].quote == "USD"


def _levels(rng: random.Random, n: int, start: float, step: float) -> list[list[float]]:
    sizes = [1e-05, 0.1, 2.0, 0.0271, 123.456]
    return [[start + i * step, rng.choice(sizes)] for i in range(n)]


def test_book_checksum_matches_the_emulator_and_catches_a_change() -> None:
    ftx_ws = pytest.importorskip("tradeloop.emulator.ftx.ws")
    rng = random.Random(4)
    bids, asks = _levels(rng, 120, 60000.0, -0.5), _levels(rng, 80, 60000.5, 0.5)
    book = ftx_book("BTC-PERP")
    data = _BookData(bids=[tuple(x) for x in bids[:100]], asks=[tuple(x) for x in asks],  # type: ignore[misc]
                     action="partial", checksum=ftx_ws.checksum(bids, asks))  # fmt: skip
    assert book.apply(data).value == "applied" and book.checksums_ok == 1
    bids[0][1], asks = 5.5, asks[1:]  # a size change at the top, a level removed
    update = _BookData(bids=[(bids[0][0], 5.5)], asks=[(60000.5, 0.0)],
                       checksum=ftx_ws.checksum(bids, asks))  # fmt: skip
    assert book.apply(update).value == "applied" and book.checksums_ok == 2
    beyond = _BookData(bids=[(59000.0, 1.0)], asks=[], checksum=ftx_ws.checksum(bids, asks))
    assert book.apply(beyond).value == "applied"  # below the top 100: not in the checksum
    wrong = _BookData(bids=[(59999.75, 1.0)], asks=[], checksum=ftx_ws.checksum(bids, asks))
    assert book.apply(wrong).value == "resync" and "checksum mismatch" in book.last_error
    assert not book.synced and book.apply(update).value == "ignored"  # until a partial


def test_fills_wait_for_the_order_push_that_names_their_client_id() -> None:
    gw = FtxGateway("http://127.0.0.1:9")
    sink = Sink()
    gw.bind(sink)
    fill: dict[str, Any] = {"id": 11, "orderId": 77, "market": "BTC-PERP", "side": "buy",
                            "price": 100.0, "size": 0.5, "fee": 0.01, "feeCurrency": "USD",
                            "liquidity": "taker"}  # fmt: skip
    gw.on_private("fills", fill)
    assert sink.log == []  # order 77's clientId is not known yet
    order = {"id": 77, "clientId": "abc", "market": "BTC-PERP", "side": "buy", "status": "closed",
             "size": 0.5, "filledSize": 0.5, "avgFillPrice": 100.0}  # fmt: skip
    gw.on_private("orders", order)
    gw.on_private("fills", fill)  # replayed: delivered once
    f, r = sink.log
    assert isinstance(f, Fill) and isinstance(r, OrderReport)
    assert (f.client_order_id, f.venue_order_id, f.trade_id, f.symbol) == ("abc", "77", "11", PERP)
    assert (r.client_order_id, r.status, r.filled_qty) == ("abc", OrderStatus.FILLED, 0.5)


def test_client_ids_and_urls() -> None:
    assert ftx_client_id("tl123") == "tl123"
    odd = ftx_client_id("a b/ü" * 20)
    assert odd == ftx_client_id("a b/ü" * 20) and len(odd) == 32 and odd.isalnum()
    assert default_ws_url("https://ftx.com") == "wss://ftx.com/ws/"
    assert default_ws_url("http://127.0.0.1:8500/") == "ws://127.0.0.1:8500/ws/"


def test_registry_entry() -> None:
    spec = registry.get("ftx")
    assert spec.name == "FTX" and spec.fmz_label == "FTX" and registry.fmz_labels()["FTX"] is spec
    assert "ftx" in registry.cli_choices(emulated=True)
    assert spec.credentials == {
        "api_key": "TRADELOOP_FTX_API_KEY",
        "secret": "TRADELOOP_FTX_API_SECRET",
        "subaccount": "TRADELOOP_FTX_SUBACCOUNT",
    }
    gw = spec.build(url="http://127.0.0.1:9", credentials={"api_key": "k", "secret": "s"})
    assert isinstance(gw, FtxGateway) and gw.ws_url == "ws://127.0.0.1:9/ws/"
    assert spec.load_emulator().FtxEmulator is not None


@pytest.mark.parametrize(
    "data",
    [None, [], [1, 2], "x", 3.5, {}, {"id": 1}, {"orderId": None, "market": 5, "side": []},
     {"id": 9, "clientId": "c", "market": "BTC-PERP", "side": "buy", "status": "closed",
      "size": "NaN?", "filledSize": None, "avgFillPrice": "x"}],
)  # fmt: skip
def test_a_malformed_private_push_is_logged_and_dropped(data: Any, caplog: Any) -> None:
    """Whatever shape a private push has, the socket's reader never sees an exception and
    nothing reaches the engine; the push is named in one warning."""
    gw = FtxGateway("http://127.0.0.1:9")
    sink = Sink()
    gw.bind(sink)
    for channel in ("fills", "orders"):
        gw.on_private(channel, data)
    assert [e for e in sink.log if isinstance(e, (Fill, OrderReport))] == []
