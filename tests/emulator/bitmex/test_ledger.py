"""The BitMEX emulator's integer wallet: hand-computed satoshi cases for the inverse, quanto and
linear contracts, properties over random fill sequences (the wallet is the deposit plus its
history; a closed position realises exactly the rounded values; never more than the rounding
away from the exact rational PnL), and ``GET /user/walletHistory`` over a real socket agreeing
with the wallet, margin, position and executions to the satoshi."""

from __future__ import annotations

import time
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.ledger import SatLedger
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client

XBTUSD, ETHUSD, XBTUSDT = (ct.instrument(s) for s in ("XBTUSD", "ETHUSD", "XBTUSDT"))


def _ledger() -> SatLedger:
    return SatLedger({"XBt": 100_000_000, "USDt": 10_000_000_000}, 0)


def test_inverse_long_round_trip_in_whole_satoshi() -> None:
    lg = _ledger()
    # 100 USD at 50,000 is worth 200,000 sat; at 60,000 166,666.67 -> 166,667 sat
    assert lg.execution(XBTUSD, True, 100, 50_000, 150, "e1", 1) == 0
    assert lg.holding("XBTUSD").cost == 200_000
    assert lg.execution(XBTUSD, False, 100, 60_000, 125, "e2", 2) == 200_000 - 166_667
    w = lg.wallet("XBt")
    assert w.balance == 100_000_000 + 33_333 - 150 - 125
    assert [r["amount"] for r in w.history] == [100_000_000, -150, 33_333 - 125]
    assert [r["tx"] for r in w.history] == ["", "e1", "e2"]
    assert w.history[-1]["walletBalance"] == w.balance and w.history[-1]["address"] == "XBTUSD"
    h = lg.holding("XBTUSD")
    assert (h.qty, h.cost, h.net) == (0, 0, 33_333 - 275)


def test_inverse_short_partial_close_and_flip() -> None:
    lg = _ledger()
    lg.execution(XBTUSD, False, 300, 30_000, 0, "a", 1)  # cost 1,000,000
    # buy back 100 at 25,000 (400,000 sat): share round(1e6 / 3) = 333,333 -> a short gains
    assert lg.execution(XBTUSD, True, 100, 25_000, 0, "b", 2) == 400_000 - 333_333
    assert lg.holding("XBTUSD").cost == 666_667
    # buy 300 at 40,000: closes 200 (500,000 sat against the 666,667 left), opens 100 long
    assert lg.execution(XBTUSD, True, 300, 40_000, 0, "c", 3) == 500_000 - 666_667
    h = lg.holding("XBTUSD")
    assert (h.qty, h.cost) == (100, 250_000)


def test_quanto_and_linear_values() -> None:
    lg = _ledger()
    # ETHUSD: 100 satoshi per USD of price per contract
    lg.execution(ETHUSD, True, 10, 3000.05, 0, "q1", 1)
    assert lg.holding("ETHUSD").cost == 3_000_050
    assert lg.execution(ETHUSD, False, 10, 3100, 0, "q2", 2) == 3_100_000 - 3_000_050
    # XBTUSDT: 1e-6 BTC per contract, settled in USDt (1e-6 USDT)
    lg.execution(XBTUSDT, True, 1000, 60_000.5, 10, "l1", 3)
    assert lg.holding("XBTUSDT").cost == 60_000_500
    assert lg.execution(XBTUSDT, False, 1000, 59_000, 10, "l2", 4) == 59_000_000 - 60_000_500
    assert lg.wallet("USDt").balance == 10_000_000_000 - 1_000_500 - 20
    assert lg.wallet("XBt").balance == 100_000_000 + 99_950
    lg.funding(XBTUSD, 42, "f", 5)
    assert lg.wallet("XBt").balance == 100_000_000 + 99_950 - 42
    assert lg.wallet("XBt").history[-1]["text"] == "Funding"
    assert lg.holding("XBTUSD").net == -42


fills = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(1, 50).map(lambda n: n * 100),
        st.integers(20_000, 120_000).map(lambda n: n / 2),  # XBTUSD tick 0.5
        st.integers(0, 500),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(fills)
def test_inverse_properties(seq: list[tuple[bool, int, float, int]]) -> None:
    lg = _ledger()
    exact_pnl, qty, cost = Fraction(0), 0, Fraction(0)  # exact rational reference
    for i, (buy, q, p, comm) in enumerate(seq):
        lg.execution(XBTUSD, buy, q, p, comm, f"e{i}", i)
        s = q if buy else -q
        if qty and (qty > 0) != buy:
            closing = min(q, abs(qty))
            share = cost * closing / abs(qty)
            gain = share - Fraction(closing * 100_000_000) / Fraction(p)
            exact_pnl += gain if qty > 0 else -gain
            cost -= share
            if q > abs(qty):
                cost = Fraction((q - abs(qty)) * 100_000_000) / Fraction(p)
        else:
            cost += Fraction(q * 100_000_000) / Fraction(p)
        qty += s
    w, h = lg.wallet("XBt"), lg.holding("XBTUSD")
    assert all(isinstance(r["amount"], int) for r in w.history)
    assert w.balance == sum(r["amount"] for r in w.history) == w.history[-1]["walletBalance"]
    assert h.qty == qty and h.comm == sum(c for *_, c in seq)
    assert abs(h.realised - exact_pnl) <= len(seq)  # 0.5 per opening + 1 per closing fill
    if qty == 0:  # closed: realised is exactly (rounded cost opened - rounded value closed)
        assert h.cost == 0


async def test_wallet_history_over_rest(client: Client, emu: BitmexEmulator) -> None:
    for qty in (1000, -1500, 300, 100):  # ends 100 long: funding is paid
        st_, _, _ = await client.call(
            "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": qty, "ordType": "Market"}
        )
        assert st_ == 200
        emu.step(int(time.time() * 1000))
    emu.settle_funding()
    status, hist, _ = await client.call("GET", "/api/v1/user/walletHistory?currency=XBt")
    assert status == 200
    rows = hist[::-1]  # newest first on the wire
    assert rows[0]["transactType"] == "Deposit" and rows[0]["amount"] == 100_000_000
    _, wallet, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    _, margin, _ = await client.call("GET", "/api/v1/user/margin?currency=XBt")
    _, (pos,), _ = await client.call("GET", "/api/v1/position")
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory")
    total = sum(r["amount"] for r in rows)
    assert wallet["amount"] == margin["walletBalance"] == total == rows[-1]["walletBalance"]
    assert pos["realisedPnl"] == total - 100_000_000 == margin["realisedPnl"]
    assert pos["currentComm"] == sum(r["execComm"] for r in ex if r["execType"] == "Trade")
    assert [r["tx"] for r in rows[1:]] == [r["execID"] for r in ex]  # trades, then funding
    assert rows[-1]["text"] == "Funding" and ex[-1]["execType"] == "Funding"
    assert rows[-1]["amount"] == -ex[-1]["execComm"]
    # paging as the swagger describes it: start / count on the newest-first list
    _, page, _ = await client.call("GET", "/api/v1/user/walletHistory?currency=XBt&start=1&count=2")
    assert page == hist[1:3]
    _, usdt, _ = await client.call("GET", "/api/v1/user/walletHistory?currency=USDt")
    assert [r["transactType"] for r in usdt] == ["Deposit"]
    status, err, _ = await client.call("GET", "/api/v1/user/walletHistory?currency=DOGE")
    assert status == 400 and "Unknown currency" in err["error"]["message"]
