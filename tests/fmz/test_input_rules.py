"""What the bridge refuses before anything reaches a venue (issue 8, findings 5 and 8).

* Numbers: only plain ASCII decimal notation. ``Decimal()`` also takes ``'1_000'``, ``' 0.5 '``
  and digits of any script: ``'١'`` (Arabic-Indic one) placed a real 1 BTC order.
* ``__api_`` passthrough: only the venue's API prefix. It could reach the emulator's
  ``/__admin/faults`` (an SSRF into the venue host: three 503 faults were armed that way).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp
import pytest

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.fmz.dispatch import check_api_path
from tradeloop.fmz.protocol import FmzError, Params
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.venue import VenueSpec

from .conftest import FakeVenue, call

Bridge = tuple[FmzBridge, FakeVenue]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Decimal(1)),
        ("0.5", Decimal("0.5")),
        ("-1", Decimal(-1)),
        ("+2", Decimal(2)),
        ("1e-05", Decimal("0.00001")),  # Go's and JS's spelling of small floats
        ("1E+21", Decimal("1E+21")),
        ("30000.04999999", Decimal("30000.04999999")),
        (0.1, Decimal("0.1")),  # JSON numbers: via repr, so 0.1 stays 0.1
        (25, Decimal(25)),
    ],
)
def test_plain_ascii_numbers_are_accepted(text: object, value: Decimal) -> None:
    assert Params({"x": text}).number("x") == value


@pytest.mark.parametrize(
    "text",
    [
        "1_000",  # Python literal underscores
        " 0.5 ",  # surrounding spaces
        "0.5\n",
        "\u0661",  # Arabic-Indic one
        "\u0660.\u0665",  # Arabic-Indic 0.5
        "\uff11",  # full-width one
        "\u09e7",  # Bengali one
        "１e3",
        "0x10",
        "NaN",
        "Infinity",
        "-inf",
        "1.",
        ".5",
        "1e",
        "--1",
        "1,5",
        "1e-999",
        "9" * 40,
        float("inf"),
    ],
)
def test_anything_else_is_refused_with_a_clear_error(text: object) -> None:
    with pytest.raises(FmzError, match=r"param 'x' (is not a number|is out of range)"):
        Params({"x": text}).number("x")


@pytest.mark.parametrize("amount", ["\u0661", "1_000", " 0.5 ", "\uff11"])
async def test_odd_numbers_never_reach_the_venue(
    fake_bridge: Bridge, http: aiohttp.ClientSession, amount: str
) -> None:
    bridge, venue = fake_bridge
    params = {"symbol": "BTC_USDT", "type": "buy", "price": "30000", "amount": amount}
    r = await call(http, bridge.url + "/FAKE", "trade", params)
    assert "param 'amount' is not a number" in r["error"] and "plain ASCII" in r["error"]
    assert venue.calls == []


@pytest.mark.parametrize(
    "path",
    [
        "/__admin/faults",  # the emulator's fault switches
        "/api/v5/../../__admin/faults",
        "/api/v5/%2e%2e/%2e%2e/__admin/faults",
        "/api/v5/%2E%2E%2F__admin",
        "/api/v5/..%2f__admin",
        "/api/v5/./trade/order",
        "/api/v5//trade/order",
        "/api/v5/trade/..",
        "/api/v5\\..\\__admin",
        "//evil.example/api/v5/",
        "http://127.0.0.1:8100/api/v5/account/balance",
        "/api/v5/account/balance?x=1",
        "/api/v5/account/balance#x",
        "/api/v5/account/\u0431alance",  # Cyrillic letter
        "/API/V5/account/balance",
        "/api/v50/x",
        "/api/v4/account/balance",
        "api/v5/account/balance",
        "/api/v5/" + "a" * 300,
    ],
)
async def test_api_passthrough_reaches_only_the_venue_api(
    fake_bridge: Bridge, http: aiohttp.ClientSession, path: str
) -> None:
    bridge, venue = fake_bridge
    r = await call(http, bridge.url + "/FAKE", "__api_" + path, {})
    assert "error" in r and "plain venue API path under /api/v5/" in r["error"], r
    assert venue.calls == []


def test_api_paths_that_are_fine() -> None:
    for path in ("/api/v5/trade/orders-pending", "/api/v5/account/balance", "/api/v5/a_b/c.d/"):
        assert check_api_path(path, ("/api/v5/",)) == path
    with pytest.raises(FmzError, match="no API passthrough"):
        check_api_path("/api/v5/x", ())


def _switches(emu: OkxEmulator) -> dict[str, object]:
    return {k: v for k, v in vars(emu.faults).items() if not k.startswith("_")}


async def test_api_passthrough_cannot_arm_emulator_faults() -> None:
    """End to end: bridge -> OKX connector -> emulator. The admin path is refused by the bridge
    and the emulator's fault switches stay off; a real API path still works."""
    key, secret, passphrase = "rules-key-0001", "rules-secret-0001", "rules-pass-0001"
    emu = OkxEmulator(
        EmulatorConfig(api_key=key, api_secret=secret, passphrase=passphrase,
                       balances={"USDT": 1000.0}, symbols=["BTC-USDT"], seed=1)
    )  # fmt: skip
    base = await emu.start("127.0.0.1", 0)
    spec = VenueSpec("OKX", base, options={"rate_limits": "off", "timeout": 2.0, "live": False})
    bridge = FmzBridge(BridgeConfig(venues={"OKX": spec}, request_timeout=3.0))
    url = await bridge.start("127.0.0.1", 0) + "/OKX"
    before = _switches(emu)
    try:
        async with aiohttp.ClientSession() as http:
            kw = {"access_key": key, "secret_key": f"{secret},{passphrase}"}
            for verb in ("POST", "GET"):
                r = await call(http, url, "__api_/__admin/faults", {"fail_next_5xx": 3},
                               headers={"Http-Method": verb}, **kw)  # fmt: skip
                assert "plain venue API path" in r["error"]
            r = await call(http, url, "__api_/api/v5/account/balance", {}, **kw)
            assert r["data"]["code"] == "0", r
            await asyncio.sleep(0)
    finally:
        await bridge.stop()
        await emu.stop()
    assert _switches(emu) == before
