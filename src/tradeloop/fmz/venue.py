"""The venue adapter contract: what the protocol layer asks of one exchange.

The server and dispatcher never speak an exchange's API; they parse the docker's request into
typed arguments and call one of these coroutines. Every registry venue with an ``fmz_label`` is
served by one implementation, :class:`~tradeloop.fmz.adapter.GatewayVenue`, over that venue's
Gateway; a venue adds only its :class:`~tradeloop.fmz.conventions.Conventions`. Hand-written
adapters (tests' fakes) register a factory here. Handlers return :class:`Reply` and signal
problems by raising
``FmzError`` (bad input), ``tradeloop.core.errors.VenueError`` (the exchange refused) or letting a
timeout/connection error escape; the server turns all of them into ``{"error": ...}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeloop.fmz.protocol import Credentials, FmzError, Reply
from tradeloop.fmz.symbols import FmzSymbol

#: ``trade`` sides: buy/sell open (or spot), closebuy/closesell reduce a long/short swap position.
SIDES = ("buy", "sell", "closebuy", "closesell")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A ``trade`` call. ``price`` ``None`` means market; for a spot market buy ``amount`` is in
    the quote currency (FMZ's convention, spec B.7)."""

    symbol: FmzSymbol
    side: str
    amount: Decimal
    price: Decimal | None


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """How to reach one venue: ``kind`` is the registry venue's FMZ label (or a registered
    adapter), ``rest_url``/``ws_url`` the host (an emulator on loopback in tests), ``options``
    the adapter's and the venue's knobs."""

    kind: str
    rest_url: str
    ws_url: str = ""
    options: Mapping[str, Any] | None = None


class FmzVenue(ABC):
    """One exchange behind one or more URL labels. Instances are shared by every request for
    their label, so they hold the pooled REST clients, the markets cache and the live books."""

    label: str = ""
    #: ``__api_<path>`` may only reach paths starting with one of these (the venue's REST API,
    #: e.g. ``("/api/v5/",)``); empty = no passthrough. Anything else the venue host serves
    #: (an emulator's admin endpoint, a web UI) stays out of reach.
    api_prefixes: tuple[str, ...] = ()

    async def start(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Open shared resources (HTTP pools, ...). Called once by the bridge."""

    async def close(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release everything (sockets, WS tasks). Called once at bridge stop."""

    # -- public market data (no keys needed) ------------------------------------------------
    @abstractmethod
    async def ticker(self, symbol: FmzSymbol) -> Reply: ...

    @abstractmethod
    async def depth(self, symbol: FmzSymbol, limit: int) -> Reply: ...

    @abstractmethod
    async def trades(self, symbol: FmzSymbol, limit: int) -> Reply: ...

    @abstractmethod
    async def records(self, symbol: FmzSymbol, period_min: int, limit: int) -> Reply: ...

    async def markets(self) -> Reply:
        raise self.unsupported("markets")

    async def tickers(self, contract: str | None) -> Reply:
        raise self.unsupported("tickers")

    async def fundings(self, symbol: FmzSymbol | None) -> Reply:
        raise self.unsupported("fundings")

    # -- private (keys from the docker) -----------------------------------------------------
    @abstractmethod
    async def accounts(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply:
        """Balances of the wallet ``scope`` trades from (a symbol such as ``BTC_USDT.swap``,
        or only a contract code); None: the venue's main wallet."""

    @abstractmethod
    async def assets(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply: ...

    @abstractmethod
    async def trade(self, creds: Credentials, order: OrderRequest) -> Reply: ...

    @abstractmethod
    async def orders(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply: ...

    @abstractmethod
    async def order(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply: ...

    @abstractmethod
    async def history_orders(
        self, creds: Credentials, symbol: FmzSymbol | None, since_ms: int, limit: int
    ) -> Reply: ...

    @abstractmethod
    async def cancel(
        self, creds: Credentials, order_id: str, symbol: FmzSymbol | None
    ) -> Reply: ...

    async def positions(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        raise self.unsupported("positions")

    async def set_margin_level(self, creds: Credentials, symbol: FmzSymbol, level: int) -> Reply:
        raise self.unsupported("setmarginlevel")

    async def api(
        self, creds: Credentials, http_method: str, path: str, params: Mapping[str, Any]
    ) -> Reply:
        """``exchange.IO("api", verb, path, query)``: call ``path`` on the venue verbatim.
        ``path`` has been checked against :attr:`api_prefixes` by the dispatcher."""
        raise self.unsupported("__api_")

    def unsupported(self, method: str) -> FmzError:
        """Optional methods (futures, passthrough, listings) default to a clear error, so a
        spot-only adapter only implements the spot calls."""
        return FmzError(f"{self.label or type(self).__name__}: {method} is not supported")


VenueFactory = Callable[[str, VenueSpec], FmzVenue]

#: adapters other than the generic one (tests' fakes, an experimental venue), by kind
_FACTORIES: dict[str, VenueFactory] = {}


def factories() -> dict[str, VenueFactory]:
    """The hand-written adapters registered so far, by kind (read by ``adapter.create_venue``)."""
    return _FACTORIES


def register_venue(kind: str, factory: VenueFactory) -> None:
    """Serve ``kind`` with a hand-written adapter instead of the generic one."""
    _FACTORIES[kind.upper()] = factory


def known_kinds() -> list[str]:
    """Kinds the bridge can serve: registry labels whose venue has FMZ conventions, plus
    hand-written adapters."""
    from tradeloop.fmz.conventions import has_conventions
    from tradeloop.venues import registry

    labels = {label for label, v in registry.fmz_labels().items() if has_conventions(v.name)}
    return sorted(labels | set(_FACTORIES))
