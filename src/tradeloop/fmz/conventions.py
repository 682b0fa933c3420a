"""What a venue tells the generic FMZ adapter, and the reads the Gateway contract lacks.

The adapter (:mod:`.adapter`) serves every FMZ method through the venue's
:class:`~tradeloop.venues.base.Gateway`, built from :mod:`tradeloop.venues.registry` — the
bridge's labels are the registry's ``fmz_label`` s. What the adapter cannot know is how FMZ
names things on this venue. That is a :class:`Conventions` object, one small class per venue:

* FMZ symbol <-> instrument id (``BTC_USDT.swap`` <-> ``BTC-USDT-SWAP.OKX``);
* how the docker's two key fields become the gateway's credentials (OKX packs its passphrase
  into the secret: ``secret,passphrase[,simulate]``);
* the ``__api_`` prefix and the passthrough itself, signed by the venue's own REST client;
* transport knobs for building the gateway (the bridge's shared HTTP session, fail-fast retry).

:class:`Queries` holds what FMZ needs and the Gateway contract does not offer yet: 24 h ticker
statistics, a REST book, public trades, candles, funding, one order by venue id, order history,
leverage, and positions/balances with the fields FMZ shows (leverage, margin, frozen amounts).
Every method is optional; without it the adapter falls back to what the contract gives (or says
the method is unsupported). Each one is a gap in the contract, listed in docs/fmz.md, and is
meant to move into the gateways when the contract grows.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from tradeloop.fmz.bars import Candle
from tradeloop.fmz.protocol import Credentials, FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import BookLevels, Instrument, InstrumentKind, OrderStatus, Side, TradeTick
from tradeloop.model.identity import InstrumentId, native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.retry import RetryConfig

__all__ = [
    "Balance",
    "Candle",
    "Conventions",
    "Funding",
    "OrderInfo",
    "PositionInfo",
    "Queries",
    "Ticker",
    "Transport",
    "conventions_for",
    "register_conventions",
]


# -- what the queries return (ids are instrument ids; numbers as the venue sent them) ---------
@dataclass(frozen=True, slots=True)
class Ticker:
    """A venue ticker: top of book, last trade and 24 h statistics; ``time_ms`` venue time."""

    symbol: str
    bid: float
    ask: float
    last: float
    high: float
    low: float
    open: float
    volume: float
    time_ms: int


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency as FMZ shows it: available and frozen (in orders, as margin)."""

    currency: str
    free: float
    frozen: float


@dataclass(frozen=True, slots=True)
class PositionInfo:
    """A position with the fields FMZ shows. ``qty`` is signed (contracts); 0 = unknown for
    ``leverage`` / ``margin``."""

    symbol: str
    qty: float
    avg_price: float
    upl: float = 0.0
    leverage: float = 0.0
    margin: float = 0.0
    frozen: float = 0.0


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order with the fields FMZ shows (an ``OrderReport`` lacks side, size, price, type and
    creation time). ``price`` None = market; ``amount`` as sent (the quote amount of a spot
    market buy); ``side`` None when the source does not say."""

    symbol: str
    venue_order_id: str
    client_order_id: str
    side: Side | None
    amount: float
    price: float | None
    status: OrderStatus
    filled: float
    avg_price: float
    time_ms: int
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class Funding:
    symbol: str
    rate: float
    interval_ms: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class Transport:
    """How the bridge wants gateways to talk: one pooled HTTP session per label, a short
    per-attempt timeout and one retry (dockers retry on their own), client-side rate limits on
    unless the venue is an emulator."""

    session: aiohttp.ClientSession
    timeout: float
    retry: RetryConfig
    rate_limits: bool


class Queries:
    """Venue REST reads and writes the Gateway contract lacks (see the module docstring).

    Each returns ``(value, raw)`` where ``raw`` is the venue's own JSON (the FMZ reply's
    ``raw``). ``gw`` is the label's keyless gateway for public reads and the docker key's
    gateway for private ones; implementations reach the venue's REST client through it."""

    #: candle sizes (minutes) :meth:`candles` serves natively; ``records`` of other periods are
    #: built from the largest one that divides them (so 1 must be present when non-empty)
    bar_minutes: tuple[int, ...] = ()

    def has(self, name: str) -> bool:
        """Whether this venue implements query ``name`` (overrides the default)."""
        return getattr(type(self), name, None) is not getattr(Queries, name, None)

    async def ticker(self, gw: Gateway, symbol: str) -> tuple[Ticker, Any]:
        raise NotImplementedError

    async def tickers(self, gw: Gateway, contract: str | None) -> tuple[list[Ticker], Any]:
        """Every listed instrument's ticker; ``contract`` ``spot`` / ``swap`` / None (all)."""
        raise NotImplementedError

    async def book(self, gw: Gateway, symbol: str, depth: int) -> tuple[BookLevels, Any]:
        """A REST snapshot, for when the gateway's live book is not (yet) verified."""
        raise NotImplementedError

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        """Recent public trades, ``ts`` = venue time (ns), any order."""
        raise NotImplementedError

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        """The newest ``count`` candles of a size in :attr:`bar_minutes`, ascending, the last
        one possibly in progress."""
        raise NotImplementedError

    async def funding(self, gw: Gateway, symbol: str) -> tuple[Funding, Any]:
        raise NotImplementedError

    async def balances(self, gw: Gateway) -> tuple[list[Balance], Any]:
        """The main (spot) wallet's balances."""
        raise NotImplementedError

    async def wallet_balances(self, gw: Gateway, wallet: str) -> tuple[list[Balance], Any]:
        """Another wallet's balances (``Conventions.wallet``, e.g. Binance's ``usdm``);
        without it the adapter answers from the gateway's balances of that wallet."""
        raise NotImplementedError

    async def positions(self, gw: Gateway, symbol: str | None) -> tuple[list[PositionInfo], Any]:
        """Derivative positions (one instrument id, or all), flat ones included or not."""
        raise NotImplementedError

    async def open_orders(self, gw: Gateway, symbol: str | None) -> tuple[list[OrderInfo], Any]:
        raise NotImplementedError

    async def order(self, gw: Gateway, symbol: str, venue_order_id: str) -> tuple[OrderInfo, Any]:
        """One order by the venue's id; a VenueError when the venue has none."""
        raise NotImplementedError

    async def history_orders(
        self, gw: Gateway, symbol: str | None, since_ms: int, limit: int
    ) -> tuple[list[OrderInfo], Any]:
        raise NotImplementedError

    async def cancel(self, gw: Gateway, symbol: str, venue_order_id: str) -> Any:
        """Cancel by venue id, for orders the gateway cannot adopt (no client id: placed on
        the venue's web site)."""
        raise NotImplementedError

    async def set_leverage(self, gw: Gateway, symbol: str, level: int) -> Any:
        raise NotImplementedError


_NO_QUERIES = Queries()


class Conventions(ABC):
    """One venue's FMZ naming (see the module docstring). ``venue`` is the registry name."""

    venue: str = ""
    #: ``__api_<path>`` may only reach paths under these (the venue's REST API, e.g.
    #: ``("/api/v5/",)``); empty = no passthrough
    api_prefixes: tuple[str, ...] = ()
    queries: Queries = _NO_QUERIES

    # -- symbols --------------------------------------------------------------------------
    @abstractmethod
    def instrument_id(self, symbol: FmzSymbol) -> str:
        """``BTC_USDT.swap`` -> the venue's instrument id; FmzError for what the venue does
        not list in that shape (an unsupported contract code)."""

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        """An instrument id as FMZ names it. The default builds it from the instrument
        (``BASE_QUOTE``, ``.swap`` for perpetuals, the native name's last part for dated
        futures); venues whose natives say more override it."""
        if inst is None:
            return native_of(symbol_id)
        pair = f"{inst.base}_{inst.quote}"
        if inst.kind is InstrumentKind.SPOT:
            return pair
        if inst.kind is InstrumentKind.SWAP:
            return pair + ".swap"
        return f"{pair}.{inst.native.replace('/', '-').rsplit('-', 1)[-1].lower()}"

    def symbol_id(self, native: str) -> str:
        return str(InstrumentId.of(native, self.venue))

    def wallet(self, scope: FmzSymbol) -> str:
        """The wallet ``accounts`` reports for a request naming ``scope`` (a symbol, or only a
        contract code), as ``BalanceUpdate.wallet`` names it: ``""`` is the venue's main
        wallet. Default: one wallet for everything (OKX's unified account, BitMEX ...);
        Binance keeps USD-M futures in a wallet of its own."""
        return ""

    # -- keys -----------------------------------------------------------------------------
    def credentials(self, creds: Credentials) -> tuple[dict[str, str], dict[str, Any]]:
        """The docker's keys as the registry factory's ``credentials`` (names as in
        ``VenueSpec.credentials``) plus factory options they imply (a demo-trading switch)."""
        return {"api_key": creds.access_key, "secret": creds.secret_key}, {}

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Factory options for one gateway at ``url``: the bridge's transport (typically a REST
        client on its HTTP pool) and the label's venue options (config keys such as
        ``td_mode``, plus what :meth:`credentials` implied). Default: none."""
        return {}

    async def reload_instruments(self, gw: Gateway) -> bool:
        """Re-read the venue's instrument list (a listing since start). The contract has no
        such call; gateways that expose ``load_instruments()`` are asked. False: cannot."""
        load = getattr(gw, "load_instruments", None)
        if load is None:
            return False
        await load()
        return True

    # -- passthrough ----------------------------------------------------------------------
    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """``exchange.IO("api", ...)``: ``path`` (already confined to :attr:`api_prefixes`)
        through the venue's REST client, signed when ``signed``; returns FMZ's ``data``."""
        raise FmzError(f"{self.venue}: __api_ is not supported")

    # -- order ids ------------------------------------------------------------------------
    def order_id(self, symbol_id: str, venue_order_id: str) -> str:
        """FMZ order id ``"<native>,<venue id>"`` (the guide's ``"BTC-USDT,123456"``), so
        ``order`` and ``cancel`` need nothing else."""
        return f"{native_of(symbol_id)},{venue_order_id}"

    def split_order_id(self, text: str, fallback: str | None) -> tuple[str, str]:
        """``"BTC-USDT,123"`` -> (instrument id, venue id); a bare venue id needs
        ``fallback`` (the request's symbol, as an instrument id)."""
        native, sep, vid = text.rpartition(",")
        if sep:
            native, vid = native.strip().upper(), vid.strip()
            if not native or not vid or not _plain(native):
                raise FmzError(f"invalid order id {text[:60]!r}: expected INSTRUMENT,ORDERID")
            return self.symbol_id(native), vid
        if fallback is None:
            raise FmzError(f"order id {text[:60]!r} has no instrument: pass 'symbol' or use the "
                           "id returned by trade (e.g. BTC-USDT,123456)")  # fmt: skip
        return fallback, text.strip()


def _plain(native: str) -> bool:
    return len(native) <= 64 and all(c.isalnum() or c in "-_/" for c in native)


ConventionsFactory = Callable[[], Conventions]

#: registry venue name -> "module:attribute" of its conventions (imported on first use)
_BUILTIN: dict[str, str] = {
    "OKX": "tradeloop.fmz.venues.okx:OkxConventions",
    "FTX": "tradeloop.fmz.venues.ftx:FtxConventions",
    "BINANCE": "tradeloop.fmz.venues.binance:BinanceConventions",
    "BITMEX": "tradeloop.fmz.venues.bitmex:BitmexConventions",
    "BITFINEX": "tradeloop.fmz.venues.bitfinex:BitfinexConventions",
}
_FACTORIES: dict[str, ConventionsFactory] = {}


def register_conventions(venue: str, factory: ConventionsFactory) -> None:
    """Add (or replace) the conventions of registry venue ``venue``."""
    _FACTORIES[venue.upper()] = factory


def conventions_for(venue: str) -> Conventions | None:
    """A fresh conventions object for registry venue ``venue``, or None when it has none."""
    key = venue.upper()
    factory = _FACTORIES.get(key)
    if factory is None and key in _BUILTIN:
        module, _, attr = _BUILTIN[key].partition(":")
        factory = getattr(importlib.import_module(module), attr)
        _FACTORIES[key] = factory
    return factory() if factory is not None else None


def has_conventions(venue: str) -> bool:
    key = venue.upper()
    return key in _FACTORIES or key in _BUILTIN
