"""Every book test runs on both side implementations: the pure-Python reference and the C
extension. The C one skips when it was not built (no compiler at install time), except where
``TRADELOOP_REQUIRE_CEXT=1`` (CI) makes a missing build a failure."""

from __future__ import annotations

import os

import pytest

from tradeloop.book import orderbook


def require_compiled() -> None:
    if orderbook.CSide is None:
        if os.environ.get("TRADELOOP_REQUIRE_CEXT"):
            pytest.fail("tradeloop.book._cbook is not built but TRADELOOP_REQUIRE_CEXT is set")
        pytest.skip("tradeloop.book._cbook not built (no C compiler at install time)")


@pytest.fixture(params=[False, True], ids=["python", "c"])
def compiled(request: pytest.FixtureRequest) -> bool:
    if request.param:
        require_compiled()
    return bool(request.param)
