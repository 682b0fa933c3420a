"""The venue-neutral emulator core on its own: signing helpers, input bounds, the top-N book
view, answer-before-push deferral, and typed refusals through ``SimAccount.place``."""

from __future__ import annotations

import random
from decimal import Decimal

import aiohttp
import pytest

from tradeloop.emulator.auth import parse_number, same, sign_b64, sign_hex, within
from tradeloop.emulator.bookview import BookViews
from tradeloop.emulator.faults import wrong_checksum
from tradeloop.emulator.hub import Hub
from tradeloop.emulator.limits import clip, positive_decimal
from tradeloop.emulator.market import MarketParams, SymbolMarket
from tradeloop.emulator.okx.server import OkxEmulator
from tradeloop.model import RejectReason, Side, TimeInForce
from tradeloop.model.instrument import Instrument

from .helpers import signed_headers


def test_signing_helpers() -> None:
    # FTX's published WS login vector (exchanges.md section 0.1)
    sig = sign_hex("Y2QTHI23f23f23jfjas23f23To0RfUwX3H42fvN-", "1557246346499websocket_login")
    assert sig == "d10b5a67a1a941ae9463a60b285ae845cdeac1b11edc7da9977bef0228b96de9"
    assert len(sign_b64("s", "m")) == 44
    assert same("abc", "abc") and not same("abc", "abd")
    assert not same("ключ", "key")  # non-ASCII text is unequal, not a TypeError
    assert within(100.0, 129.9) and not within(100.0, 130.1)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1557246346499", 1557246346499.0), (12, 12.0), ("1.5", 1.5), ("nan", None), ("1e999", None),
     (" 12", None), ("1_000", None), ("١٢", None), (True, None), (None, None), ("", None)],
)  # fmt: skip
def test_parse_number(raw: object, value: float | None) -> None:
    assert parse_number(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0.01", Decimal("0.01")), (2, Decimal(2)), (0.5, Decimal("0.5")), ("1e-3", Decimal("0.001")),
     ("0", None), ("-1", None), ("1e100", None), ("inf", None), ("NaN", None), ("1_0", None),
     (" 1", None), ("١", None), (True, None), ([1], None), ("9" * 41, None)],
)  # fmt: skip
def test_positive_decimal(raw: object, value: Decimal | None) -> None:
    assert positive_decimal(raw) == value


def test_clip_and_wrong_checksum() -> None:
    assert clip("x" * 200) == "x" * 128 + "..." and clip(7) == "7"
    for v in (0, 5, 0x7FFFFFFF, 0xFFFFFFFF, -(2**31)):
        w = wrong_checksum(v)
        assert w != v and -(2**31) <= w <= 0xFFFFFFFF


def test_book_views_keep_a_client_on_the_top_n() -> None:
    inst = Instrument("X-PERP", "X", "USD", tick_size=0.5, lot_size=0.01, min_size=0.01)
    m = SymbolMarket(inst, 100.0, 3, MarketParams(levels=40, history_minutes=5), 1_000_000)
    views = BookViews(depth=10)
    bids, asks = views.snapshot(m)
    client = [dict(bids), dict(asks)]
    rng = random.Random(1)
    for k in range(300):
        m.step(1_000_000 + 150 * k)
        if rng.random() < 0.3:
            continue  # steps with nobody asking still move the view on the next call
        deltas = views.advance(m)
        for side, levels in zip(client, deltas or ([], []), strict=True):
            for p, s in levels:
                if s == "0":
                    side.pop(p)
                else:
                    side[p] = s
        assert client[0] == dict(m.sorted_bids()[:10]) and client[1] == dict(m.sorted_asks()[:10])
        assert views.current("X-PERP") == (m.sorted_bids()[:10], m.sorted_asks()[:10])
    views.drop("X-PERP")
    assert views.current("X-PERP") == ([], [])


def test_hub_defers_pushes_until_the_answer() -> None:
    hub, ran = Hub(), []
    hub.hold()
    hub.defer(lambda: ran.append("push"))
    ran.append("answer")
    hub.release()
    hub.defer(lambda: ran.append("now"))
    assert ran == ["answer", "push", "now"]


async def test_account_place_forgets_refusals_unless_kept(frozen_emu: OkxEmulator) -> None:
    acct = frozen_emu.trading.account
    m = frozen_emu.driver.markets["BTC-USDT"]
    ask = float(m.px(m.best_ask()))
    info, rec = acct.place("BTC-USDT", Side.BUY, 1000.0, ask)
    assert rec.code is RejectReason.INSUFFICIENT_FUNDS and acct.find(info.order_id) is None
    info, rec = acct.place(
        "BTC-USDT", Side.BUY, 0.001, ask, TimeInForce.POST_ONLY, client_id="po",
        keep=lambda code: code is RejectReason.POST_ONLY_WOULD_TAKE,
    )  # fmt: skip
    assert rec.code is RejectReason.POST_ONLY_WOULD_TAKE and acct.find(client_id="po") is info
    info, rec = acct.place("BTC-USDT", Side.BUY, 0.001, ask - 1000)
    assert rec.status.is_open and acct.working_qty("BTC-USDT") == (0.001, 0.0)
    assert [i.order_id for i, _ in acct.orders(open_only=True)] == [info.order_id]
    assert acct.cancel_all("BTC-USDT") == 1 and acct.orders(open_only=True) == []


async def test_non_ascii_credentials_are_refused_not_crashed(frozen_emu: OkxEmulator) -> None:
    path = "/api/v5/account/balance"
    headers = signed_headers("GET", path)
    headers["OK-ACCESS-KEY"] = "ключ"
    async with (
        aiohttp.ClientSession() as s,
        s.get(frozen_emu.base_url + path, headers=headers) as r,
    ):
        body = await r.json()
    assert (r.status, body["code"]) == (401, "50111")
