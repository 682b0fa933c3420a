"""A journaled BitMEX position keeps its cost in satoshi across a restart: the restored
position closes to the same satoshi as one that never stopped. Journals from before the
cost was kept restore it from the average price (close, not exact) rather than from zero."""

from __future__ import annotations

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.engine.portfolio import Portfolio
from tradeloop.live.state import portfolio_state, restore_portfolio
from tradeloop.model import Fill, Liquidity, Side

XBTUSD = ct.instrument("XBTUSD")
SAT = 100_000_000


def _portfolio() -> Portfolio:
    p = Portfolio({XBTUSD.symbol: XBTUSD}, 1.0)
    p.add_strategy("s")
    return p


def _fill(side: Side, qty: float, price: float, n: int) -> Fill:
    return Fill(n, f"o{n}", f"v{n}", f"t{n}", XBTUSD.symbol, side, price, qty, 0.0, "BTC",
                Liquidity.TAKER)  # fmt: skip


def test_restart_keeps_the_satoshi_cost() -> None:
    live, restarted = _portfolio(), _portfolio()
    for i, px in enumerate((29_000.0, 29_013.5, 30_101.0)):
        live.apply_fill(_fill(Side.BUY, 7, px, i), "s")
    state = portfolio_state(live)
    assert state["positions"][XBTUSD.symbol][4] == live.positions[XBTUSD.symbol].cost > 0
    assert restore_portfolio(restarted, state) == []
    for p in (live, restarted):
        p.apply_fill(_fill(Side.SELL, 21, 31_000.5, 9), "s")
    a, b = live.positions[XBTUSD.symbol], restarted.positions[XBTUSD.symbol]
    assert round(a.realized_pnl * SAT) == round(b.realized_pnl * SAT) != 0
    assert restarted.books["s"].positions[XBTUSD.symbol].cost == 0


def test_a_journal_without_cost_restores_it_from_the_average() -> None:
    live, restarted = _portfolio(), _portfolio()
    live.apply_fill(_fill(Side.BUY, 10, 29_000.0, 1), "s")
    state = portfolio_state(live)
    state["positions"][XBTUSD.symbol] = state["positions"][XBTUSD.symbol][:4]
    restore_portfolio(restarted, state)
    assert abs(restarted.positions[XBTUSD.symbol].cost - live.positions[XBTUSD.symbol].cost) <= 1
