"""The emulator's lost-reply fault (the request runs, its answer is lost) and the OKX rule it
exists to exercise: a second order with a clOrdId the venue already holds is refused with
51016. Checked in process, over ``/__admin/faults``, from the CLI flags, and on the wire with
the real REST client."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tradeloop.core.errors import VenueError
from tradeloop.emulator.cli import add_arguments, apply_fault_flags
from tradeloop.emulator.faults import Faults, request_matches
from tradeloop.venues.http import NetworkError
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.retry import RetryConfig

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "lr-key-1", "lr-secret-2", "lr-pass-3"
ONCE = RetryConfig(max_attempts=1)  # see every answer; no transport retries
PLACE = "POST /api/v5/trade/order"


def test_request_matching() -> None:
    assert request_matches("", "GET", "/api/v5/trade/order")
    assert request_matches("/api/v5/trade/order", "GET", "/api/v5/trade/order")
    assert request_matches(PLACE, "POST", "/api/v5/trade/order")
    assert request_matches("post /api/v5/trade/order", "POST", "/api/v5/trade/order")
    assert not request_matches(PLACE, "GET", "/api/v5/trade/order")
    assert not request_matches(PLACE, "POST", "/api/v5/trade/cancel-order")


def test_lost_replies_count_down_only_on_matching_requests() -> None:
    f = Faults()
    f.lose_replies(2, "drop", PLACE)
    assert f.take_lost_reply("GET", "/api/v5/trade/order") is None
    assert f.take_lost_reply("POST", "/api/v5/trade/order") == "drop"
    assert f.take_lost_reply("POST", "/api/v5/trade/order") == "drop"
    assert f.take_lost_reply("POST", "/api/v5/trade/order") is None
    with pytest.raises(ValueError):
        f.lose_replies(1, "timeout")  # type: ignore[arg-type]


def test_admin_spec_and_reset() -> None:
    f = Faults()
    state = f.apply({"lose_reply": {"count": 3, "kind": "drop", "target": PLACE}})
    assert state["lose_reply_remaining"] == 3 and state["lose_reply_kind"] == "drop"
    assert state["lose_reply_target"] == PLACE
    assert f.apply({"lose_reply": 1})["lose_reply_target"] == ""  # plain count: any request
    with pytest.raises(ValueError):
        f.apply({"lose_reply": {"count": 1, "path": PLACE}})  # typo'd field
    f.apply({"reset": True})
    assert f.lose_remaining == 0 and f.lose_target == ""


def test_cli_flags_arm_the_fault() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["okx", "--lose-reply", "2", "--lose-reply-kind", "drop", "--lose-reply-target", PLACE]
    )
    f = Faults()
    apply_fault_flags(f, args)
    assert (f.lose_remaining, f.lose_kind, f.lose_target) == (2, "drop", PLACE)
    quiet = Faults()
    apply_fault_flags(quiet, parser.parse_args(["okx"]))
    assert quiet.lose_remaining == 0 and quiet.fail_remaining == 0


@pytest.fixture
async def emu() -> AsyncIterator[tuple[Any, OkxRestClient]]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 100_000.0},
            symbols=["BTC-USDT"],
            seed=3,
            tick_interval_ms=0,
        )
    )
    url = await e.start("127.0.0.1", 0)
    rest = OkxRestClient(url, KEY, SECRET, PASS, retry=ONCE)
    try:
        yield e, rest
    finally:
        await rest.close()
        await e.stop()


def limit_buy(cid: str) -> dict[str, Any]:
    return {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "sz": "0.01",
        "px": "1000",
        "clOrdId": cid,
    }


async def test_duplicate_clordid_is_refused_with_51016(emu: tuple[Any, OkxRestClient]) -> None:
    _, rest = emu
    (first,) = await rest.request("POST", C.ORDER, limit_buy("dup1"), signed=True)
    assert first["sCode"] == "0" and first["ordId"]
    with pytest.raises(VenueError) as ei:
        await rest.request("POST", C.ORDER, limit_buy("dup1"), signed=True)
    assert ei.value.code == C.DUPLICATE_CLORDID
    assert len(await rest.orders_pending(inst_id="BTC-USDT")) == 1


@pytest.mark.parametrize("kind", ["5xx", "drop"])
async def test_lost_reply_runs_the_request_and_hides_the_answer(
    emu: tuple[Any, OkxRestClient], kind: str
) -> None:
    e, rest = emu
    e.faults.lose_replies(1, kind, PLACE)
    with pytest.raises(VenueError) as ei:
        await rest.request("POST", C.ORDER, limit_buy("lost1"), signed=True, retry_safe=True)
    if kind == "drop":
        assert isinstance(ei.value, NetworkError)
    else:
        assert "HTTP 504" in str(ei.value) and ei.value.retryable
    assert e.faults.lose_remaining == 0
    # the order was placed all the same
    row = await rest.get_order("BTC-USDT", cl_ord_id="lost1")
    assert row["state"] == "live"


async def test_admin_endpoint_arms_the_fault(emu: tuple[Any, OkxRestClient]) -> None:
    e, rest = emu
    spec = {"lose_reply": {"count": 1, "kind": "5xx", "target": PLACE}}
    async with aiohttp.ClientSession() as s:
        async with s.post(rest.base_url + "/__admin/faults", json=spec) as refused:
            assert refused.status == 401  # the admin endpoint needs the emulator's token
        assert e.faults.lose_remaining == 0
    async with aiohttp.ClientSession(headers=e.admin_headers()) as s:
        async with s.post(rest.base_url + "/__admin/faults", json=spec) as resp:
            state = await resp.json()
        assert state["lose_reply_remaining"] == 1
        async with s.post(rest.base_url + "/__admin/faults", json={"lose_reply": "x"}) as bad:
            assert bad.status == 400
    # a GET of the same path is not the target and goes through
    with pytest.raises(VenueError) as nf:
        await rest.get_order("BTC-USDT", cl_ord_id="nothere")
    assert nf.value.code == C.ORDER_NOT_FOUND
    assert e.faults.lose_remaining == 1
