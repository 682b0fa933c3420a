"""The emulator core's venue-neutral answers: typed refusals in a venue's words, lookups that
refuse in the venue's words (echo clipped), and the float-text CRC32 checksum (checked against
the one tests/emulator/ftx writes independently from FTX's description)."""

from __future__ import annotations

import pytest
from tests.emulator.ftx.helpers import checksum as ftx_checksum

from tradeloop.emulator.api import ApiError, Refusals, lookup
from tradeloop.emulator.bookview import float_text_crc
from tradeloop.model import RejectReason as R


def test_refusals_map_typed_reasons_to_the_venue_words() -> None:
    refusal = Refusals({R.INSUFFICIENT_FUNDS: (400, "Not enough")}, (418, "Other"))
    err = refusal(R.INSUFFICIENT_FUNDS)
    assert isinstance(err, ApiError) and (err.status, err.msg) == (400, "Not enough")
    assert (refusal(R.INVALID_PRICE).status, refusal(R.INVALID_PRICE).msg) == (418, "Other")


def test_lookup_refuses_unknown_and_non_string_names_with_a_short_echo() -> None:
    assert lookup({"A": 1}, "A", "No such market") == 1
    with pytest.raises(ApiError) as e:
        lookup({"A": 1}, "B" * 1000, "No such market")
    assert e.value.status == 404 and e.value.msg.startswith("No such market: BBB")
    assert len(e.value.msg) < 100
    with pytest.raises(ApiError):
        lookup({"A": 1}, ["A"], "No such market")


def test_float_text_crc_is_ftx_checksum() -> None:
    bids = [[60000.0 - i, 0.001 * (i + 1)] for i in range(120)]
    asks = [[60001.0 + i, 1e-05 * (i + 1)] for i in range(30)]
    crc = float_text_crc(100)
    assert crc(bids, asks) == ftx_checksum(bids, asks)
    assert crc(bids[:3], []) == ftx_checksum(bids[:3], [])
    assert crc(bids, asks) != crc(bids, asks[:-1])
