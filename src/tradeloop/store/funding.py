"""Funding rates (and mark prices) of perpetuals, polled over each venue's public REST.

Why a store-side source and not a gateway stream: the Gateway contract carries trades, quotes,
books and bars; funding is a slow figure (it changes every few seconds at most and is settled
every few hours), so polling the venue's public endpoint through the venue's own REST client
(its rate limiter, retries and error types) is enough, needs no gateway change and works the
same against the emulators. Each poll yields one :class:`FundingRate` event, handed to a sink
(the :class:`~tradeloop.store.recorder.Recorder`, which stores it in the ``funding`` channel,
or a live Kernel's ``on_market_data``).

Venues (:data:`VENUES`): OKX ``/api/v5/public/funding-rate`` + ``/api/v5/public/mark-price``;
BitMEX ``/api/v1/instrument`` (``fundingRate``, ``fundingTimestamp``, ``markPrice``); Bitfinex
``/v2/status/deriv`` (``CURRENT_FUNDING``, ``NEXT_FUNDING_EVT_MTS``, ``MARK_PRICE``).
``funding_time`` is the settlement the rate applies to (OKX ``fundingTime``, BitMEX
``fundingTimestamp``, Bitfinex ``NEXT_FUNDING_EVT_MTS``): the last rate seen before a
settlement is what was paid then, which is what :func:`funding_file_rows` turns into a
backtest funding file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError, UserError, VenueError
from tradeloop.core.timefmt import iso_ms
from tradeloop.model import Event
from tradeloop.model.identity import native_of

log = logging.getLogger(__name__)

MS = 1_000_000
FUNDING = "funding"  # the store channel (schema.FUNDING)


class FundingRate(Event, frozen=True, gc=False):
    """A perpetual's current funding rate (a fraction per period, paid at ``funding_time``
    ns) and mark price (NaN when the venue gives none); ``ts`` is the venue's stamp."""

    symbol: str
    rate: float
    mark: float
    funding_time: int


class NotPerpetual(ConfigError):
    """The venue has no funding for this symbol (spot, a dated future): it is dropped."""


class Sink(Protocol):
    def on_market_data(self, ev: Event) -> None: ...


#: (client, native symbol) -> (venue ts ms, rate, mark, funding time ms)
Fetch = Callable[[Any, str], Awaitable[tuple[int, float, float, int]]]


async def _okx(client: Any, inst: str) -> tuple[int, float, float, int]:
    if not inst.endswith("-SWAP"):
        raise NotPerpetual(f"{inst} on OKX is not a perpetual swap")
    row = await client.funding_rate(inst)
    marks = await client.request(
        "GET", "/api/v5/public/mark-price", {"instType": "SWAP", "instId": inst}
    )
    mark = float(marks[0]["markPx"]) if marks else float("nan")
    ts = int(row.get("ts") or time.time() * 1000)
    return ts, float(row["fundingRate"]), mark, int(row["fundingTime"])


async def _bitmex(client: Any, inst: str) -> tuple[int, float, float, int]:
    rows = await client.request("GET", "/api/v1/instrument", {"symbol": inst})
    if not rows:
        raise VenueError(f"BitMEX /instrument: no instrument {inst}")
    r = rows[0]
    if r.get("fundingRate") is None:
        raise NotPerpetual(f"{inst} on BITMEX is not a perpetual (no funding rate)")
    ts = iso_ms(str(r["timestamp"])) if r.get("timestamp") else int(time.time() * 1000)
    mark = float(r["markPrice"]) if r.get("markPrice") is not None else float("nan")
    return ts, float(r["fundingRate"]), mark, iso_ms(str(r["fundingTimestamp"]))


async def _bitfinex(client: Any, inst: str) -> tuple[int, float, float, int]:
    rows = await client.get("/v2/status/deriv", {"keys": inst})
    if not rows:
        raise NotPerpetual(f"{inst} on BITFINEX is not a perpetual (no deriv status)")
    r = rows[0]  # [KEY, MTS, _, DERIV, SPOT, _, INS, _, NEXT_MTS, ACCRUED, STEP, _, CURRENT, ..
    if not isinstance(r, list) or len(r) < 16:  # .., _, _, MARK, ...]
        raise ValueError(f"Bitfinex status/deriv: malformed row {str(r)[:80]}")
    if r[0] != inst:  # never store another instrument's rate under this one
        raise ValueError(f"Bitfinex status/deriv answered {r[0]!r} for {inst}")
    if r[12] is None:  # no rate is not a rate of 0: a failed poll, not a row
        raise ValueError(f"Bitfinex status/deriv: no current funding for {inst}")
    mark = float(r[15]) if r[15] is not None else float("nan")
    return int(r[1]), float(r[12]), mark, int(r[8])


async def _binance(client: Any, inst: str) -> tuple[int, float, float, int]:
    if not inst.endswith("-PERP"):  # USD-M perpetual ids are BTCUSDT-PERP.BINANCE
        raise NotPerpetual(f"{inst} on BINANCE is not a USD-M perpetual (ids end in -PERP)")
    wire = inst.removesuffix("-PERP")
    r = await client.call("GET", "/fapi/v1/premiumIndex", {"symbol": wire})
    if not isinstance(r, dict) or r.get("symbol") != wire:
        raise ValueError(f"Binance premiumIndex: no row for {wire}")
    mark = float(r["markPrice"]) if r.get("markPrice") not in (None, "") else float("nan")
    return int(r["time"]), float(r["lastFundingRate"]), mark, int(r["nextFundingTime"])


def _binance_client(url: str | None) -> Any:
    from tradeloop.venues.binance import constants as bc
    from tradeloop.venues.binance.rest import BinanceRestClient

    return BinanceRestClient(url or bc.FAPI_URL, time_path="/fapi/v1/time")


def _okx_client(url: str | None) -> Any:
    from tradeloop.venues.okx.rest import OkxRestClient

    return OkxRestClient(url) if url else OkxRestClient()


def _bitmex_client(url: str | None) -> Any:
    from tradeloop.venues.bitmex.rest import BitmexRestClient

    return BitmexRestClient(url) if url else BitmexRestClient()


@dataclass(frozen=True)
class FundingVenue:
    """How to read one venue's funding: its public REST client and one poll."""

    make_client: Callable[[str | None], Any]
    fetch: Fetch


def _bitfinex_client(url: str | None) -> Any:
    from tradeloop.venues.bitfinex.rest import BitfinexRestClient

    return BitfinexRestClient(url) if url else BitfinexRestClient()


VENUES: Mapping[str, FundingVenue] = {
    "OKX": FundingVenue(_okx_client, _okx),
    "BITMEX": FundingVenue(_bitmex_client, _bitmex),
    "BITFINEX": FundingVenue(_bitfinex_client, _bitfinex),
    "BINANCE": FundingVenue(_binance_client, _binance),
}


def check_venue(venue: str) -> FundingVenue:
    """The venue's funding reader, or a one-line error naming the supported venues."""
    fv = VENUES.get(venue.upper())
    if fv is None:
        known = ", ".join(v.lower() for v in VENUES)
        raise ConfigError(f"--channels funding: {venue.lower()} is not supported (only {known})")
    return fv


class FundingSource:
    """Polls the funding of ``symbols`` (ids, ``BTC-USDT-SWAP.OKX``) on one venue every
    ``every_s`` seconds. A symbol the venue has no funding for (spot) is logged and dropped;
    a failed poll is logged, counted and retried next period, and a sink with ``mark_gap``
    (the recorder) flags that symbol's next stored row as following a gap."""

    def __init__(
        self, venue: str, symbols: list[str], url: str | None = None, every_s: float = 10.0
    ) -> None:
        self.venue = venue.upper()
        self.reader = check_venue(self.venue)
        self.symbols, self.url, self.every_s = list(symbols), url, every_s
        self.polls = self.failures = 0

    async def poll_once(self, client: Any, sink: Sink) -> int:
        """One round over every symbol; returns the events handed to ``sink``."""
        n = 0
        for sym in list(self.symbols):
            self.polls += 1
            try:
                ts, rate, mark, nxt = await self.reader.fetch(client, native_of(sym))
            except NotPerpetual as exc:
                log.warning("funding: %s; not polled again", exc)
                self.symbols.remove(sym)
                continue
            except (
                VenueError,
                OSError,
                TimeoutError,
                KeyError,
                IndexError,
                ValueError,
                TypeError,
                AttributeError,
            ) as exc:  # a bad answer: one line, next poll
                self.failures += 1
                mark_gap = getattr(sink, "mark_gap", None)
                if mark_gap is not None:
                    mark_gap(FUNDING, sym)
                log.warning("funding %s: %s (next poll in %.1fs)", sym, exc, self.every_s)
                continue
            sink.on_market_data(FundingRate(ts * MS, sym, rate, mark, nxt * MS))
            n += 1
        return n

    async def run(self, sink: Sink, *, rounds: int = 0) -> None:
        """Poll until cancelled (or ``rounds`` rounds)."""
        client = self.reader.make_client(self.url)
        try:
            done = 0
            while not rounds or done < rounds:
                t0 = time.monotonic()
                await self.poll_once(client, sink)
                done += 1
                if rounds and done >= rounds:
                    break
                await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - t0)))
        finally:
            await client.close()


def sources_for(
    plan: list[tuple[str, str | None, list[str]]], every_s: float
) -> list[FundingSource]:
    """One :class:`FundingSource` per (venue, url, ids) with ids; unsupported venues are a
    one-line error before anything starts."""
    out = []
    for venue, url, ids in plan:
        if ids:
            out.append(FundingSource(venue, ids, url, every_s))
    return out


def funding_file_rows(
    ts: list[int], rate: list[float], funding_time: list[int]
) -> list[tuple[int, float]]:
    """(settlement time ns, rate paid) per settlement seen: for each ``funding_time``, the
    last rate observed (venue time ``ts``) before it, rows in any order. Settlements still in
    the future of the last observation are left out (their rate may yet change)."""
    last: dict[int, tuple[int, float]] = {}
    newest = max(ts, default=0)
    for t, r, ft in zip(ts, rate, funding_time, strict=True):
        if ft > newest or t > ft:
            continue
        seen = last.get(ft)
        if seen is None or t >= seen[0]:
            last[ft] = (t, r)
    return [(ft, last[ft][1]) for ft in sorted(last)]


def write_funding_file(root: Path, venue: str, instrument: str, out: Path) -> int:
    """The stored funding of one instrument as a backtest funding file (CSV ``time,rate``:
    ISO UTC settlement times, the rate paid then); returns the settlements written."""
    from tradeloop.store.reader import read_stream

    t = read_stream(root, venue, FUNDING, instrument).to_pydict()
    rows = funding_file_rows(t["ts_event"], t["rate"], t["funding_time"])
    if not rows:
        raise UserError(
            f"{venue}/{instrument}: no funding settlement in the store (record funding "
            "across at least one funding time)"
        )
    lines = ["time,rate"]
    for ft, r in rows:
        when = datetime.fromtimestamp(ft // MS / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        lines.append(f"{when[:-3]}Z,{r!r}")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out)
    return len(rows)
