"""``tradeloop record``: record venues' public market data into the store.

    tradeloop record --venue okx [--url URL] --symbols BTC-USDT,ETH-USDT \
        --channels trades,quotes,book,bars [--store DIR] [--flush 2] [--roll 3600]

``--venue`` may be repeated (one ``--url`` per venue, in the same order, or none); a bare
symbol is recorded on every venue given, an id (``BTC-USDT.OKX``) on its venue only. Runs until
interrupted (or ``--duration`` seconds); SIGTERM/SIGINT flush and compact before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.store import schema as S
from tradeloop.store.recorder import Recorder
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
        required=True,
        choices=registry.cli_choices(),
        help="venue to record (repeatable)",
    )
    p.add_argument("--url", action="append", default=[], help="REST URL per --venue (emulator)")
    p.add_argument("--symbols", required=True, help="comma-separated symbols or ids")
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
        "--filter", action="store_true", help="drop abnormal ticks (the live runtime's tick filter)"
    )


def parse_channels(text: str) -> tuple[str, ...]:
    out = []
    for raw in (c.strip() for c in text.split(",")):
        if not raw:
            continue
        if raw.startswith("bars:"):
            out.append(raw)
        elif raw == "funding":
            raise ConfigError(
                "--channels funding: no gateway offers a funding stream yet (the Gateway "
                "contract has trades, quotes, book, bars)"
            )
        elif raw in _CHANNELS:
            out.append(_CHANNELS[raw])
        else:
            known = ", ".join(_CHANNELS)
            raise ConfigError(f"--channels: unknown channel {raw!r} (known: {known})")
    if not out:
        raise ConfigError("--channels: nothing to record")
    return tuple(out)


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
) -> None:
    """Start each gateway, subscribe, then flush/roll on a timer until ``stop`` (or the
    duration); always flushes and compacts on the way out."""
    stop = stop or asyncio.Event()
    try:
        for gw, ids in gateways:
            gw.bind_data(recorder)
            gw.on_account_event = recorder.on_status
            await gw.start()
            known = gw.instruments()
            for sym in ids:
                if known and sym not in known:
                    raise ConfigError(f"--symbols: {sym} is not listed by {gw.venue}")
                await gw.subscribe(sym, channels)
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
        for gw, _ in gateways:
            with contextlib.suppress(Exception):
                await gw.stop()
        recorder.roll()


def run(args: argparse.Namespace) -> int:
    channels = parse_channels(args.channels)
    if args.flush <= 0 or args.roll <= 0:
        raise ConfigError("--flush and --roll must be positive")
    root = S.store_root(args.store)
    todo = plan(args.venue, args.url, args.symbols)
    root.mkdir(parents=True, exist_ok=True)
    sweep(root)
    accept: Any = None
    if args.filter:
        from tradeloop.live.tickfilter import TickFilter  # the CLI layer may reach live/

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
        )

    asyncio.run(main())
    st = recorder.stats
    print(
        f"recorded {st.messages} messages, {st.rows} rows, {st.gaps} gap marks, "
        f"{st.dropped} filtered into {root}"
    )
    return 0
