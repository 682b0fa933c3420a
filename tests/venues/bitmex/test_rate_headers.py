"""The BitMEX client paces itself by BitMEX's answer headers, over a real socket: when the
venue says the key's budget is spent (``x-ratelimit-remaining: 0``) -- here because the
venue's budget (30/min) is below the client's own count (120/min), as when another program
shares the key -- the next request waits for a token instead of earning a 429."""

from __future__ import annotations

import logging
import time

import pytest
from tests.support.gateway_fixtures import serving

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator
from tradeloop.venues.bitmex.rest import BitmexRestClient


async def test_spent_budget_header_holds_the_next_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    cfg = BitmexConfig(api_key="K", api_secret="S", rate_limit=30, tick_interval_ms=1000)
    async with serving(BitmexEmulator(cfg)) as emu:
        rest = BitmexRestClient(emu.base_url, "K", "S")
        try:
            for _ in range(30):  # the venue's whole budget, well inside the client's
                await rest.request("GET", "/api/v1/position", None, None, True)
            assert rest.ratelimit["remaining"] == 0 and rest.ratelimit["limit"] == 30
            t0 = time.monotonic()
            await rest.request("GET", "/api/v1/position", None, None, True)
            waited = time.monotonic() - t0
        finally:
            await rest.close()
    refused = [r for r in caplog.records if "429" in r.getMessage()]
    assert not refused, refused[0].getMessage()
    assert any("budget spent" in r.getMessage() for r in caplog.records)
    assert waited > 0.5  # a token of 30/min is 2 s; the client did not fire at once
