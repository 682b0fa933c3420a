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
  awaiting the report that answers the docker.

What the contract lacks (24 h statistics, public trades, candles, one order by venue id,
history, leverage, FMZ's extra position and balance fields ...) comes from the venue's
:class:`~tradeloop.fmz.conventions.Queries` when it has them, and is otherwise answered from
what the contract gives or refused as unsupported (docs/fmz.md, "Gateway gaps").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar
from uuid import uuid4

import aiohttp

from tradeloop.fmz import shapes
from tradeloop.fmz.bars import aggregate, best_source, source_count
from tradeloop.fmz.cache import SingleFlight
from tradeloop.fmz.conventions import (
    Balance,
    Conventions,
    OrderInfo,
    PositionInfo,
    Ticker,
    Transport,
)
from tradeloop.fmz.keyed import KeyedGateway, KeyPool
from tradeloop.fmz.market import LiveMarket
from tradeloop.fmz.protocol import Credentials, FmzError, Reply
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import FmzVenue, OrderRequest, VenueSpec
from tradeloop.model import (
    NS_PER_MS,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
)
from tradeloop.model.identity import native_of
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
#: an unknown instrument triggers at most one instrument reload per this many seconds
RELOAD_EVERY = 10.0
MAX_FUNDINGS = 50
_SIDES = {"buy": Side.BUY, "sell": Side.SELL, "closebuy": Side.SELL, "closesell": Side.BUY}


def _flag(value: Any) -> bool:
    """A config switch given as a TOML bool or a string such as ``"off"``."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


class GatewayVenue(FmzVenue):
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
        self._markets_at = float("-inf")
        self._reloaded_at = float("-inf")
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

    # -- naming -------------------------------------------------------------------------------
    def _fmz(self, symbol_id: str, insts: Mapping[str, Instrument] | None = None) -> str:
        if insts is None:
            gw = self.market.started
            insts = gw.instruments() if gw is not None else {}
        return self.conv.fmz_symbol(symbol_id, insts.get(symbol_id))

    def _need(self, query: str, method: str) -> None:
        if not self.q.has(query):
            raise FmzError(f"{self.label}: {method} is not supported (the {self.venue.name} "
                           f"gateway has no such query)")  # fmt: skip

    async def _instrument(self, gw: Gateway, symbol_id: str, since: float) -> Instrument | None:
        """``symbol_id`` among ``gw``'s instruments, reloading them once if the last reload is
        older than :data:`RELOAD_EVERY` (a listing since start)."""
        inst = gw.instruments().get(symbol_id)
        stale = time.monotonic() - since > RELOAD_EVERY
        if inst is None and stale and await self.conv.reload_instruments(gw):
            inst = gw.instruments().get(symbol_id)
        return inst

    # -- public market data ---------------------------------------------------------------------
    async def ticker(self, symbol: FmzSymbol) -> Reply:
        sid = self.conv.instrument_id(symbol)
        live = self._live_ticker(sid)
        if live is not None:
            return live
        gw = await self.market.gateway()
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
            if has_rest and time.monotonic() - at > self.stats_ttl:
                self._spawn(self._refresh_stats(sid))
            last = lt.price if lt is not None else base.last
            high = max(base.high, last) if base.high else last
            low = min(base.low, last) if base.low else last
            t = Ticker(sid, q.bid, q.ask, last, high, low, base.open, base.volume, now_ms)
        return Reply(shapes.ticker(t, self._fmz(sid)), raw)

    async def _refresh_stats(self, sid: str) -> None:
        gw = await self.market.gateway()
        t, raw = await self._read(("ticker", sid), lambda: self.q.ticker(gw, sid))
        self._stats[sid] = (time.monotonic(), t, raw)

    async def depth(self, symbol: FmzSymbol, limit: int) -> Reply:
        sid = self.conv.instrument_id(symbol)
        b = self.market.book(sid, limit)
        if b is None:
            gw = await self.market.gateway()
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
        sid = self.conv.instrument_id(symbol)
        gw = await self.market.gateway()
        n = min(limit, 500)
        ticks, raw = await self._read(("trades", sid, n), lambda: self.q.trades(gw, sid, n))
        return Reply(shapes.trades(ticks), raw)

    async def records(self, symbol: FmzSymbol, period_min: int, limit: int) -> Reply:
        self._need("candles", "records")
        sid = self.conv.instrument_id(symbol)
        gw = await self.market.gateway()
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
        gw = await self.market.gateway()
        if time.monotonic() - self._markets_at > self.markets_ttl:
            if self._markets_at > float("-inf"):
                await self._read(("reload",), lambda: self.conv.reload_instruments(gw))
            self._markets_at = time.monotonic()
        insts = gw.instruments()
        out = {}
        for sid, inst in insts.items():
            name = self.conv.fmz_symbol(sid, inst)
            out[name] = shapes.market(inst, name)
        return Reply(out)

    async def tickers(self, contract: str | None) -> Reply:
        self._need("tickers", "tickers")
        gw = await self.market.gateway()
        rows, _ = await self._read(("tickers", contract), lambda: self.q.tickers(gw, contract))
        insts = gw.instruments()
        return Reply([shapes.ticker(t, self._fmz(t.symbol, insts)) for t in rows])

    async def fundings(self, symbol: FmzSymbol | None) -> Reply:
        self._need("funding", "fundings")
        gw = await self.market.gateway()
        if symbol is not None and symbol.base:
            sid = self.conv.instrument_id(symbol)
            f, raw = await self._read(("funding", sid), lambda: self.q.funding(gw, sid))
            return Reply([shapes.funding(f, self._fmz(sid))], [raw])
        quote = symbol.quote if symbol is not None else ""
        insts = gw.instruments()
        ids = [s for s, i in insts.items()
               if i.kind is InstrumentKind.SWAP and (not quote or i.quote == quote)]  # fmt: skip
        got = await asyncio.gather(*(self.q.funding(gw, s) for s in ids[:MAX_FUNDINGS]))
        return Reply([shapes.funding(f, self._fmz(f.symbol, insts)) for f, _ in got],
                     [raw for _, raw in got])  # fmt: skip

    # -- private --------------------------------------------------------------------------------
    async def _key(self, creds: Credentials) -> KeyedGateway:
        return await self.keys.get(creds)

    async def accounts(self, creds: Credentials) -> Reply:
        kg = await self._key(creds)
        cached: tuple[list[Balance], Any] | None = kg.cached() if self.live_account else None
        if cached is None:
            epoch = kg.epoch
            cached = await self._read(("balances", kg, kg.writes, epoch),
                                      lambda: self._balances(kg))  # fmt: skip
            kg.store(epoch, cached)
        balances, raw = cached
        return Reply([shapes.balance(b) for b in balances], raw)

    async def _balances(self, kg: KeyedGateway) -> tuple[list[Balance], Any]:
        if self.q.has("balances"):
            return await self.q.balances(kg.gw)
        return [shapes.balance_of(u) for u in await kg.gw.fetch_balances()], None

    async def assets(self, creds: Credentials) -> Reply:
        return await self.accounts(creds)

    async def positions(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid = self.conv.instrument_id(symbol) if symbol is not None and symbol.base else None
        raw: Any = None
        if self.q.has("positions"):
            infos, raw = await self._read(("positions", kg, kg.writes, sid),
                                          lambda: self.q.positions(kg.gw, sid))  # fmt: skip
        else:
            ups = await kg.gw.fetch_positions()
            infos = [PositionInfo(u.symbol, u.qty, u.avg_price, u.unrealized_pnl) for u in ups]
        out = []
        for p in infos:
            name = self._fmz(p.symbol, kg.gw.instruments())
            if p.qty == 0 or (sid is not None and p.symbol != sid):
                continue
            if symbol is not None and not symbol.base and not _in_range(name, symbol):
                continue
            out.append(shapes.position(p, name))
        return Reply(out, raw)

    async def set_margin_level(self, creds: Credentials, symbol: FmzSymbol, level: int) -> Reply:
        if symbol.is_spot:
            raise FmzError("setmarginlevel needs a contract symbol such as BTC_USDT.swap")
        self._need("set_leverage", "setmarginlevel")
        kg = await self._key(creds)
        with kg.writing():
            raw = await self.q.set_leverage(kg.gw, self.conv.instrument_id(symbol), level)
        return Reply(True, raw)

    async def trade(self, creds: Credentials, order: OrderRequest) -> Reply:
        kg = await self._key(creds)
        sid = self.conv.instrument_id(order.symbol)
        inst = await self._instrument(kg.gw, sid, kg.reloaded_at)
        if inst is None:
            kg.reloaded_at = time.monotonic()
            raise FmzError(f"{self.label}: unknown instrument {native_of(sid)}")
        o = _order(order, sid, inst)
        with kg.writing():
            report = await kg.place(o)
        if report.status is OrderStatus.REJECTED or not report.venue_order_id:
            code = f" [{report.code.value}]" if report.code is not RejectReason.NONE else ""
            raise FmzError(f"{self.label}: order rejected{code}: {report.reason or 'no reason'}")
        return Reply({"id": self.conv.order_id(sid, report.venue_order_id)})

    async def orders(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid = self.conv.instrument_id(symbol) if symbol is not None else None
        if self.q.has("open_orders"):
            infos, raw = await self.q.open_orders(kg.gw, sid)
        else:
            reports = await kg.gw.fetch_open_orders()
            infos = [_info(r, kg.watch.get(r.client_order_id)) for r in reports]
            raw = None
        return Reply([self._order(i, kg) for i in infos if sid is None or i.symbol == sid], raw)

    def _order(self, info: OrderInfo, kg: KeyedGateway) -> dict[str, Any]:
        name = self._fmz(info.symbol, kg.gw.instruments())
        return shapes.order(info, self.conv.order_id(info.symbol, info.venue_order_id), name)

    def _split(self, order_id: str, symbol: FmzSymbol | None) -> tuple[str, str]:
        fallback = self.conv.instrument_id(symbol) if symbol is not None else None
        return self.conv.split_order_id(order_id, fallback)

    async def order(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid, vid = self._split(order_id, symbol)
        if self.q.has("order"):
            info, raw = await self.q.order(kg.gw, sid, vid)
            return Reply(self._order(info, kg), raw)
        info = await self._known_order(kg, sid, vid)
        return Reply(self._order(info, kg))

    async def _known_order(self, kg: KeyedGateway, sid: str, vid: str) -> OrderInfo:
        """Contract-only lookup: an order this bridge placed, else an open one."""
        mine = kg.watch.by_venue_id(vid)
        if mine is not None:
            return _info(None, mine)
        for r in await kg.gw.fetch_open_orders():
            if r.venue_order_id == vid and r.symbol == sid:
                return _info(r, kg.watch.get(r.client_order_id))
        raise FmzError(f"{self.label}: order {vid} not found (this venue's gateway can only "
                       "look up open orders and those placed through the bridge)")  # fmt: skip

    async def history_orders(
        self, creds: Credentials, symbol: FmzSymbol | None, since_ms: int, limit: int
    ) -> Reply:
        kg = await self._key(creds)
        sid = self.conv.instrument_id(symbol) if symbol is not None else None
        raw: Any = None
        if self.q.has("history_orders"):
            infos, raw = await self.q.history_orders(kg.gw, sid, since_ms, limit)
        else:  # what this bridge placed since it started (the contract has no history)
            infos = [_info(None, o) for o in kg.watch.orders() if o.is_terminal]
        rows = [i for i in infos if (sid is None or i.symbol == sid) and i.time_ms >= since_ms]
        rows.sort(key=lambda i: i.time_ms)
        return Reply([self._order(i, kg) for i in rows[-limit:]], raw)

    async def cancel(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid, vid = self._split(order_id, symbol)
        o = kg.watch.by_venue_id(vid)
        if o is None:
            found = await self._adoptable(kg, sid, vid)
            if isinstance(found, Reply):
                return found
            o = found
        if o.is_terminal:
            raise FmzError(f"{self.label}: order {order_id[:60]} is already "
                           f"{shapes.status(o.status, o.filled_qty)}")  # fmt: skip
        with kg.writing():
            report = await kg.cancel(o)
        if report.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            return Reply(True)
        if report.status.is_terminal:
            raise FmzError(f"{self.label}: order {order_id[:60]} is already "
                           f"{shapes.status(report.status, report.filled_qty)}")  # fmt: skip
        raise FmzError(f"{self.label}: {report.reason or 'cancel failed'}")

    async def _adoptable(self, kg: KeyedGateway, sid: str, vid: str) -> Order | Reply:
        """An order the bridge did not place (another session, a restart) as an Order the
        gateway can adopt by its client id; one without a client id is canceled by venue id
        (a Reply)."""
        if self.q.has("order"):
            info, _ = await self.q.order(kg.gw, sid, vid)
        else:
            info = await self._known_order(kg, sid, vid)
        if not info.client_order_id and not info.status.is_terminal:
            self._need("cancel", "cancel of an order without a client id")
            with kg.writing():
                raw = await self.q.cancel(kg.gw, sid, vid)
            return Reply(True, raw)
        o = Order(
            info.client_order_id, sid, info.side or Side.BUY, info.amount,
            OrderType.MARKET if info.price is None else OrderType.LIMIT, info.price or 0.0,
            status=OrderStatus.ACCEPTED if not info.status.is_terminal else info.status,
            venue_order_id=vid, filled_qty=info.filled, avg_price=info.avg_price,
            ts_created=info.time_ms * NS_PER_MS,
        )  # fmt: skip
        if not o.is_terminal:
            kg.watch.add(o)
        return o

    async def api(
        self, creds: Credentials, http_method: str, path: str, params: Mapping[str, Any]
    ) -> Reply:
        if not creds.present:
            gw = await self.market.gateway()
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


def _order(req: OrderRequest, sid: str, inst: Instrument) -> Order:
    """The tradeloop order for a ``trade`` call, refusing sizes and prices that round to 0 at
    the instrument's lot/tick (what goes upstream is ``Instrument.format_*`` of these)."""
    side = _SIDES[req.side]
    spot = inst.kind is InstrumentKind.SPOT
    quote_sized = req.price is None and spot and side is Side.BUY
    size = inst.format_quote(req.amount) if quote_sized else inst.format_qty(req.amount)
    if size == "0":
        step = inst.quote_step if quote_sized else inst.lot_size
        raise FmzError(f"amount {req.amount} rounds to 0 at lot size {step:g}")
    if req.price is not None and inst.format_price(req.price) == "0":
        raise FmzError(f"price {req.price} rounds to 0 at tick {inst.tick_size:g}")
    amount = float(Decimal(size))
    return Order(
        client_order_id="fmz" + uuid4().hex[:29],
        symbol=sid,
        side=side,
        qty=0.0 if quote_sized else amount,
        quote_qty=amount if quote_sized else 0.0,
        order_type=OrderType.MARKET if req.price is None else OrderType.LIMIT,
        price=0.0 if req.price is None else float(req.price),
        reduce_only=req.side.startswith("close"),
        ts_created=time.time_ns(),
    )


def _info(report: OrderReport | None, order: Order | None) -> OrderInfo:
    """What the contract says about an order (its report) completed by what the bridge knows
    (the order it placed): side, size, price and creation time exist only in the latter."""
    if order is None:
        assert report is not None
        return OrderInfo(report.symbol, report.venue_order_id, report.client_order_id, None,
                         0.0, 0.0, report.status, report.filled_qty, report.avg_price,
                         report.ts // NS_PER_MS)  # fmt: skip
    market = order.order_type is OrderType.MARKET
    status = report.status if report is not None else order.status
    filled = max(order.filled_qty, report.filled_qty if report is not None else 0.0)
    return OrderInfo(
        order.symbol, order.venue_order_id, order.client_order_id, order.side,
        order.quote_qty or order.qty, None if market else order.price, status, filled,
        (report.avg_price if report is not None else 0.0) or order.avg_price,
        order.ts_created // NS_PER_MS, order.reduce_only,
    )  # fmt: skip


__all__ = ["FMZ_RETRY", "GatewayVenue"]
