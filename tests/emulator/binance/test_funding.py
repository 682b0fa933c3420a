"""USD-M funding as Binance shows it, over real sockets: the ``/fapi/v1/income`` row (every
documented field, ``tranId`` a number past 2**53), the ``ACCOUNT_UPDATE`` with reason
``FUNDING_FEE`` (crossed: the balance only, its ``bc`` the payment; isolated: that position
too), the wallet moved by exactly the rows' amounts, the sign (a long receives a negative
rate), and the history's paging (``startTime`` + ``limit``, ``page``, the 7-day default)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance.futures_funding import DEFAULT_WINDOW_MS
from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.emulator.feed import now_ms

from .helpers import Rest, Ws, config

FIELDS = {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"}


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    server = BinanceEmulator(config(futures_symbols=["BTCUSDT", "ETHUSDT"]))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


async def _ok(rest: Rest, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
    status, body, _ = await rest.call(method, path, params, signed=True)
    assert status == 200, body
    return body


async def _buy(rest: Rest, symbol: str, qty: str) -> None:
    await _ok(rest, "POST", "/fapi/v1/order",
              {"symbol": symbol, "side": "BUY", "type": "MARKET", "quantity": qty})  # fmt: skip


async def _wallet(rest: Rest) -> Decimal:
    return Decimal((await _ok(rest, "GET", "/fapi/v2/balance"))[0]["balance"])


async def _user_ws(rest: Rest, connect: Callable[[str], Awaitable[Ws]]) -> Ws:
    lk = (await rest.call("POST", "/fapi/v1/listenKey", {}, key_only=True))[1]["listenKey"]
    return await connect("/fapi/private/ws?listenKey=" + lk)


def _is_funding(m: dict[str, Any]) -> bool:
    return m.get("e") == "ACCOUNT_UPDATE" and m["a"]["m"] == "FUNDING_FEE"


async def test_income_row_push_and_wallet_agree(
    emu: BinanceEmulator, rest: Rest, connect: Callable[[str], Awaitable[Ws]]
) -> None:
    side = emu.futures
    assert side is not None
    ws = await _user_ws(rest, connect)
    await _buy(rest, "BTCUSDT", "0.05")
    before = await _wallet(rest)
    (row,) = side.settle_funding()
    assert set(row) == FIELDS
    assert (row["incomeType"], row["info"], row["asset"], row["tradeId"]) == (
        "FUNDING_FEE", "FUNDING_FEE", "USDT", "")  # fmt: skip
    mark = Decimal(fm.mark_price(side.driver.markets["BTCUSDT"]))
    want = -(Decimal("0.05") * mark * Decimal("0.0001")).quantize(Decimal("1e-8"))
    assert Decimal(row["income"]) == want < 0  # a long pays a positive rate
    (got,) = await _ok(rest, "GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
    assert got == row and isinstance(got["tranId"], int) and got["tranId"] > 2**53
    after = await _wallet(rest)
    assert after - before == Decimal(row["income"])  # to the last decimal
    ev = await ws.until(_is_funding)
    assert ev["T"] == row["time"] and ev["a"]["P"] == []  # crossed: the balance only
    (bal,) = ev["a"]["B"]
    assert bal["a"] == "USDT" and Decimal(bal["wb"]) == after and bal["bc"] == row["income"]


async def test_isolated_position_rides_along_and_a_long_receives_a_negative_rate(
    emu: BinanceEmulator, rest: Rest, connect: Callable[[str], Awaitable[Ws]]
) -> None:
    side = emu.futures
    assert side is not None
    await _ok(rest, "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    ws = await _user_ws(rest, connect)
    await _buy(rest, "BTCUSDT", "0.02")
    emu.config.funding_rate = -0.0003
    (row,) = side.settle_funding()
    assert Decimal(row["income"]) > 0
    ev = await ws.until(_is_funding)
    (pos,) = ev["a"]["P"]
    assert pos["s"] == "BTCUSDT" and pos["mt"] == "isolated" and pos["pa"] == "0.02"
    pi = await _ok(rest, "GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"})
    assert pi["lastFundingRate"] == "-0.00030000"


async def test_history_pages_oldest_first(emu: BinanceEmulator, rest: Rest) -> None:
    side = emu.futures
    assert side is not None
    await _buy(rest, "BTCUSDT", "0.05")
    await _buy(rest, "ETHUSDT", "1")
    t0 = now_ms() - 3 * DEFAULT_WINDOW_MS - 1000  # history past the default window
    rows = [r for k in range(4) for r in side.settle_funding(t0 + k * DEFAULT_WINDOW_MS)]
    assert len(rows) == 8 and len({r["tranId"] for r in rows}) == 8
    assert {r["symbol"] for r in rows[:2]} == {"BTCUSDT", "ETHUSDT"}

    async def income(**p: Any) -> list[int]:
        got = await _ok(rest, "GET", "/fapi/v1/income", dict(p, incomeType="FUNDING_FEE"))
        return [r["tranId"] for r in got]

    ids = [r["tranId"] for r in rows]
    assert await income(startTime=t0, limit=3) == ids[:3]
    assert await income(startTime=t0, limit=3, page=2) == ids[3:6]
    assert await income(startTime=rows[2]["time"], endTime=rows[5]["time"]) == ids[2:6]
    assert await income() == ids[6:]  # neither time given: the last 7 days
    assert await income(symbol="ETHUSDT", startTime=t0) == ids[1::2]
    assert await _ok(rest, "GET", "/fapi/v1/income", {"incomeType": "COMMISSION"}) == []


async def test_income_is_signed_and_weighs_30(emu: BinanceEmulator) -> None:
    async with aiohttp.ClientSession() as s, s.get(emu.base_url + "/fapi/v1/income") as r:
        assert r.status in (400, 401)  # no key, no signature
    async with aiohttp.ClientSession() as s:
        rest = Rest(s, emu.base_url)
        status, _, headers = await rest.call("GET", "/fapi/v1/income", {}, signed=True)
        assert status == 200 and int(headers["X-MBX-USED-WEIGHT-1M"]) >= 30
