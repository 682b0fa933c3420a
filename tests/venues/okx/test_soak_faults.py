"""A short fault soak: the engine churns targets and cancels through the OKX gateway while the
emulator throws 429 storms, 5xx, lost replies and private WebSocket drops at it. Afterwards the
engine and the venue must agree exactly:

* no order the engine believes open that the venue does not have (and none the other way);
* the last target reached;
* engine position and cash equal to the venue's BTC and USDT movements.

CI runs about 40 s of it; ``TRADELOOP_SOAK_SECONDS=300`` runs the long form.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import pytest

from tradeloop.engine.oms import ExecAlgo
from tradeloop.model import OrderStatus

from .e2e import until
from .test_e2e_money_safety import engine_with, position, venue_balance
from .test_e2e_recovery import NATIVE, SYMBOL, Engine
from .test_e2e_recovery import emu as emu  # the emulator fixture

SECONDS = float(os.environ.get("TRADELOOP_SOAK_SECONDS", "40"))
PLACE = "POST /api/v5/trade/order"
CANCEL = "POST /api/v5/trade/cancel-order"
TARGETS = (0.0, 0.01, 0.02, 0.03)


def inject(eng: Engine, rng: random.Random) -> str:
    f = eng.emu.faults
    roll = rng.random()
    if roll < 0.3:
        n = rng.randint(2, 12)
        f.fail_next_429(n)
        return f"429x{n}"
    if roll < 0.45:
        f.fail_next_5xx(rng.randint(1, 3))
        return "5xx"
    if roll < 0.65:
        target = rng.choice((PLACE, CANCEL))
        f.lose_replies(rng.randint(1, 2), rng.choice(("5xx", "drop")), target)
        return "lost reply"
    if roll < 0.8:
        private = eng.gateway.private
        if private is not None:
            f.drop_ws()
            return "ws drop"
    return "none"


async def churn(eng: Engine, seconds: float, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    oms = eng.kernel.oms
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    counts: dict[str, int] = {}
    while loop.time() < end:
        action = rng.random()
        if action < 0.55:
            oms.set_target(SYMBOL, rng.choice(TARGETS))
            counts["targets"] = counts.get("targets", 0) + 1
        elif action < 0.7:
            counts["cancels"] = counts.get("cancels", 0) + oms.cancel_all()
        else:
            kind = inject(eng, rng)
            counts[kind] = counts.get(kind, 0) + 1
        await asyncio.sleep(rng.uniform(0.02, 0.3))
    return counts


async def settle(eng: Engine, final: float) -> None:
    eng.emu.faults.reset()
    oms = eng.kernel.oms
    oms.set_target(SYMBOL, final)
    min_qty = oms._execs[SYMBOL].min_qty

    def done() -> bool:
        return abs(position(eng) - final) < min_qty and not oms.open_orders

    try:
        await until(done, f"position {final} with no open orders", timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{await describe(eng)}") from None
    await eng.gateway.drain(60)


async def describe(eng: Engine) -> str:
    """The engine's and the venue's view, for a failure message."""
    oms = eng.kernel.oms
    ex = oms._execs[SYMBOL]
    w = ex.working
    venue_open = await eng.gateway.rest.orders_pending(inst_id=NATIVE)
    tracks = {k: (t.status.value, t.placing, t.cancelling) for k, t in eng.gateway._orders.items()
              if not t.status.is_terminal}  # fmt: skip
    return "\n".join(
        [
            f"position {position(eng)} target {ex.target} blocked {ex.blocked} "
            f"retries {ex.retries} repricing {ex.repricing}",
            f"working {w and (w.client_order_id, w.status.value, w.qty, w.reason)}",
            f"engine open {[(o.client_order_id, o.status.value) for o in oms.open_orders.values()]}",  # noqa: E501
            f"venue open {[(r.get('clOrdId'), r.get('state')) for r in venue_open]}",
            f"gateway live tracks {tracks}",
            f"gateway tasks {[t.get_name() for t in eng.gateway._tasks]}",
        ]
    )


@pytest.mark.soak
@pytest.mark.parametrize("algo", [ExecAlgo.MARKET, ExecAlgo.LIMIT_CHASE])
async def test_fault_soak_leaves_engine_and_venue_in_agreement(
    emu: tuple[Any, str], algo: ExecAlgo
) -> None:
    e, url = emu
    btc0, usdt0 = (
        float(e.trading.account.sim.balances()["BTC"].total),
        float(e.trading.account.sim.balances()["USDT"].total),
    )
    eng = await engine_with(url, e, algo)
    try:
        cash0 = eng.kernel.portfolio.cash
        counts = await churn(eng, SECONDS / 2, seed=7 if algo is ExecAlgo.MARKET else 8)
        assert counts.get("targets", 0) > 10, counts
        final = 0.02 if algo is ExecAlgo.MARKET else 0.0
        await settle(eng, final)
        oms = eng.kernel.oms
        # the venue has no open order, and the engine believes none open
        assert not await eng.gateway.rest.orders_pending(inst_id=NATIVE)
        assert not oms.open_orders
        stuck = [o for o in oms.orders.values() if not o.status.is_terminal
                 and o.status is not OrderStatus.CREATED]  # fmt: skip
        assert not stuck, stuck
        # money: the engine moved exactly what the venue moved
        assert position(eng) == pytest.approx(venue_balance(eng, "BTC") - btc0, abs=1e-9)
        assert eng.kernel.portfolio.cash - cash0 == pytest.approx(
            venue_balance(eng, "USDT") - usdt0, abs=1e-6
        )
        fills = eng.fills
        assert len({(f.client_order_id, f.trade_id) for f in fills}) == len(fills)
    finally:
        await eng.gateway.stop()
