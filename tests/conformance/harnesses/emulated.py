"""Shared base for venues served by a ``tradeloop.emulator`` front-end (OKX, FTX, ...).

Everything here uses only the emulator *core*, which every front-end is built from:

* faults through :class:`tradeloop.emulator.faults.Faults` (``emu.faults``): ``fail_next_429``,
  ``lose_replies`` (targeted at the venue's placement route), ``drop_ws``,
  ``corrupt_checksums``, ``skip_seqs``;
* venue truth and trading through the front-end's :class:`~tradeloop.emulator.account.SimAccount`
  (``emu.trading.account`` by default): its order records, fills and simulator; a resting order
  is filled by feeding its simulator a public trade through the order's price;
* the market through ``emu.driver`` (``MarketDriver``) and ``emu.step()``; the market is
  frozen (``tick_interval_ms=0``) so it moves only when a check says so;
* the wire through an aiohttp middleware on ``emu.app``, added before the server starts, that
  keeps the raw body of every REST request.

A venue subclass supplies, mostly as data: its keys (``key``, ``secret``), its emulator
(``emulator_cls``, ``config_cls`` and ``config``: balances and symbols; the base adds the keys,
``seed=5`` and the frozen tick), its WebSocket settings (``ws_config``, made fast by
:func:`fast_ws`), what its registry factory needs beyond those (``gateway_options``: the REST
client with :data:`FAST_REST` retries, venue switches), its placement route (``place_route``),
how its order requests carry price and size (``parse_wire``), and its REST book
(``venue_book``, with :func:`get_json` / :func:`levels`). ``make_emulator`` and
``build_gateway`` stay overridable for a venue that needs more (a wire tap on its WebSocket,
two accounts).
"""

from __future__ import annotations

import dataclasses
import itertools
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import NS_PER_MS, Side, TradeTick
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

from ..harness import (
    BookFault,
    LostReplyKind,
    Recorder,
    VenueFill,
    VenueHarness,
    VenueOrder,
    WireOrder,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_prints = itertools.count(1)

#: The production shape (4 tries per request), with waits of 10-50 ms.
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
#: Cancel/amend rounds and lookups every 20-100 ms; deadlines far beyond any check.
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    reconcile_deadline_s=20.0,
)


def fast_ws(config: WsConfig) -> WsConfig:
    """A venue's WebSocket settings that reconnect within ~0.2 s, with heartbeats too slow to
    fire during a check on a loaded machine."""
    return dataclasses.replace(
        config,
        heartbeat_interval=5.0,
        heartbeat_timeout=5.0,
        reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    )


async def get_json(url: str, params: Mapping[str, str] | None = None) -> Any:
    """One public GET on a fresh session (the venue's REST book, outside the gateway)."""
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as resp:
        return await resp.json()


def levels(rows: list[list[Any]], depth: int) -> list[tuple[float, float]]:
    """``[[price, size, ...], ...]`` rows as (price, size) floats, the first ``depth``."""
    return [(float(r[0]), float(r[1])) for r in rows[:depth]]


class EmulatedHarness(VenueHarness):
    """A venue behind an in-process emulator on 127.0.0.1:0 (see the module docstring)."""

    #: ``"METHOD /path"`` of the venue's order placement (the lost-reply fault's target)
    place_route: str = ""
    rest_attempts = FAST_REST.max_attempts
    #: the keys the emulator knows and the gateway signs with
    key: ClassVar[str] = ""
    secret: ClassVar[str] = ""
    #: the front-end, its config class and the config beyond keys, seed and the frozen tick
    emulator_cls: ClassVar[Callable[..., VenueEmulator]]
    config_cls: ClassVar[Callable[..., Any]]
    config: ClassVar[dict[str, Any]] = {}
    #: the venue's production WebSocket settings (the gateway gets :func:`fast_ws` of them)
    ws_config: ClassVar[WsConfig]

    def __init__(self) -> None:
        self.emu: VenueEmulator | None = None
        self.url = ""
        self.wire: list[tuple[str, str, str]] = []  # (method, path, body) in arrival order
        self.sessions: list[Gateway] = []

    # -- what a venue supplies -----------------------------------------------------------------
    def make_emulator(self) -> VenueEmulator:
        """The front-end with known keys, balances and symbols, ``tick_interval_ms=0`` (the
        market moves only on ``step_market()``)."""
        cfg = self.config_cls(api_key=self.key, api_secret=self.secret, seed=5,
                              tick_interval_ms=0, **self.config)  # fmt: skip
        return self.emulator_cls(cfg)

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.key, "secret": self.secret}

    def gateway_options(self, url: str) -> dict[str, Any]:
        """The factory's options beyond credentials, WebSocket and recovery settings (the
        factory's own REST client, only with :data:`FAST_REST` retries; venue switches)."""
        return {}

    def build_gateway(self, url: str) -> Gateway:
        """An unstarted gateway for ``url`` built through ``tradeloop.venues.registry``, with
        short retry/backoff policies."""
        return registry.get(self.name).build(
            url=url,
            credentials=self.credentials(),
            ws_config=fast_ws(self.ws_config),
            recovery=FAST_RECOVERY,
            **self.gateway_options(url),
        )

    @abstractmethod
    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        """The place/amend requests in one REST request (none for other requests)."""

    def account(self) -> SimAccount:
        """The front-end's simulated account (``emu.trading.account`` in OKX and FTX)."""
        account: SimAccount = self.running.trading.account  # type: ignore[attr-defined]
        return account

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def running(self) -> VenueEmulator:
        assert self.emu is not None, "harness not started"
        return self.emu

    async def start(self) -> None:
        self.emu = self.make_emulator()
        self.emu.app.middlewares.append(self._tap())
        self.url = await self.emu.start("127.0.0.1", 0)
        self.gateway = self.build_gateway(self.url)
        self.rec = Recorder(self.gateway.venue)
        self.rec.attach(self.gateway)
        self.sessions.append(self.gateway)
        await self.gateway.start()

    async def new_session(self, rec: Recorder) -> Gateway:
        gateway = self.build_gateway(self.url)
        rec.attach(gateway)
        self.sessions.append(gateway)
        await gateway.start()
        return gateway

    async def stop(self) -> None:
        try:
            for gateway in reversed(self.sessions):
                await gateway.stop()
        finally:
            if self.emu is not None:
                await self.emu.stop()

    def _tap(self) -> Any:
        wire = self.wire

        @web.middleware
        async def tap(request: web.Request, handler: Handler) -> web.StreamResponse:
            # Read only after the handler: a body read here would look consumed to it
            # (``can_read_body`` turns False); afterwards ``read()`` returns the cached bytes.
            try:
                return await handler(request)
            finally:
                raw = await request.read()
                if raw:
                    wire.append((request.method, request.path, raw.decode("utf-8", "replace")))

        return tap

    # -- market ------------------------------------------------------------------------------
    def native(self, symbol: str | None = None) -> str:
        return self.instrument(symbol).native

    def top(self, symbol: str | None = None) -> tuple[float, float]:
        m = self.running.driver.markets[self.native(symbol)]
        return float(m.px(m.best_bid())), float(m.px(m.best_ask()))

    def step_market(self, n: int = 1) -> None:
        for _ in range(n):
            self.running.step()

    # -- venue truth ---------------------------------------------------------------------------
    def _infos(self, client_order_id: str) -> list[OrderInfo]:
        vcid = self.venue_client_id(client_order_id)
        return [i for i in self.account().infos.values() if i.client_id == vcid]

    def venue_orders(self, client_order_id: str) -> list[VenueOrder]:
        out = []
        for info in self._infos(client_order_id):
            rec = self.account().record(info)
            if rec is not None:
                out.append(VenueOrder(info.client_id, rec.status, rec.qty, rec.price,
                                      rec.filled_qty))  # fmt: skip
        return out

    def venue_fills(self, client_order_id: str) -> list[VenueFill]:
        return [
            VenueFill(f.side, f.qty, f.price, f.ts)
            for info in self._infos(client_order_id)
            for f in info.fills
        ]

    def trade_through(self, client_order_id: str, qty: float) -> None:
        account = self.account()
        working = [
            rec
            for info in self._infos(client_order_id)
            if (rec := account.record(info)) is not None and not rec.status.is_terminal
        ]
        assert len(working) == 1, f"{client_order_id}: {len(working)} working orders at venue"
        rec = working[0]
        inst = account.instruments[rec.symbol]
        through = -inst.tick_size if rec.side is Side.BUY else inst.tick_size
        account.sim.on_trade(
            TradeTick(
                now_ms() * NS_PER_MS,
                rec.symbol,
                inst.round_price(rec.price + through),
                qty,
                rec.side.opposite,
                f"cfprint{next(_prints)}",
            )
        )

    # -- faults ----------------------------------------------------------------------------------
    def fail_next(self, n: int) -> None:
        self.running.faults.fail_next_429(n)

    def faults_pending(self) -> int:
        f = self.running.faults
        return f.fail_remaining + f.lose_remaining

    def lose_place_replies(self, n: int, kind: LostReplyKind) -> None:
        self.running.faults.lose_replies(n, kind, self.place_route)

    def make_placement_in_doubt(self) -> None:
        # Every request's answer (no target): the placement's attempts, the transport's own
        # look-ups (as many again) and one look-up of the lifecycle's.
        self.running.faults.lose_replies(2 * self.rest_attempts + 1, "5xx")

    def drop_private(self) -> int:
        # The core switch cuts every socket at once (there is no per-stream target).
        return self.running.faults.drop_ws()

    def corrupt_book(self, kind: BookFault) -> None:
        faults = self.running.faults
        if kind == "checksum":
            faults.corrupt_checksums(1)
        elif kind == "drop":
            faults.drop_ws()  # every socket: the book's goes with the rest
        else:  # a lost update; a venue without sequence numbers shows it as an unknown id
            faults.skip_seqs(1)

    def wire_orders(self) -> list[WireOrder]:
        return [w for m, p, b in self.wire for w in self.parse_wire(m, p, b)]
