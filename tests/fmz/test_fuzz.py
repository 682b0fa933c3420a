"""Hypothesis throws malformed bodies at the running bridge (in front of the OKX emulator): it
must never crash and must always answer HTTP 200 with a JSON object holding ``error`` or
``data``. Sizes are bounded so the whole module stays within a few seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.fmz.dispatch import ALIASES, HANDLERS

from .bridge_thread import API_KEY, PASSPHRASE, SECRET, BridgeThread

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
methods = st.sampled_from(
    [*HANDLERS, *ALIASES, "__api_/api/v5/account/balance", "__api_", "__api_//x", ""]
) | st.text(max_size=20)
param_names = st.sampled_from(
    ["symbol", "period", "limit", "type", "price", "amount", "id", "since", "marginLevel",
     "code", "args", "contract_type"]
) | st.text(max_size=10)  # fmt: skip
symbols = st.sampled_from(
    ["BTC_USDT", "btc_usdt", "BTC_USDT.swap", "USDT", "ETH_USDT", "XXX_YYY", "BTC_USDT.quarter",
     "USDT.swap", "_", ".", "BTC-USDT,1", "BTC_USDT.250328"]
)  # fmt: skip
param_values = symbols | json_values | st.sampled_from(["-1", "0", "1e400", "NaN", "60", "0.1"])


@pytest.fixture(scope="module")
def live() -> Iterator[BridgeThread]:
    bt = BridgeThread().start()
    try:
        yield bt
    finally:
        bt.stop()


def check(bt: BridgeThread, body: bytes, path: str = "/OKX", headers: Any = None) -> Any:
    status, ctype, raw = bt.post(path, body, headers)
    assert status == 200
    assert ctype.startswith("application/json")
    reply = json.loads(raw)
    assert isinstance(reply, dict)
    if "error" in reply:
        assert set(reply) == {"error"} and isinstance(reply["error"], str) and reply["error"]
        assert not reply["error"].startswith("internal error"), reply  # a bug, not bad input
    else:
        assert "data" in reply and set(reply) <= {"data", "raw"}
    return reply


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes(live: BridgeThread, body: bytes) -> None:
    check(live, body)


@FUZZ
@given(value=json_values)
def test_wrong_json_types(live: BridgeThread, value: Any) -> None:
    check(live, json.dumps(value).encode())


@FUZZ
@given(
    method=methods,
    params=st.dictionaries(param_names, param_values, max_size=6) | json_values,
    access_key=st.sampled_from([API_KEY, "", None, 5, "x" * 70]),
    secret_key=st.sampled_from([f"{SECRET},{PASSPHRASE}", SECRET, "", None, [1], "a,b,c,d"]),
    http_method=st.sampled_from(["GET", "POST", "DELETE", "", "BREW"]),
    label=st.sampled_from(["/OKX", "/okx", "/", "/NOPE", "/OKX/extra"]),
)
def test_structured_garbage(
    live: BridgeThread, method: Any, params: Any, access_key: Any, secret_key: Any,
    http_method: str, label: str,
) -> None:  # fmt: skip
    body = {"access_key": access_key, "secret_key": secret_key, "nonce": 1, "method": method,
            "params": params}  # fmt: skip
    check(live, json.dumps(body).encode(), label, {"Http-Method": http_method})


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # over the size limit
        b"[" * 5_000 + b"]" * 5_000,  # deep but within the limit
        b'{"method":"ticker","params":' * 2000 + b"{}" + b"}" * 2000,
        json.dumps({"method": "ticker", "params": {"symbol": "B" * 60_000}}).encode(),
        json.dumps({"method": "depth", "params": {"symbol": "BTC_USDT", "limit": 10**99}}).encode(),
        b'{"method":"ticker","params":{"symbol":"BTC_USDT"}}\x00garbage',
        '{"method":"ticker","params":{"symbol":"\u00e9\u4e2d_\U0001f600"}}'.encode(),
    ],
)
def test_huge_and_nested(live: BridgeThread, body: bytes) -> None:
    check(live, body)


def test_still_serving_after_fuzz(live: BridgeThread) -> None:
    reply = live.call("ticker", {"symbol": "BTC_USDT"})
    assert reply["data"]["symbol"] == "BTC_USDT"
