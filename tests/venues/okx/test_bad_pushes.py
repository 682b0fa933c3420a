"""Malformed private pushes through the real stream parser into the gateway: each bad item is
one warning line (no traceback), and the good items of the same push are still applied.

No sockets: frames go to :meth:`OkxStream._on_text` as the socket reader would hand them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from tests.support.gateway_fixtures import Sink

from tradeloop.model import OrderStatus, Side
from tradeloop.venues.execution import OrderTrack
from tradeloop.venues.okx.algo import AlgoState
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.ws import OkxStream

SWAP = "BTC-USDT-SWAP.OKX"


@pytest.fixture
def wired() -> tuple[OkxStream, OkxGateway, Sink]:
    g = OkxGateway("http://127.0.0.1:9", "k", "s", "p")  # never started: nothing is sent
    sink = Sink()
    g.bind(sink)
    g.algo_book.add(AlgoState("stop1", "BTC-USDT-SWAP"))
    g.orders.tracker.add(OrderTrack("stop1", "stop1", SWAP, Side.SELL, status=OrderStatus.ACCEPTED))
    g.orders.tracker.add(OrderTrack("lim1", "lim1", SWAP, Side.BUY, status=OrderStatus.ACCEPTED))
    return OkxStream("ws://127.0.0.1:1/ws/v5/private", g), g, sink


def frame(channel: str, data: Any) -> str:
    return json.dumps({"arg": {"channel": channel, "instType": "ANY"}, "data": data})


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_non_object_item_is_one_line_and_the_rest_of_the_push_applies(
    wired: tuple[OkxStream, OkxGateway, Sink], caplog: pytest.LogCaptureFixture
) -> None:
    stream, _, sink = wired
    canceled = {"instId": "BTC-USDT-SWAP", "algoId": "A1", "algoClOrdId": "stop1",
                "side": "sell", "state": "canceled"}  # fmt: skip
    filled = {"instId": "BTC-USDT-SWAP", "ordId": "O1", "clOrdId": "lim1", "side": "buy",
              "state": "filled", "sz": "1", "accFillSz": "1", "avgPx": "100", "fillSz": "1",
              "fillPx": "100", "tradeId": "T1", "fillFee": "-0.05", "fee": "-0.05",
              "fillFeeCcy": "USDT", "ordType": "limit"}  # fmt: skip
    stream._on_text(frame("orders-algo", ["junk", 7, None, canceled]))
    stream._on_text(frame("orders", [["x"], "junk", filled]))
    got = [(type(e).__name__, e.client_order_id, getattr(e, "status", None)) for e in sink.log]
    assert got == [
        ("OrderReport", "stop1", OrderStatus.CANCELED),
        ("Fill", "lim1", None),
        ("OrderReport", "lim1", OrderStatus.FILLED),
    ]
    bad = warnings(caplog)
    assert len(bad) == 5 and all("bad orders" in m and "\n" not in m for m in bad)
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("channel", ["orders", "orders-algo", "books"])
def test_a_push_whose_data_is_not_a_list_is_one_line(
    wired: tuple[OkxStream, OkxGateway, Sink], caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    stream, _, sink = wired
    stream._on_text(frame(channel, {"state": "filled"}))  # raised out of the reader before
    assert sink.log == []
    bad = warnings(caplog)
    assert len(bad) == 1 and f"bad {channel} push" in bad[0] and "\n" not in bad[0]
