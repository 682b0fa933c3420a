"""The BitMEX emulator: REST ``/api/v1`` and WebSocket ``/realtime`` on one port, built from
the emulator core (:mod:`tradeloop.emulator.venue`, ``rest``, ``ws``, ``hub``) and the shared
simulator, which already does inverse margin, fees, PnL and funding in the settle currency.

Besides the market timer it runs one housekeeping loop: the ``cancelAllAfter`` dead-man
switch, funding settlement at BitMEX's times (04:00, 12:00, 20:00 UTC: every
``funding_interval_s`` from ``funding_offset_s`` past the epoch-aligned boundary, which the
instrument rows' ``fundingTimestamp`` / ``fundingInterval`` announce) and liquidation when a
position's mark price (the mid) reaches its liquidation price, as BitMEX computes it
(:mod:`.liquidation`: maintenance on the position's cost, the close at the bankruptcy price).

The wallet, walletHistory, margin and position money are integer ``XBt`` / ``USDt`` booked per
execution by :mod:`.ledger` (the simulator's float BTC stays behind funds checks and matching).
``replay_file`` (``--replay CAPTURE``) plays a recorded ``/realtime`` capture as the market of
the symbols found in it (:mod:`.replay`).

In process::

    emu = BitmexEmulator(BitmexConfig(api_key="K", api_secret="S",
                                      balances={"XBt": 100_000_000}))
    base_url = await emu.start("127.0.0.1", 0)   # REST base_url + "/api/v1", WS .../realtime
    await emu.stop()
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex import rest
from tradeloop.emulator.bitmex.replay import load_capture
from tradeloop.emulator.bitmex.trading import PRIVATE, BitmexTrading
from tradeloop.emulator.bitmex.ws import BitmexHub, BitmexWs, upgrade_handler
from tradeloop.emulator.frontend import FrontEnd, common_config
from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.market import SymbolMarket
from tradeloop.emulator.replay import Record, ReplayMarket
from tradeloop.emulator.venue import VenueConfig, VenueEmulator
from tradeloop.model import NS_PER_MS

log = logging.getLogger(__name__)


@dataclass
class BitmexConfig(VenueConfig):
    """The shared settings with BitMEX's defaults. ``balances`` take BitMEX currency codes in
    minor units (``XBt`` satoshi, ``USDt``) or major codes (``BTC``, ``USDT``).
    ``rate_limit`` is requests per minute per key (BitMEX: 120 authenticated);
    ``key_permissions`` without ``"order"`` makes order and position writes 403."""

    balances: dict[str, float] = field(default_factory=lambda: {"XBt": 100_000_000.0})
    symbols: list[str] = field(default_factory=lambda: list(ct.DEFAULT_SYMBOLS))
    leverage: float = 10.0
    funding_rate: float = 0.0001
    funding_interval_s: float = 8 * 3600.0
    #: BitMEX's funding grid is 4 h past the midnight-aligned 8 h one (04/12/20 UTC); taken
    #: modulo the interval, so a short test interval keeps the epoch-aligned grid
    funding_offset_s: float = 4 * 3600.0
    rate_limit: int = 120
    key_permissions: tuple[str, ...] = ("order",)
    housekeeping_s: float = 0.1
    #: a BitMEX ``/realtime`` capture (cryptofeed format): the symbols found in it replay
    #: their recorded orderBookL2 and trades (looping), the others stay synthetic
    replay_file: str | None = None


class BitmexEmulator(VenueEmulator):
    venue = "bitmex"
    config: BitmexConfig
    hub: BitmexHub

    def __init__(self, config: BitmexConfig | None = None) -> None:
        config = config or BitmexConfig()
        instruments = {i.symbol: i for i in map(ct.instrument, config.symbols)}
        self.initial = ct.balances_major(config.balances)
        self.raw_balances = dict(config.balances)
        config.balances = dict(self.initial)  # the simulator keeps major units
        if not config.start_prices:
            config.start_prices = {"ETHUSD": 3000.0}
        replays: dict[str, list[Record]] | None = None
        if config.replay_file:
            replays = load_capture(config.replay_file, set(instruments))
            log.info("replaying %s from %s", sorted(replays), config.replay_file)
        super().__init__(config, instruments, replays)
        for m in self.driver.markets.values():
            if m.instrument.inverse and not isinstance(m, ReplayMarket):
                _inverse_sizes(m)  # a replayed book has BitMEX's own (USD) sizes
            ct.tape(m)  # from the first print on: the public money counts every one
        self.index = {sym: i for i, sym in enumerate(instruments)}
        self.limiter = rest.Limiter(config.rate_limit)
        self.funding_history: deque[dict[str, Any]] = deque(maxlen=1000)
        self.hub = BitmexHub(self)
        self.ws_protocol = BitmexWs(self)
        self.driver.listeners.append(self.hub.on_step)
        self.trading = BitmexTrading(self)
        self.liquidations = 0
        self._next_funding = self.next_funding_ms(int(time.time() * 1000))

    # -- helpers used by routes and the hub ------------------------------------------------
    def funding_rate(self, symbol: str) -> float:
        return self.config.funding_rate

    @property
    def funding_interval_ms(self) -> int:
        return max(int(self.config.funding_interval_s * 1000), 1)

    def next_funding_ms(self, now_ms: int) -> int:
        """The first funding time strictly after ``now_ms`` (see the module docstring)."""
        return next_funding_ms(now_ms, self.funding_interval_ms,
                               int(self.config.funding_offset_s * 1000))  # fmt: skip

    def instrument_row(self, m: Any, now_ms: int) -> dict[str, Any]:
        sym = m.instrument.symbol
        return ct.instrument_row(m, now_ms, self.funding_rate(sym), self._next_funding, m.mid(),
                                 self.funding_interval_ms)  # fmt: skip

    def currencies_held(self) -> set[str]:
        out = {c for c in self.initial}
        out.update(i.settle for i in self.instruments.values())
        return out

    # -- housekeeping ----------------------------------------------------------------------
    def settle_funding(self) -> None:
        """Settle funding on every open position now (also what the timer does)."""
        sim = self.trading.account.sim
        now = int(time.time() * 1000)
        for sym in self.instruments:
            rate = self.funding_rate(sym)
            self.funding_history.append(
                {
                    "timestamp": ct.iso(now),
                    "symbol": sym,
                    "fundingInterval": ct.funding_interval(self.funding_interval_ms),
                    "fundingRate": rate,
                    "fundingRateDaily": rate * 3,
                }
            )
            pos = sim.positions().get(sym)
            if pos is not None and pos.qty:
                self.trading.account.settle_funding(sym, rate, self.driver.markets[sym].mid())

    def check_liquidations(self) -> None:
        """Liquidate every position whose mark (the mid) is at or through its liquidation
        price: closed whole at its bankruptcy price (:mod:`.liquidation`), its working orders
        canceled first, reported as a ``Liquidation`` execution."""
        tr = self.trading
        sim = tr.account.sim
        for sym, held in list(tr.ledger.holdings.items()):
            if not held.qty:
                continue
            lp = tr.liq_prices(sym)
            mark = tr.mark(sym)
            if lp is None or not lp.breached(held.qty > 0, mark):
                continue
            price = lp.bankrupt if lp.bankrupt is not None else mark
            fill = sim.liquidate(sym, price, int(time.time() * 1000) * NS_PER_MS)
            if fill is not None:
                self.liquidations += 1
                tr.on_liquidation(fill)

    def housekeeping(self, now_s: float) -> None:
        self.trading.check_dead_man(now_s)
        if now_s * 1000 >= self._next_funding:
            self._next_funding = self.next_funding_ms(int(now_s * 1000))
            self.settle_funding()
        self.check_liquidations()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.config.housekeeping_s)
            try:
                self.housekeeping(time.time())
            except Exception:  # one bad round must not stop the switch
                log.exception("bitmex emulator housekeeping failed")

    # -- server ----------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler, private in rest.PUBLIC + PRIVATE:
            app.router.add_route(method, path, rest.route(self, handler, private))
        app.router.add_get("/realtime", upgrade_handler(self))
        app.router.add_route("*", "/api/v1/{tail:.*}", rest.not_found)

    async def on_start(self) -> None:
        await super().on_start()
        self.spawn(self._housekeeping(), "bitmex-housekeeping")


def _inverse_sizes(m: SymbolMarket) -> None:
    """Core gap: the synthetic market sizes levels as ``notional / (price x contract_value)``,
    which for an inverse contract (1 USD each) is a fraction of one lot, so every level would
    be the 100-contract minimum. Size them in USD contracts instead, and re-size the ladder
    and the seeded history before any account sees them."""
    inst = m.instrument

    def size() -> str:
        usd = math.exp(m.rng.uniform(math.log(2_000.0), math.log(200_000.0)))
        return inst.format_qty(max(usd / inst.contract_value, inst.lot_size))

    m._random_size = size  # type: ignore[method-assign]
    for side in (m.bids, m.asks):
        for p in side:
            side[p] = size()
    # the seeded 1m history has the same gap (a few contracts a minute): its notional
    # (``vol x close`` for 1-USD contracts) in whole lots of USD contracts instead
    lot = inst.lot_size
    for c in m.candles:
        if c.vol:
            q = max(round(c.vol * c.close / lot) * lot, lot)  # notional / cv, in contracts
            c.vol = c.vol_ccy = q
            c.vol_quote = q * c.close


#: the shared CLI upper-cases ``--balance`` names, so ``XBt`` / ``USDt`` arrive as these
_CLI_MINOR = {"XBT": "XBt", "USDT": "USDt"}


def build(common: dict[str, Any], replay: str | None = None,
          funding: tuple[float, float] | None = None) -> BitmexEmulator:  # fmt: skip
    """The CLI's constructor (``tradeloop emulator bitmex``): the shared flags, BitMEX's
    defaults for the rest. Balances are BitMEX codes in minor units (``XBt=100000000``,
    ``USDt=10000000000``, as the issue's command and the default spell them); the shared flag
    parser upper-cases names, so on the command line ``XBT`` / ``USDT`` are those minor units
    too and ``BTC=1`` is the way to give whole bitcoin. ``replay``: ``--replay CAPTURE``;
    ``funding``: ``(--funding-rate, --funding-interval-s)``, the interval on BitMEX's grid
    (04/12/20 UTC for 8 h; a short one, for tests, starts on the epoch-aligned boundary)."""
    common = dict(common)
    balances = common.get("balances") or {}
    common["balances"] = {_CLI_MINOR.get(k, k): v for k, v in balances.items()}
    if replay and not Path(replay).is_file():
        raise ValueError(f"--replay {replay}: no such file")  # before any port is taken
    if funding is not None:
        common["funding_rate"], common["funding_interval_s"] = funding
        if common["funding_interval_s"] <= 0:
            raise ValueError("--funding-interval-s: BitMEX settles funding; give seconds > 0")
    emu = BitmexEmulator(BitmexConfig(**common, replay_file=replay or None))
    log.info("bitmex balances: %s", ", ".join(f"{c} {v:g}" for c, v in emu.initial.items()))
    return emu


#: ``tradeloop emulator bitmex`` (found through the venue registry)
FRONT_END = FrontEnd(
    lambda args: build(
        common_config(args),
        getattr(args, "replay", None),
        (args.funding_rate, args.funding_interval_s),
    ),
    "XBTUSD,ETHUSD,XBTUSDT",
    ("XBt=100000000",),
    "/realtime",
)
