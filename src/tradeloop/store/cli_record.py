"""``tradeloop record``: record venues' public market data into the store.

    tradeloop record --venue okx [--url URL] --symbols BTC-USDT,ETH-USDT \
        --channels trades,quotes,book,bars,funding [--store DIR] [--flush 2] [--roll 3600] \
        [--sources CONFIG.toml]

``--venue`` may be repeated (one ``--url`` per venue, in the same order, or none); a bare
symbol is recorded on every venue given, an id (``BTC-USDT.OKX``) on its venue only. Runs until
interrupted (or ``--duration`` seconds); SIGTERM/SIGINT flush and compact before exiting.

``funding`` is not a gateway channel: it polls each venue's public funding endpoint
(``store/funding.py``, every ``--funding-every`` s). ``--sources`` runs the ``[[source]]``
tables of a TOML file (``store/sources.py``) into the store's ``custom`` channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from tradeloop.core.errors import ConfigError, UserError, VenueError
from tradeloop.core.outdir import writable_dir
from tradeloop.data.intervals import parse_interval
from tradeloop.store import schema as S
from tradeloop.store.funding import sources_for
from tradeloop.store.recorder import Recorder
from tradeloop.store.sources import Source, SourceRunner, read_sources
from tradeloop.store.writer import StoreWriter, sweep
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway

log = logging.getLogger(__name__)

#: ``--channels`` names -> gateway channel names (bars default to one minute)
_CHANNELS = {"trades": "trades", "quotes": "quotes", "book": "book", "bars": "bars:1m"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--venue",
        action="append",
        default=[],
        choices=registry.cli_choices(),
        help="venue to record (repeatable)",
    )
    p.add_argument("--url", action="append", default=[], help="REST URL per --venue (emulator)")
    p.add_argument("--symbols", default="", help="comma-separated symbols or ids")
    p.add_argument(
        "--channels", default="trades,quotes,book", help="trades,quotes,book,bars[:1m],funding"
    )
    p.add_argument(
        "--store", help="store folder (default $TRADELOOP_STORE or ~/.local/share/tradeloop/store)"
    )
    p.add_argument("--flush", type=float, default=2.0, help="seconds between flushes")
    p.add_argument("--roll", type=float, default=3600.0, help="seconds between file rolls")
    p.add_argument("--checkpoint", type=float, default=60.0, help="seconds between book copies")
    p.add_argument("--duration", type=float, default=0.0, help="stop after N seconds (0: never)")
    p.add_argument(
        "--funding-every", type=float, default=10.0, help="seconds between funding polls"
    )
    p.add_argument("--sources", help="TOML file whose [[source]] tables (custom data) to record")
    p.add_argument(
        "--filter", action="store_true", help="drop abnormal ticks (the live runtime's tick filter)"
    )


def parse_channels(text: str) -> tuple[tuple[str, ...], bool]:
    """(gateway channels, whether to poll funding)."""
    out = []
    funding = False
    for raw in (c.strip() for c in text.split(",")):
        if not raw:
            continue
        if raw.startswith("bars:"):
            try:
                parse_interval(raw[5:])
            except ConfigError as exc:
                raise ConfigError(f"--channels {raw}: {exc}") from None
            out.append(raw)
        elif raw == "funding":
            funding = True
        elif raw in _CHANNELS:
            out.append(_CHANNELS[raw])
        else:
            known = ", ".join([*_CHANNELS, "funding"])
            raise ConfigError(f"--channels: unknown channel {raw!r} (known: {known})")
    if not out and not funding:
        raise ConfigError("--channels: nothing to record")
    return tuple(out), funding


def plan(
    venues: list[str], urls: list[str], symbols: str
) -> list[tuple[registry.VenueSpec, str | None, list[str]]]:
    """(venue, url, instrument ids) per venue, from the flags."""
    if urls and len(urls) != len(venues):
        raise ConfigError(f"--url given {len(urls)} times for {len(venues)} --venue")
    names = [s.strip() for s in symbols.split(",") if s.strip()]
    if not names:
        raise ConfigError("--symbols: no symbol given")
    out = []
    for i, v in enumerate(venues):
        spec = registry.get(v)
        ids = []
        for n in names:
            _native, dot, venue = n.rpartition(".")
            if dot and venue.isupper():
                if venue == spec.name:
                    ids.append(n)
            else:
                ids.append(f"{n}.{spec.name}")
        out.append((spec, urls[i] if urls else None, ids))
    if not any(ids for _, _, ids in out):
        raise ConfigError("--symbols: no symbol belongs to the given venues")
    return out


async def record(
    gateways: list[tuple[Gateway, list[str]]],
    recorder: Recorder,
    channels: tuple[str, ...],
    *,
    flush_s: float,
    roll_s: float,
    duration_s: float = 0.0,
    stop: asyncio.Event | None = None,
    sources: list[Source] | None = None,
) -> None:
    """Start each gateway, subscribe (no gateway channels: the gateways are not started),
    run ``sources`` (funding polls, custom data) into the recorder, then flush/roll on a timer
    until ``stop`` (or the duration); always flushes and compacts on the way out."""
    stop = stop or asyncio.Event()
    runner = SourceRunner(sources or [])
    if not channels:
        gateways = []
    try:
        for gw, ids in gateways:
            gw.bind_data(recorder)
            gw.on_account_event = recorder.on_status
            try:
                await gw.start()
            except VenueError as exc:  # unreachable, refused: one line (what came is kept)
                raise UserError(f"{gw.venue}: cannot start recording: {exc}") from None
            known = gw.instruments()
            for sym in ids:
                if known and sym not in known:
                    raise ConfigError(f"--symbols: {sym} is not listed by {gw.venue}")
                await gw.subscribe(sym, channels)
        runner.start(recorder)
        t0 = time.monotonic()
        next_roll = t0 + roll_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), flush_s)
            recorder.flush()
            now = time.monotonic()
            if now >= next_roll:
                recorder.roll()
                next_roll = now + roll_s
            if duration_s and now - t0 >= duration_s:
                break
    finally:
        await runner.stop()
        for gw, _ in gateways:
            with contextlib.suppress(Exception):
                await gw.stop()
        recorder.roll()


def run(args: argparse.Namespace) -> int:
    channels, funding = parse_channels(args.channels)
    if args.flush <= 0 or args.roll <= 0 or args.funding_every <= 0:
        raise ConfigError("--flush, --roll and --funding-every must be positive")
    if not args.venue and not args.sources:
        raise ConfigError("give --venue (repeatable) and/or --sources")
    root = writable_dir(S.store_root(args.store), "--store")
    todo = plan(args.venue, args.url, args.symbols) if args.venue else []
    sources: list[Source] = read_sources(args.sources) if args.sources else []
    if funding:  # an unsupported venue is a one-line error here, before anything starts
        funding_plan = [(spec.name, url, ids) for spec, url, ids in todo]
        sources += sources_for(funding_plan, args.funding_every)
    root.mkdir(parents=True, exist_ok=True)
    sweep(root)
    accept: Any = None
    if args.filter:
        from tradeloop.data.tickfilter import TickFilter

        accept = TickFilter().accept
    recorder = Recorder(StoreWriter(root), checkpoint_s=args.checkpoint, accept=accept)
    gateways = [
        (spec.build(url=url, credentials=spec.credentials_from()), ids)
        for spec, url, ids in todo
        if ids
    ]

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await record(
            gateways,
            recorder,
            channels,
            flush_s=args.flush,
            roll_s=args.roll,
            duration_s=args.duration,
            stop=stop,
            sources=sources,
        )

    asyncio.run(main())
    st = recorder.stats
    print(
        f"recorded {st.messages} messages, {st.rows} rows, {st.gaps} gap marks, "
        f"{st.dropped} filtered into {root}"
    )
    return 0
