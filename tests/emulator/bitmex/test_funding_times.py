"""Funding times as BitMEX has them: every 8 h at 04:00, 12:00 and 20:00 UTC (BitMEX's
perpetual contracts guide: "Funding Timestamp = 04:00 UTC, 12:00 UTC, and 20:00 UTC"; the
recorded ``instrument/active`` answer of 2021-07-22 22:36 UTC announces 2021-07-23T04:00),
announced by the instrument rows over a real socket and used by the settlement timer."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.emulator.funding_clock import next_funding_ms

from .conftest import Client, config

CAPTURE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "captures" / "BITMEX.0"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("2021-07-22T22:36:07.384Z", "2021-07-23T04:00:00.000Z"),  # the capture's moment
        ("2024-03-01T00:00:00.000Z", "2024-03-01T04:00:00.000Z"),  # midnight is not one
        ("2024-03-01T03:59:59.999Z", "2024-03-01T04:00:00.000Z"),
        ("2024-03-01T04:00:00.000Z", "2024-03-01T12:00:00.000Z"),  # on one: the next
        ("2024-03-01T08:00:00.000Z", "2024-03-01T12:00:00.000Z"),
        ("2024-03-01T16:30:00.000Z", "2024-03-01T20:00:00.000Z"),
        ("2024-03-01T20:00:00.001Z", "2024-03-02T04:00:00.000Z"),  # over midnight
        ("2024-12-31T23:59:59.000Z", "2025-01-01T04:00:00.000Z"),
    ],
)
def test_next_funding_time(emu: BitmexEmulator, now: str, due: str) -> None:
    assert ct.iso(emu.next_funding_ms(ms(now))) == due


def test_grid_and_interval_spelling() -> None:
    hour = 3_600_000
    assert ct.funding_interval(8 * hour) == "2000-01-01T08:00:00.000Z"
    assert ct.funding_interval(hour) == "2000-01-01T01:00:00.000Z"
    # a short test interval keeps the epoch-aligned grid (4 h is a whole number of seconds)
    assert next_funding_ms(10_500, 1000, 4 * hour) == 11_000
    assert next_funding_ms(10_000, 1000, 4 * hour) == 11_000
    assert next_funding_ms(0, 8 * hour, 4 * hour) == 4 * hour


def test_capture_agrees() -> None:
    if not CAPTURE.exists():
        pytest.skip(f"{CAPTURE} absent (shared data not mounted)")
    line = next(x for x in CAPTURE.open(encoding="utf-8") if "instrument/active" in x)
    head, _, body = line.partition(": ")
    at_ms = int(float(head.rsplit("-> ", 1)[1]) * 1000)
    rows = [r for r in json.loads(body) if r.get("symbol") == "XBTUSD"]
    assert rows, "XBTUSD in the captured instrument list"
    want = next_funding_ms(at_ms, 8 * 3_600_000, 4 * 3_600_000)
    assert rows[0]["fundingTimestamp"] == ct.iso(want)
    assert rows[0]["fundingInterval"] == ct.funding_interval(8 * 3_600_000)


async def test_instrument_rows_announce_it(client: Client, emu: BitmexEmulator) -> None:
    status, rows, _ = await client.call("GET", "/api/v1/instrument/active", signed=False)
    assert status == 200
    now = time.time() * 1000
    for row in rows:
        due = ms(row["fundingTimestamp"])
        at = datetime.fromtimestamp(due / 1000, tz=UTC)
        assert (at.hour, at.minute, at.second) in {(4, 0, 0), (12, 0, 0), (20, 0, 0)}, row
        assert now < due <= now + 8 * 3_600_000
        assert row["fundingInterval"] == "2000-01-01T08:00:00.000Z"


async def test_short_interval_is_announced_as_configured() -> None:
    emu = BitmexEmulator(config(funding_interval_s=3600.0))
    await emu.start("127.0.0.1", 0)
    try:
        m = emu.driver.markets["XBTUSD"]
        row = emu.instrument_row(m, int(time.time() * 1000))
        assert row["fundingInterval"] == "2000-01-01T01:00:00.000Z"
        assert ms(row["fundingTimestamp"]) % 3_600_000 == 0
    finally:
        await emu.stop()
