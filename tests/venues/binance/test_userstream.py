"""The USD-M listenKey stream against the emulator over real sockets: the listenKey (a bearer
credential for the account's user data) never reaches a status event or a log line, across
a connect, a drop-and-reconnect on a fresh key, and a refused key; a frame that is not JSON
is one warning line and the stream keeps delivering."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.support.gateway_fixtures import Sink, bound, serving, until

from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.model import PositionUpdate, VenueStatus
from tradeloop.venues import registry
from tradeloop.venues.binance.gateway import BinanceGateway

KEY, SECRET = "us-key", "us-secret"


def _config() -> BinanceConfig:
    return BinanceConfig(api_key=KEY, api_secret=SECRET, symbols=["BTCUSDT"],
                         tick_interval_ms=0, seed=5)  # fmt: skip


@pytest.fixture
async def gw() -> AsyncIterator[tuple[BinanceGateway, Sink]]:
    async with serving(BinanceEmulator(_config())) as emu:
        creds = {"api_key": KEY, "secret": SECRET}
        g = registry.get("binance").build(url=emu.base_url, credentials=creds)
        assert isinstance(g, BinanceGateway)
        async with bound(g, Sink()) as pair:
            yield pair


def _leaks(key: str, sink: Sink, caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [s.detail for s in sink.of(VenueStatus)] + [r.getMessage() for r in caplog.records]
    return [t for t in texts if key in t]


def _key(url: str) -> str:
    """The listenKey of a routed private-socket URL (``/private/ws?listenKey=K&events=...``)."""
    return parse_qs(urlsplit(url).query)["listenKey"][0]


async def test_the_listen_key_is_never_in_a_status_or_a_log_line(
    gw: tuple[BinanceGateway, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    g, sink = gw
    caplog.set_level(logging.DEBUG)
    assert g.user is not None and g.user.connected
    first = _key(g.user.client.url)
    assert len(first) > 8
    connected = [s for s in sink.of(VenueStatus) if s.status == "connected"]
    assert any("<listenKey>" in s.detail for s in connected)  # the user stream's own
    await g.user.client.drop()  # a drop: a fresh key is asked for, then a reconnect
    await until(lambda: any(s.status == "reconnected" and "<listenKey>" in s.detail
                            for s in sink.of(VenueStatus)), "the user stream back")  # fmt: skip
    keys = {first, _key(g.user.client.url)}
    assert all(not _leaks(k, sink, caplog) for k in keys)


async def test_a_refused_listen_key_is_not_quoted_in_the_status(
    gw: tuple[BinanceGateway, Sink],
) -> None:
    g, sink = gw
    assert g.user is not None
    ws_base = g.user.ws_base
    err = f"400, message='Invalid response status', url='{ws_base}/deadbeefKEY1234'"
    g.user._keys.append("deadbeefKEY1234")
    g.user._state("disconnected", err)  # what aiohttp says when the server refuses the key
    last = sink.of(VenueStatus)[-1]
    assert last.status == "disconnected" and "deadbeefKEY1234" not in last.detail
    assert last.detail.endswith("/<listenKey>'")


async def test_a_frame_that_is_not_json_is_one_line_and_the_stream_goes_on(
    gw: tuple[BinanceGateway, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    g, _ = gw
    assert g.user is not None
    got: list[dict[str, Any]] = []
    g.user.on_event = got.append
    g.user._on_message('{"e": "ORDER_TRADE_UPDATE", ')  # cut short
    g.user._on_message("[1, 2]")
    g.user._on_message('{"e": "ACCOUNT_UPDATE", "a": {"P": []}}')
    assert [m["e"] for m in got] == ["ACCOUNT_UPDATE"]
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(bad) == 2 and not any(r.exc_info for r in bad)
    assert all("\n" not in r.getMessage() for r in bad)


@pytest.mark.parametrize(
    "event",
    [
        {"e": "ORDER_TRADE_UPDATE", "o": "junk"},
        {"e": "ACCOUNT_UPDATE", "a": [1]},
        {"e": "ACCOUNT_UPDATE", "a": {"P": ["x"]}},
    ],
)
async def test_a_futures_event_of_the_wrong_shape_is_one_line(
    gw: tuple[BinanceGateway, Sink], caplog: pytest.LogCaptureFixture, event: dict[str, Any]
) -> None:
    """Through the user stream's own reader: one warning, and the next event still lands."""
    g, sink = gw
    assert g.user is not None
    g.user._on_message(json.dumps(event))
    good = {"e": "ACCOUNT_UPDATE", "a": {"P": [{"s": "BTCUSDT", "pa": "0.5", "ep": "100",
                                                "up": "0", "ps": "BOTH"}]}}  # fmt: skip
    g.user._on_message(json.dumps(good))
    pos = sink.of(PositionUpdate)
    assert [(p.symbol, p.qty) for p in pos] == [("BTCUSDT-PERP.BINANCE", 0.5)]
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(bad) == 1 and "bad futures" in bad[0].getMessage() and not bad[0].exc_info


async def test_a_spot_event_of_the_wrong_shape_is_one_line(
    gw: tuple[BinanceGateway, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    g, _ = gw
    g._on_user({"e": "outboundAccountPosition", "B": "zz"})
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(bad) == 1 and "bad outboundAccountPosition" in bad[0].getMessage()


async def test_a_listen_key_is_masked_in_any_log_line_that_quotes_the_url(
    gw: tuple[BinanceGateway, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    """The kit's socket warnings quote aiohttp's errors, which quote the URL: the key is
    registered as a secret when it is issued, so no logger can print it."""
    g, _ = gw
    assert g.user is not None
    key = _key(g.user.client.url)
    caplog.set_level(logging.WARNING)
    logging.getLogger("tradeloop.venues.wsclient").warning(
        "binance-futures-user: connect failed (400, url=%r)", g.user.client.url
    )
    (rec,) = [r for r in caplog.records if "connect failed" in r.getMessage()]
    assert key not in rec.getMessage() and g.user.ws_base in rec.getMessage()
