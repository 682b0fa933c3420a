"""Foreign activity: another client on the same account (same keys — e.g. the FMZ bridge)
trades while a strategy runs. Its orders and fills are journaled as foreign and reported, never
change the strategy's position or PnL; a restart reports its open order and finds no
position mismatch (foreign fills count as outside holdings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conformance.harness import until

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime
from tradeloop.model import TradingState
from tradeloop.venues.okx.rest import OkxRestClient

from .helpers import account_block, emulator, strategy_block, write_config

K, S, P = "foreign-key", "foreign-secret", "foreign-pass"


async def test_foreign_orders_and_fills_never_reach_a_strategy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in (("A_KEY", K), ("A_SECRET", S), ("A_PASS", P)):
        monkeypatch.setenv(k, v)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "f.sqlite"
    cfg = write_config(
        tmp_path / "live.toml", journal,
        account_block("okx-a", url, "A") + strategy_block("Flip", "flip", None, "every = 2"),
        deployment="foreign",
    )  # fmt: skip
    try:
        rt = LiveRuntime(load_live_config(cfg))
        await rt.start()
        rt.restore()
        await rt.reconcile()
        await rt.go_live()
        async with OkxRestClient(url, K, S, P) as other:
            for i in range(3):
                await other.place_order("BTC-USDT", "buy", "market", "0.05",
                                        tgt_ccy="base_ccy", cl_ord_id=f"fmz{i}")  # fmt: skip
            await other.place_order("BTC-USDT", "buy", "limit", "0.01", "1000",
                                    cl_ord_id="fmzrest")  # fmt: skip
            # until the runtime has journaled the other client's 0.15 BTC of fills (however
            # many executions) and its resting order, all as foreign, and the strategy has
            # traded beside them
            j0 = rt.journal
            assert j0 is not None

            def seen() -> bool:
                qty = sum(f["qty"] for f in j0.fills("okx-a", "foreign"))
                own = j0.fills("okx-a", "own")
                return abs(qty - 0.15) < 1e-9 and "fmzrest" in acc.foreign_orders and bool(own)

            acc = rt.groups[0].accounts["okx-a"]
            await until(seen, "the foreign fills and order journaled", timeout=60)
            kernel = rt.groups[0].kernel
            book = kernel.portfolio.books["flip"]
            strat_pos = book.positions["BTC-USDT.OKX"].qty if book.positions else 0.0
            account_pos = kernel.portfolio.positions["BTC-USDT.OKX"].qty
            await rt.shutdown()
            venue_btc = float((await other.balance("BTC"))[0]["details"][0]["cashBal"])
        # the strategy only ever held its own 0 or ~0.01; the 0.15 BTC bought by the other
        # client is nowhere in the engine
        assert abs(strat_pos) < 0.02 and strat_pos == pytest.approx(account_pos, abs=1e-12)
        j = Journal(journal)
        foreign = j.fills("okx-a", "foreign")
        assert {f["cid"] for f in foreign} == {"fmz0", "fmz1", "fmz2"}
        assert sum(f["qty"] for f in foreign) == pytest.approx(0.15)
        assert j.events("foreign_fill") and j.events("foreign_order")
        own_qty = sum((1 if f["side"] == "buy" else -1) * f["qty"]
                      for f in j.fills("okx-a", "own"))  # fmt: skip
        assert own_qty < 0.03
        j.db.close()
        assert venue_btc > 1.14  # the foreign buys did happen at the venue
        # restart: the foreign open order is reported, positions agree (no halt)
        rt2 = LiveRuntime(load_live_config(cfg))
        await rt2.start()
        rt2.restore()
        await rt2.reconcile()
        rep = rt2.reports[0]
        assert rep.foreign_orders == ["fmzrest"] and not rep.mismatches
        assert rt2.groups[0].kernel.risk.state is TradingState.ACTIVE
        await rt2.shutdown()
    finally:
        await emu.stop()
