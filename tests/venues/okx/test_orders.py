"""OKX's hooks for the order lifecycle: what each OKX answer means (``classify``), and the
hook set is complete (the lifecycle's ABC would refuse to build it otherwise)."""

from __future__ import annotations

import pytest

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.model import RejectReason
from tradeloop.venues.execution import ErrorKind, VenueHooks
from tradeloop.venues.http import NetworkError, RequestTimeout, UnknownOutcome
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.orders import classify

K = ErrorKind


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (RateLimited("429", "50011", retry_after=1.5), K.RATE_LIMITED, RejectReason.RATE_LIMITED),
        (VenueError("dup", "51016"), K.DUPLICATE_ID, RejectReason.DUPLICATE_ID),
        (UnknownOutcome("dup, unseen", "51016"), K.DUPLICATE_ID, RejectReason.DUPLICATE_ID),
        (VenueError("no such order", "51603"), K.NOT_FOUND, RejectReason.ORDER_NOT_FOUND),
        (VenueError("cancel failed", "51400"), K.FINISHED, RejectReason.ORDER_CLOSED),
        (VenueError("already canceled", "51401"), K.FINISHED, RejectReason.ORDER_CLOSED),
        (VenueError("amend failed", "51503"), K.FINISHED, RejectReason.ORDER_CLOSED),
        (RequestTimeout("no answer"), K.UNKNOWN_OUTCOME, RejectReason.TIMEOUT),
        (NetworkError("dropped"), K.UNKNOWN_OUTCOME, RejectReason.TIMEOUT),
        (VenueError("busy", "50001", retryable=True), K.UNKNOWN_OUTCOME, RejectReason.TIMEOUT),
        (VenueError("funds", "51008"), K.PERMANENT, RejectReason.INSUFFICIENT_FUNDS),
        (VenueError("no inst", "51001"), K.PERMANENT, RejectReason.INVALID_INSTRUMENT),
        (VenueError("post only", "51124"), K.PERMANENT, RejectReason.POST_ONLY_WOULD_TAKE),
        (AuthError("bad key", "50111"), K.PERMANENT, RejectReason.OTHER),
    ],
)
def test_okx_errors_are_classified(exc: VenueError, kind: ErrorKind, reason: RejectReason) -> None:
    verdict = classify(exc)
    assert (verdict.kind, verdict.reason) == (kind, reason)
    if kind is K.RATE_LIMITED:
        assert verdict.retry_after == 1.5


def test_the_gateway_supplies_every_hook() -> None:
    gw = OkxGateway("http://127.0.0.1:1")
    assert isinstance(gw.hooks, VenueHooks) and gw.hooks.venue == "OKX"
    assert gw.hooks.symbol_id("BTC-USDT") == "BTC-USDT.OKX"
    assert gw.hooks.native_symbol("BTC-USDT.OKX") == "BTC-USDT"
    assert gw.hooks.venue_client_id("abc") == "abc" and not gw.hooks.streaming()
