"""OKX v5 behind the FMZ protocol, through tradeloop's OKX connector (``OkxRestClient``).

Shared per label (so per venue + base URL): one pooled aiohttp session, one keyless client for
public data, a markets cache with a TTL, request coalescing for reads, and live books/tickers
over the public WebSocket (:mod:`tradeloop.fmz.venues.okx_live`). Per docker key: one
``OkxRestClient`` (its own rate-limit buckets, since OKX limits private calls per account),
created on first use and reused. The passphrase travels packed in the secret:
``secret,passphrase[,simulate]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp

from tradeloop.core.errors import VenueError
from tradeloop.fmz.bars import aggregate, best_source, source_count
from tradeloop.fmz.cache import SingleFlight, TtlCache
from tradeloop.fmz.protocol import Credentials, FmzError, Reply
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import FmzVenue, OrderRequest, VenueSpec
from tradeloop.fmz.venues import okx_format as F
from tradeloop.fmz.venues.okx_account import LiveAccount
from tradeloop.model import Instrument
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.ratelimit import RateLimiter
from tradeloop.venues.retry import RetryConfig

log = logging.getLogger(__name__)

#: FMZ dockers retry on their own and have a timeout of their own: fail fast, retry once.
FMZ_RETRY = RetryConfig(max_attempts=2, base=0.1, cap=1.0)
MAX_CLIENTS = 256
MAX_PAGES = 10
CANDLE_PAGE = 300
HISTORY_PAGE = 100  # history-candles allows at most 100 rows per call
#: at most this many source candles are fetched to build one records answer
MAX_SOURCE_CANDLES = 3000


def split_secret(secret_key: str) -> tuple[str, str, bool]:
    """``secret,passphrase[,simulate]`` -> (secret, passphrase, simulated).

    OKX secrets never contain commas but a passphrase may, so only the first comma and an
    optional trailing ``,simulate`` are separators."""
    secret, _, passphrase = secret_key.partition(",")
    simulated = passphrase.lower().endswith(",simulate")
    if simulated:
        passphrase = passphrase[: -len(",simulate")]
    secret, passphrase = secret.strip(), passphrase.strip()
    if not secret or not passphrase:
        raise FmzError(
            "OKX: secret_key must be 'secret,passphrase' (append ',simulate' for demo trading)"
        )
    return secret, passphrase, simulated


def _flag(value: Any) -> bool:
    """A config switch given as a TOML bool or a string such as ``"off"``."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


class OkxFmzVenue(FmzVenue):
    """The OKX adapter. Options (``VenueSpec.options``): ``markets_ttl`` (s, default 300),
    ``td_mode`` for swaps (``cross``), ``rate_limits`` (``venue``/``off``), ``timeout`` (s),
    ``live`` (keep books and tickers over WS, default true), ``live_account`` (cache balances
    until the key's private ``account`` channel signals a change, default true)."""

    api_prefixes = ("/api/v5/",)

    def __init__(self, label: str, spec: VenueSpec) -> None:
        opts: Mapping[str, Any] = spec.options or {}
        self.label = label
        self.spec = spec
        self.rest_url = spec.rest_url.rstrip("/")
        self.td_mode = str(opts.get("td_mode", "cross"))
        self.timeout = float(opts.get("timeout", 5.0))
        self.limits_on = str(opts.get("rate_limits", "venue")) != "off"
        self.live_on = _flag(opts.get("live", True))
        self.live_account_on = _flag(opts.get("live_account", True))
        self._accounts: dict[tuple[str, str], LiveAccount] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._public: OkxRestClient | None = None
        self._clients: OrderedDict[tuple[str, str], OkxRestClient] = OrderedDict()
        self._flight = SingleFlight()
        #: per-key write counter: a read never joins an in-flight read that started before this
        #: key's latest trade/cancel, so GetAccount right after Buy sees the order's effect
        self._writes: dict[tuple[str, str], int] = {}
        self._markets = TtlCache(float(opts.get("markets_ttl", 300.0)), self._load_markets)
        self._live: Any = None  # OkxLiveData, created at start when enabled

    @classmethod
    def create(cls, label: str, spec: VenueSpec) -> OkxFmzVenue:
        return cls(label, spec)

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
        )
        self._public = self._new_client("", "", "", False)
        if self.live_on:
            from tradeloop.fmz.venues.okx_live import OkxLiveData

            self._live = OkxLiveData(self.ws_url, self._session)

    @property
    def ws_url(self) -> str:
        if self.spec.ws_url:
            return self.spec.ws_url.rstrip("/")
        if self.rest_url.startswith("https://www.okx.com"):
            return C.WS_URL
        return self.rest_url.replace("http", "ws", 1) + "/ws/v5"

    def private_ws_url(self, simulated: bool) -> str:
        if not self.spec.ws_url and simulated and self.rest_url.startswith("https://www.okx.com"):
            return C.WS_URL_DEMO
        return self.ws_url

    async def close(self) -> None:
        if self._live is not None:
            await self._live.close()
            self._live = None
        accounts, self._accounts = list(self._accounts.values()), {}
        for live in accounts:
            await live.close()
        self._clients.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _new_client(self, key: str, secret: str, passphrase: str, sim: bool) -> OkxRestClient:
        limiter = None if self.limits_on else RateLimiter({})
        return OkxRestClient(
            self.rest_url, key, secret, passphrase, sim,
            timeout=self.timeout, retry=FMZ_RETRY, limiter=limiter, session=self._session,
        )  # fmt: skip

    @property
    def public(self) -> OkxRestClient:
        if self._public is None:
            raise FmzError(f"{self.label}: venue not started")
        return self._public

    def client(self, creds: Credentials) -> OkxRestClient:
        """The docker key's client, reused across requests (LRU-bounded)."""
        k = (creds.access_key, creds.secret_key)
        c = self._clients.get(k)
        if c is not None:
            self._clients.move_to_end(k)
            return c
        secret, passphrase, sim = split_secret(creds.secret_key)
        c = self._new_client(creds.access_key, secret, passphrase, sim)
        self._clients[k] = c
        while len(self._clients) > MAX_CLIENTS:
            old, _ = self._clients.popitem(last=False)
            live = self._accounts.pop(old, None)
            if live is not None:
                task = asyncio.ensure_future(live.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        return c

    async def _read(self, key: tuple[Any, ...], coro_fn: Any) -> Any:
        """Coalesce identical concurrent reads into one upstream call."""
        return await self._flight.do(key, coro_fn)

    def _private_key(self, creds: Credentials, *parts: Any) -> tuple[Any, ...]:
        k = (creds.access_key, creds.secret_key)
        return (*parts, k, self._writes.get(k, 0))

    @contextlib.contextmanager
    def _writing(self, creds: Credentials) -> Iterator[None]:
        """Around every write: reads issued during or after it start fresh upstream calls, and
        the key's cached balance is dropped."""
        k = (creds.access_key, creds.secret_key)
        self._writes[k] = self._writes.get(k, 0) + 1
        if len(self._writes) > 4 * MAX_CLIENTS:
            self._writes.clear()
        live = self._accounts.get(k)
        if live is not None:
            live.write_started()
        try:
            yield
        finally:
            self._writes[k] = self._writes.get(k, 0) + 1
            if live is not None:
                live.write_done()

    # -- markets ------------------------------------------------------------------------------
    async def _load_markets(self) -> dict[str, tuple[Instrument, dict[str, Any]]]:
        spot, swap = await asyncio.gather(
            self.public.instruments("SPOT"), self.public.instruments("SWAP")
        )
        out: dict[str, tuple[Instrument, dict[str, Any]]] = {}
        for d in [*spot, *swap]:
            try:
                inst = F.instrument(d)
            except (ValueError, TypeError):
                continue
            out[inst.symbol] = (inst, d)
        return out

    async def instrument(self, inst: str) -> Instrument:
        markets = await self._markets.get()
        hit = markets.get(inst)
        if hit is None:  # maybe listed since the last load: look again if the cache is older
            markets = await self._markets.get(max_age=10.0)
            hit = markets.get(inst)
        if hit is None:
            raise FmzError(f"{self.label}: unknown instrument {inst}")
        return hit[0]

    async def markets(self) -> Reply:
        m = await self._markets.get()
        return Reply({F.fmz_symbol(k): F.market(d, inst) for k, (inst, d) in m.items()})

    # -- public data --------------------------------------------------------------------------
    async def ticker(self, symbol: FmzSymbol) -> Reply:
        inst = F.inst_id(symbol)
        if self._live is not None:
            live = self._live.ticker(inst)
            if live is not None:  # a tickers push has the REST ticker's fields: same raw
                return Reply(F.ticker(live), live)
        t = await self._read(("ticker", inst), lambda: self.public.ticker(inst))
        if self._live is not None:
            self._live.watch(inst)
        return Reply(F.ticker(t), t)

    async def depth(self, symbol: FmzSymbol, limit: int) -> Reply:
        inst = F.inst_id(symbol)
        if self._live is not None:
            book = self._live.book(inst, limit)
            if book is not None:
                return Reply(book)
        sz = min(max(limit, 1), 400)
        b = await self._read(("books", inst, sz), lambda: self.public.books(inst, sz))
        if self._live is not None:
            self._live.watch(inst)
        return Reply(F.depth(b, limit), b)

    async def trades(self, symbol: FmzSymbol, limit: int) -> Reply:
        inst = F.inst_id(symbol)
        n = min(limit, 500)
        rows = await self._read(("trades", inst, n), lambda: self.public.trades(inst, n))
        return Reply(F.trades(rows), rows)

    async def records(self, symbol: FmzSymbol, period_min: int, limit: int) -> Reply:
        inst = F.inst_id(symbol)
        if period_min in F.NATIVE_BARS:
            rows = await self._candles(inst, F.NATIVE_BARS[period_min], limit)
            return Reply([[ts // 1000, o, h, lo, c, v] for ts, o, h, lo, c, v in rows])
        src = best_source(period_min, F.NATIVE_BARS)
        want = min(source_count(period_min, src, limit), MAX_SOURCE_CANDLES)
        if want < period_min // src:
            want = period_min // src
        rows = await self._candles(inst, F.NATIVE_BARS[src], want)
        out = aggregate(rows, period_min, complete_only=len(rows) >= want)
        return Reply(out[-limit:])

    async def _candles(
        self, inst: str, bar: str, count: int
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Newest ``count`` candles, ascending, paging back with ``after`` (bounded). OKX's
        ``candles`` keeps only the latest 1440 rows; older pages come from ``history-candles``."""
        got: list[tuple[int, float, float, float, float, float]] = []
        after: int | None = None
        history = False
        for _ in range(MAX_PAGES):
            n = min(HISTORY_PAGE if history else CANDLE_PAGE, count - len(got))
            if n <= 0:
                break
            fetch = self.public.history_candles if history else self.public.candles
            key = ("candles", inst, bar, after, n, history)
            raw = await self._read(
                key, lambda f=fetch, a=after, n=n: f(inst, bar, after=a, limit=n)
            )
            page = F.candles(raw)
            if not page:
                if history or after is None:
                    break
                history = True  # the recent window is exhausted: continue in the archive
                continue
            got = page + got
            after = page[0][0]
        return got[-count:] if count else got

    async def tickers(self, contract: str | None) -> Reply:
        types = ["SPOT", "SWAP"] if contract is None else ["SPOT" if contract == "spot" else "SWAP"]
        lists = await asyncio.gather(
            *(self._read(("tickers", t), lambda t=t: self.public.tickers(t)) for t in types)
        )
        return Reply([F.ticker(t) for rows in lists for t in rows])

    async def fundings(self, symbol: FmzSymbol | None) -> Reply:
        if symbol is not None and symbol.base:
            inst = F.inst_id(symbol)
            d = await self._read(("funding", inst), lambda: self.public.funding_rate(inst))
            return Reply([F.funding(d)], [d])
        markets = await self._markets.get()
        quote = symbol.quote if symbol is not None else ""
        insts = [k for k in markets if k.endswith("-SWAP") and (not quote or f"-{quote}-" in k)]
        rows = await asyncio.gather(*(self.public.funding_rate(i) for i in insts[:50]))
        return Reply([F.funding(d) for d in rows], list(rows))

    # -- private ------------------------------------------------------------------------------
    async def accounts(self, creds: Credentials) -> Reply:
        c = self.client(creds)
        k = (creds.access_key, creds.secret_key)
        live = self._accounts.get(k)
        if live is not None:
            cached = live.cached()
            if cached is not None:
                return Reply(F.balances(cached), cached)
        epoch = live.epoch if live is not None else -1
        data = await self._read(self._private_key(creds, "balance", epoch), c.balance)
        if live is not None:
            live.store(epoch, data)
        elif self.live_account_on and c.credentials is not None and self._session is not None:
            # the key works (the call succeeded): watch its account for changes from now on
            live = LiveAccount(self.private_ws_url(c.simulated), c.credentials, self._session)
            self._accounts[k] = live
            live.start()
        return Reply(F.balances(data), data)

    async def assets(self, creds: Credentials) -> Reply:
        return await self.accounts(creds)

    async def trade(self, creds: Credentials, order: OrderRequest) -> Reply:
        c = self.client(creds)
        inst = F.inst_id(order.symbol)
        ins = await self.instrument(inst)
        side = {"buy": "buy", "sell": "sell", "closebuy": "sell", "closesell": "buy"}[order.side]
        px: str | None = None
        tgt: str | None = None
        reduce: bool | None = None
        if order.price is None:
            ord_type = "market"
            if order.symbol.is_spot and side == "buy":
                sz = ins.format_quote(order.amount)
                tgt = "quote_ccy"
            else:
                sz = ins.format_qty(order.amount)
                tgt = "base_ccy" if order.symbol.is_spot else None
        else:
            ord_type = "limit"
            px = ins.format_price(order.price)
            if px == "0":
                raise FmzError(f"price {order.price} rounds to 0 at tick {ins.tick_size:g}")
            sz = ins.format_qty(order.amount)
        if sz == "0":
            raise FmzError(f"amount {order.amount} rounds to 0 at lot size {ins.lot_size:g}")
        if order.side.startswith("close"):
            reduce = True
        td_mode = "cash" if order.symbol.is_spot else self.td_mode
        with self._writing(creds):
            res = await c.place_order(
                inst, side, ord_type, sz, px, td_mode=td_mode, tgt_ccy=tgt, reduce_only=reduce
            )
        ord_id = str(res.get("ordId", ""))
        if not ord_id:
            raise VenueError(f"OKX accepted the order but returned no ordId: {res}")
        return Reply({"id": F.order_id(inst, ord_id)}, res)

    async def orders(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        c = self.client(creds)
        if symbol is not None:
            inst = F.inst_id(symbol)
            rows = await self._paged(c, C.ORDERS_PENDING, {"instType": F.inst_type(inst),
                                                           "instId": inst})  # fmt: skip
        else:
            parts = await asyncio.gather(
                *(self._paged(c, C.ORDERS_PENDING, {"instType": t}) for t in ("SPOT", "SWAP"))
            )
            rows = [r for p in parts for r in p]
        return Reply([F.order(o) for o in rows], rows)

    async def _paged(
        self, c: OkxRestClient, path: str, params: dict[str, Any], limit: int = 10**9
    ) -> list[dict[str, Any]]:
        """Follow OKX's ``after`` (older than ordId) pagination, bounded to MAX_PAGES."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            q = {**params, "limit": min(100, limit - len(out))}
            if after:
                q["after"] = after
            page = await c.request("GET", path, q, True)
            if not isinstance(page, list):
                break
            out.extend(p for p in page if isinstance(p, dict))
            if len(page) < q["limit"] or len(out) >= limit or not page:
                break
            after = str(page[-1].get("ordId", ""))
        return out

    async def order(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        c = self.client(creds)
        inst, oid = F.split_order_id(order_id, symbol)
        o = await c.get_order(inst, oid)
        return Reply(F.order(o), o)

    async def history_orders(
        self, creds: Credentials, symbol: FmzSymbol | None, since_ms: int, limit: int
    ) -> Reply:
        c = self.client(creds)
        if symbol is not None:
            inst = F.inst_id(symbol)
            queries: list[dict[str, Any]] = [{"instType": F.inst_type(inst), "instId": inst}]
        else:
            queries = [{"instType": "SPOT"}, {"instType": "SWAP"}]
        for q in queries:
            if since_ms:
                q["begin"] = since_ms
        parts = await asyncio.gather(*(self._paged(c, C.ORDERS_HISTORY, q, limit) for q in queries))
        rows = [r for p in parts for r in p]
        out = sorted((F.order(o) for o in rows), key=lambda o: o["time"])[-limit:]
        return Reply(out, rows)

    async def cancel(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        c = self.client(creds)
        inst, oid = F.split_order_id(order_id, symbol)
        with self._writing(creds):
            res = await c.cancel_order(inst, oid)
        return Reply(True, res)

    async def positions(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        c = self.client(creds)
        inst = F.inst_id(symbol) if symbol is not None and symbol.base else None
        inst_type = F.inst_type(inst) if inst else "SWAP"
        rows = await self._read(
            self._private_key(creds, "positions", inst_type, inst),
            lambda: c.positions(inst_type, inst),
        )
        out = []
        for p in rows:
            pos = F.position(p)
            if pos is None:
                continue
            if symbol is not None and not symbol.base and f"_{symbol.quote}." not in pos["symbol"]:
                continue
            out.append(pos)
        return Reply(out, rows)

    async def set_margin_level(self, creds: Credentials, symbol: FmzSymbol, level: int) -> Reply:
        if symbol.is_spot:
            raise FmzError("setmarginlevel needs a contract symbol such as BTC_USDT.swap")
        c = self.client(creds)
        with self._writing(creds):
            res = await c.set_leverage(level, self.td_mode, inst_id=F.inst_id(symbol))
        return Reply(True, res)

    async def api(
        self, creds: Credentials, http_method: str, path: str, params: Mapping[str, Any]
    ) -> Reply:
        c = self.client(creds) if creds.present else self.public
        if http_method != "GET" and creds.present:
            with self._writing(creds):
                data = await c.request(http_method, path, dict(params), creds.present)
        else:
            data = await c.request(http_method, path, dict(params), creds.present)
        # The guide: data is the endpoint's whole reply (OKX envelope with code 0 here).
        return Reply({"code": "0", "data": data, "msg": ""})
