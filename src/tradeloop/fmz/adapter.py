"""The one FMZ venue adapter: every FMZ method through a venue's Gateway.

A label (``/OKX``, ``/FTX``) is a registry venue (``VenueSpec.fmz_label``) plus its
:class:`~tradeloop.fmz.conventions.Conventions`. The adapter holds one keyless gateway for
public data (:class:`~tradeloop.fmz.market.LiveMarket`) and one started gateway per docker key
(:class:`~tradeloop.fmz.keyed.KeyPool`), and answers:

* ``depth`` / ``ticker`` from the keyless gateway's verified books and quotes (subscribed on
  first use), a REST read only until the book is live or while it is not;
* ``markets`` from the gateway's instruments;
* ``accounts``, ``positions``, ``orders`` from the contract's queries;
* ``trade`` / ``cancel`` through the order lifecycle (``submit_order`` / ``cancel_order``),
  awaiting the report that answers the docker (:mod:`.orders`).

What the contract lacks (24 h statistics, public trades, candles, one order by venue id,
history, leverage, FMZ's extra position and balance fields ...) comes from the venue's
:class:`~tradeloop.fmz.conventions.Queries` when it has them, and is otherwise answered from
what the contract gives or refused as unsupported (docs/fmz.md, "Gateway gaps").
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp

from tradeloop.fmz import shapes
from tradeloop.fmz.bars import aggregate, best_source, source_count
from tradeloop.fmz.cache import SingleFlight
from tradeloop.fmz.conventions import (
    Balance,
    Conventions,
    PositionInfo,
    Ticker,
    Transport,
    conventions_for,
)
from tradeloop.fmz.keyed import KeyedGateway, KeyPool
from tradeloop.fmz.market import LiveMarket
from tradeloop.fmz.orders import OrderMethods
from tradeloop.fmz.protocol import Credentials, FmzError, Reply
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import FmzVenue, VenueSpec, factories, known_kinds
from tradeloop.model import (
    NS_PER_MS,
    Instrument,
    InstrumentKind,
)
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.retry import RetryConfig

T = TypeVar("T")

#: FMZ dockers retry on their own and have a timeout of their own: fail fast, retry once.
FMZ_RETRY = RetryConfig(max_attempts=2, base=0.1, cap=1.0)
#: at most this many source candles are fetched to build one records answer
MAX_SOURCE_CANDLES = 3000
#: a venue without a REST book: how long ``depth`` waits for the live one to be verified
BOOK_WAIT = 2.0
MAX_FUNDINGS = 50
#: memoised symbol <-> id translations kept at most (the docker chooses the symbols)
MAX_NAMES = 10_000


def _flag(value: Any) -> bool:
    """A config switch given as a TOML bool or a string such as ``"off"``."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


class GatewayVenue(OrderMethods):
    """FMZ over one registry venue. Options (``VenueSpec.options``): ``timeout`` per upstream
    attempt (s, 5), ``rate_limits`` (``venue`` / ``off``), ``live`` (books over WS, true),
    ``live_account`` (balance cache, true), ``markets_ttl`` (s, 300), ``ticker_stats_ttl``
    (s, 5: 24 h statistics of a live ticker are re-read in the background after this); other
    keys are the venue's (its conventions read them, e.g. OKX's ``td_mode``)."""

    def __init__(
        self, label: str, spec: VenueSpec, venue: registry.VenueSpec, conv: Conventions
    ) -> None:
        opts = dict(spec.options or {})
        self.label = label
        self.spec = spec
        self.venue = venue
        self.conv = conv
        self.q = conv.queries
        self.api_prefixes = conv.api_prefixes
        self.rest_url = spec.rest_url.rstrip("/")
        self.ws_url = spec.ws_url.rstrip("/") or None
        self.timeout = float(opts.pop("timeout", 5.0))
        self.rate_limits = str(opts.pop("rate_limits", "venue")) != "off"
        self.live_account = _flag(opts.pop("live_account", True))
        self.markets_ttl = float(opts.pop("markets_ttl", 300.0))
        self.stats_ttl = float(opts.pop("ticker_stats_ttl", 5.0))
        live = _flag(opts.pop("live", True))
        self.venue_options: dict[str, Any] = opts
        self._session: aiohttp.ClientSession | None = None
        self.market = LiveMarket(self._build_public, live=live)
        self.keys = KeyPool(self._build_keyed)
        self._flight = SingleFlight()
        #: REST tickers by instrument id: (monotonic time, ticker, raw) — a live ticker's 24 h
        #: statistics, which no stream of the contract carries
        self._stats: dict[str, tuple[float, Ticker, Any]] = {}
        self._refreshing: set[str] = set()
        #: the venue's instruments as last read from a gateway (naming; refreshed on reloads)
        self._insts: dict[str, Instrument] = {}
        self._names: dict[str, str] = {}
        self._ids: dict[FmzSymbol, str] = {}
        self._markets_at = float("-inf")
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Only the HTTP pool: gateways start on first use (an unreachable venue must not
        keep the bridge from starting)."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
        )

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(self.market.close(), self.keys.close())
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _transport(self) -> Transport:
        if self._session is None:
            raise FmzError(f"{self.label}: venue not started")
        return Transport(self._session, self.timeout, FMZ_RETRY, self.rate_limits)

    def _build_public(self) -> Gateway:
        opts = self.conv.gateway_options(self.rest_url, self._transport(), {}, self.venue_options)
        return self.venue.build(url=self.rest_url, ws_url=self.ws_url, credentials={}, **opts)

    def _build_keyed(self, creds: Credentials) -> Gateway:
        cmap, extra = self.conv.credentials(creds)
        options = {**self.venue_options, **extra}
        opts = self.conv.gateway_options(self.rest_url, self._transport(), cmap, options)
        return self.venue.build(url=self.rest_url, ws_url=self.ws_url, credentials=cmap, **opts)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a failed background refresh: the next request reads again

    async def _read(self, key: tuple[Any, ...], fn: Callable[[], Awaitable[T]]) -> T:
        """Coalesce identical concurrent reads into one upstream call."""
        result: T = await self._flight.do(key, fn)
        return result

    # -- gateways and naming ------------------------------------------------------------------
    async def _public(self) -> Gateway:
        gw = await self.market.gateway()
        if not self._insts:
            self._learn(gw)
        return gw

    async def _key(self, creds: Credentials) -> KeyedGateway:
        kg = await self.keys.get(creds)
        if not self._insts:
            self._learn(kg.gw)
        return kg

    def _learn(self, gw: Gateway) -> None:
        """Take ``gw``'s instrument list for naming (once, and after every reload: a gateway
        copies its dict on each ``instruments()`` call, too dear for every reply)."""
        self._insts = gw.instruments()
        self._names.clear()

    def _id(self, symbol: FmzSymbol) -> str:
        """The instrument id of an FMZ symbol (memoised: ``depth``/``ticker`` are hot)."""
        sid = self._ids.get(symbol)
        if sid is None:
            sid = self.conv.instrument_id(symbol)
            if len(self._ids) >= MAX_NAMES:
                self._ids.clear()
            self._ids[symbol] = sid
        return sid

    def _fmz(self, symbol_id: str) -> str:
        """The FMZ name of an instrument id (memoised once the instrument is known)."""
        name = self._names.get(symbol_id)
        if name is None:
            inst = self._insts.get(symbol_id)
            name = self.conv.fmz_symbol(symbol_id, inst)
            if inst is not None and len(self._names) < MAX_NAMES:
                self._names[symbol_id] = name
        return name

    def _need(self, query: str, method: str) -> None:
        if not self.q.has(query):
            raise FmzError(f"{self.label}: {method} is not supported (the {self.venue.name} "
                           f"gateway has no such query)")  # fmt: skip

    # -- public market data ---------------------------------------------------------------------
    async def ticker(self, symbol: FmzSymbol) -> Reply:
        sid = self._id(symbol)
        live = self._live_ticker(sid)
        if live is not None:
            return live
        gw = await self._public()
        if self.q.has("ticker"):
            t, raw = await self._read(("ticker", sid), lambda: self.q.ticker(gw, sid))
            self._stats[sid] = (time.monotonic(), t, raw)
            self.market.watch(sid)
            return Reply(shapes.ticker(t, self._fmz(sid)), raw)
        self.market.watch(sid)
        if await self.market.wait_book(sid, 1, BOOK_WAIT) is not None:
            live = self._live_ticker(sid)
            if live is not None:
                return live
        raise FmzError(f"{self.label}: no live quote for {symbol} yet; retry shortly")

    def _live_ticker(self, sid: str) -> Reply | None:
        """A ticker from memory: the live quote, the last live trade, and the 24 h statistics
        of the latest REST ticker (re-read in the background when older than
        ``ticker_stats_ttl``); None while the quote is not live or no statistics were read."""
        q = self.market.quote(sid)
        if q is None:
            return None
        stats = self._stats.get(sid)
        has_rest = self.q.has("ticker")
        if stats is None and has_rest:
            return None
        lt = self.market.last_trade(sid)
        mid = (q.bid + q.ask) / 2 if q.bid and q.ask else q.bid or q.ask
        now_ms = max(q.ts, lt.ts if lt is not None else 0) // NS_PER_MS
        raw: Any = None
        if stats is None:  # FMZ's rule for missing fields: high/low = ask/bid, open = last
            last = lt.price if lt is not None else mid
            t = Ticker(sid, q.bid, q.ask, last, q.ask, q.bid, last, 0.0, now_ms)
        else:
            at, base, raw = stats
            if has_rest and sid not in self._refreshing and time.monotonic() - at > self.stats_ttl:
                self._refreshing.add(sid)
                self._spawn(self._refresh_stats(sid))
            last = lt.price if lt is not None else base.last
            high = max(base.high, last) if base.high else last
            low = min(base.low, last) if base.low else last
            t = Ticker(sid, q.bid, q.ask, last, high, low, base.open, base.volume, now_ms)
        return Reply(shapes.ticker(t, self._fmz(sid)), raw)

    async def _refresh_stats(self, sid: str) -> None:
        try:
            gw = await self.market.gateway()
            t, raw = await self._read(("ticker", sid), lambda: self.q.ticker(gw, sid))
            self._stats[sid] = (time.monotonic(), t, raw)
        finally:
            self._refreshing.discard(sid)

    async def depth(self, symbol: FmzSymbol, limit: int) -> Reply:
        sid = self._id(symbol)
        b = self.market.book(sid, limit)
        if b is None:
            gw = await self._public()
            if self.q.has("book"):
                n = min(max(limit, 1), 400)
                book, raw = await self._read(("book", sid, n), lambda: self.q.book(gw, sid, n))
                self.market.watch(sid)
                return Reply(shapes.depth(book.ts // NS_PER_MS, book.bids, book.asks, limit), raw)
            self.market.watch(sid)
            b = await self.market.wait_book(sid, limit, BOOK_WAIT)
            if b is None:
                raise FmzError(f"{self.label}: no verified book for {symbol} yet; retry shortly")
        return Reply(shapes.depth(b.ts // NS_PER_MS, b.bids, b.asks, limit))

    async def trades(self, symbol: FmzSymbol, limit: int) -> Reply:
        self._need("trades", "trades")
        sid = self._id(symbol)
        gw = await self._public()
        n = min(limit, 500)
        ticks, raw = await self._read(("trades", sid, n), lambda: self.q.trades(gw, sid, n))
        return Reply(shapes.trades(ticks), raw)

    async def records(self, symbol: FmzSymbol, period_min: int, limit: int) -> Reply:
        self._need("candles", "records")
        sid = self._id(symbol)
        gw = await self._public()
        native = self.q.bar_minutes

        def candles(minutes: int, count: int) -> Awaitable[list[Any]]:
            key = ("candles", sid, minutes, count)
            return self._read(key, lambda: self.q.candles(gw, sid, minutes, count))

        if period_min in native:
            rows = await candles(period_min, limit)
            return Reply([[ts // 1000, o, h, lo, c, v] for ts, o, h, lo, c, v in rows])
        src = best_source(period_min, native)
        want = max(min(source_count(period_min, src, limit), MAX_SOURCE_CANDLES),
                   period_min // src)  # fmt: skip
        rows = await candles(src, want)
        out = aggregate(rows, period_min, complete_only=len(rows) >= want)
        return Reply(out[-limit:])

    async def markets(self) -> Reply:
        gw = await self._public()
        if time.monotonic() - self._markets_at > self.markets_ttl:
            if self._markets_at > float("-inf"):
                await self._read(("reload",), lambda: self.conv.reload_instruments(gw))
            self._markets_at = time.monotonic()
            self._learn(gw)
        insts = self._insts
        out = {}
        for sid, inst in insts.items():
            name = self.conv.fmz_symbol(sid, inst)
            out[name] = shapes.market(inst, name)
        return Reply(out)

    async def tickers(self, contract: str | None) -> Reply:
        self._need("tickers", "tickers")
        gw = await self._public()
        rows, _ = await self._read(("tickers", contract), lambda: self.q.tickers(gw, contract))
        return Reply([shapes.ticker(t, self._fmz(t.symbol)) for t in rows])

    async def fundings(self, symbol: FmzSymbol | None) -> Reply:
        self._need("funding", "fundings")
        gw = await self._public()
        if symbol is not None and symbol.base:
            sid = self._id(symbol)
            f, raw = await self._read(("funding", sid), lambda: self.q.funding(gw, sid))
            return Reply([shapes.funding(f, self._fmz(sid))], [raw])
        quote = symbol.quote if symbol is not None else ""
        ids = [s for s, i in self._insts.items()
               if i.kind is InstrumentKind.SWAP and (not quote or i.quote == quote)]  # fmt: skip
        got = await asyncio.gather(*(self.q.funding(gw, s) for s in ids[:MAX_FUNDINGS]))
        return Reply([shapes.funding(f, self._fmz(f.symbol)) for f, _ in got],
                     [raw for _, raw in got])  # fmt: skip

    # -- private --------------------------------------------------------------------------------
    async def accounts(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply:
        """The balances of the wallet ``scope`` trades from (``Conventions.wallet``; None:
        the main wallet), each wallet cached on its own."""
        wallet = self.conv.wallet(scope) if scope is not None else ""
        kg = await self._key(creds)
        cached: tuple[list[Balance], Any] | None = kg.cached(wallet) if self.live_account else None
        if cached is None:
            epoch = kg.epoch
            cached = await self._read(("balances", kg, kg.writes, epoch, wallet),
                                      lambda: self._balances(kg, wallet))  # fmt: skip
            kg.store(epoch, cached, wallet)
        balances, raw = cached
        return Reply([shapes.balance(b) for b in balances], raw)

    async def _balances(self, kg: KeyedGateway, wallet: str) -> tuple[list[Balance], Any]:
        if not wallet and self.q.has("balances"):
            return await self.q.balances(kg.gw)
        if wallet and self.q.has("wallet_balances"):
            return await self.q.wallet_balances(kg.gw, wallet)
        ups = await kg.gw.fetch_balances()
        return [shapes.balance_of(u) for u in ups if u.wallet == wallet], None

    async def assets(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply:
        return await self.accounts(creds, scope)

    async def positions(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid = self._id(symbol) if symbol is not None and symbol.base else None
        raw: Any = None
        if self.q.has("positions"):
            infos, raw = await self._read(("positions", kg, kg.writes, sid),
                                          lambda: self.q.positions(kg.gw, sid))  # fmt: skip
        else:
            ups = await kg.gw.fetch_positions()
            infos = [PositionInfo(u.symbol, u.qty, u.avg_price, u.unrealized_pnl) for u in ups]
        out = []
        for p in infos:
            name = self._fmz(p.symbol)
            if p.qty == 0 or (sid is not None and p.symbol != sid):
                continue
            if symbol is not None and not symbol.base and not _in_range(name, symbol):
                continue
            out.append(shapes.position(self._whole_lots(p), name))
        return Reply(out, raw)

    def _whole_lots(self, p: PositionInfo) -> PositionInfo:
        """Sizes snapped to the instrument's lot: a venue's float arithmetic can report
        ``0.5000000000000001`` contracts, which no docker should have to round."""
        inst = self._insts.get(p.symbol)
        if inst is None:
            return p
        qty = math.copysign(float(inst.qty_decimal(abs(p.qty))), p.qty)
        return replace(p, qty=qty, frozen=float(inst.qty_decimal(p.frozen)) if p.frozen else 0.0)

    async def set_margin_level(self, creds: Credentials, symbol: FmzSymbol, level: int) -> Reply:
        if symbol.is_spot:
            raise FmzError("setmarginlevel needs a contract symbol such as BTC_USDT.swap")
        self._need("set_leverage", "setmarginlevel")
        kg = await self._key(creds)
        with kg.writing():
            raw = await self.q.set_leverage(kg.gw, self._id(symbol), level)
        return Reply(True, raw)

    async def api(
        self, creds: Credentials, http_method: str, path: str, params: Mapping[str, Any]
    ) -> Reply:
        if not creds.present:
            gw = await self._public()
            return Reply(await self.conv.api(gw, http_method, path, params, False))
        kg = await self._key(creds)
        if http_method == "GET":
            return Reply(await self.conv.api(kg.gw, http_method, path, params, True))
        with kg.writing():
            return Reply(await self.conv.api(kg.gw, http_method, path, params, True))


def _in_range(fmz_symbol: str, rng: FmzSymbol) -> bool:
    """``USDT.swap`` (any base): same quote, and swaps only / dated futures only."""
    pair, _, contract = fmz_symbol.partition(".")
    if not pair.endswith("_" + rng.quote):
        return False
    if rng.contract == "swap":
        return contract == "swap"
    if rng.contract in ("futures", "future"):
        return contract not in ("", "swap")
    return True


__all__ = ["FMZ_RETRY", "GatewayVenue"]


def create_venue(label: str, spec: VenueSpec) -> FmzVenue:
    """The adapter for ``spec.kind``: a registered factory, else the generic
    :class:`~tradeloop.fmz.adapter.GatewayVenue` over the registry venue whose ``fmz_label``
    is ``kind``, with that venue's conventions."""
    kind = spec.kind.upper()
    factory = factories().get(kind)
    if factory is not None:
        venue = factory(label, spec)
    else:
        reg = registry.fmz_labels().get(kind)
        conv = conventions_for(reg.name) if reg is not None else None
        if reg is None or conv is None:
            raise FmzError(f"unknown venue kind {spec.kind!r} (known: {', '.join(known_kinds())})")
        venue = GatewayVenue(label, spec, reg, conv)
    venue.label = label
    return venue
