"""``tradeloop data``: the market data store's catalog.

tradeloop data list [--store DIR]
tradeloop data query "SELECT ... FROM trades ..." [--store DIR]
tradeloop data import FILE... [--venue V] [--symbol S] [--kind bars|trades] [--store DIR]
tradeloop data resample --venue V --instrument I --interval 5m [--from trades|bars]
tradeloop data download --venue okx|binance|bitmex|bitfinex|ftx --instrument I
    --kind candles|trades [--bar 1m] --from DATE [--to DATE] [--url URL]
tradeloop data export --venue V --instruments I[,I...] --out FILE   (OKX WS capture format:
    ``tradeloop emulator okx --replay FILE`` replays it)
tradeloop data export --kind funding --venue V --instruments I --out FILE.csv   (a backtest
    funding file from the recorded ``funding`` channel)
"""

from __future__ import annotations

import argparse
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from tradeloop.core.argtypes import count
from tradeloop.core.errors import ConfigError, UserError, VenueError, one_line
from tradeloop.data.aggregate import EmptyBarPolicy, TimeBarAggregator
from tradeloop.data.intervals import parse_interval
from tradeloop.model import Bar
from tradeloop.model.identity import InstrumentId
from tradeloop.store import schema as S
from tradeloop.store.catalog import query, summary
from tradeloop.store.importers import import_capture, import_file
from tradeloop.store.reader import read_stream, stream_events
from tradeloop.store.recorder import _interval
from tradeloop.store.writer import StoreWriter


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    for name in ("list", "query", "import", "resample", "download", "export"):
        sp = sub.add_parser(name)
        sp.add_argument("--store", help="store folder (default $TRADELOOP_STORE or "
                        "~/.local/share/tradeloop/store)")  # fmt: skip
        if name == "query":
            sp.add_argument("sql")
            sp.add_argument("--limit", type=count, default=50, help="rows printed (0: all)")
        elif name == "import":
            sp.add_argument("files", nargs="+", help="captures (NAME.ws.N.M) or data files")
            sp.add_argument("--venue", default="IMPORT", help="venue of data files")
            sp.add_argument("--symbol", help="instrument of data files (else from the name)")
            sp.add_argument("--kind", choices=("bars", "trades"), default="bars")
        elif name == "resample":
            sp.add_argument("--venue", required=True)
            sp.add_argument("--instrument", required=True)
            sp.add_argument("--interval", required=True, help="e.g. 1m, 5m, 1h")
            sp.add_argument("--from", dest="source", choices=("trades", "bars"), default="trades")
        elif name == "download":
            sp.add_argument("--venue", required=True,
                            help="okx, binance, bitmex, bitfinex or ftx")  # fmt: skip
            sp.add_argument("--instrument", required=True,
                            help="as the venue spells it: BTC-USDT, BTCUSDT, XBTUSD")  # fmt: skip
            sp.add_argument("--kind", choices=("candles", "trades"), default="candles")
            sp.add_argument(
                "--bar", default="1m", help="candle size: 1m, 5m, 1h, 1d (OKX: 1H, 1Dutc)"
            )
            sp.add_argument("--from", dest="start", required=True, help="date, ISO time or ms")
            sp.add_argument("--to", dest="end", help="exclusive end (default: now)")
            sp.add_argument("--url", help="REST base URL (an emulator; default the venue)")
            sp.add_argument("--max-pages", type=int, default=0, help="stop after N pages")
        elif name == "export":
            sp.add_argument("--venue", required=True, help="the stored venue (OKX, BINANCE ...)")
            sp.add_argument("--instruments", required=True, help="comma-separated, as stored")
            sp.add_argument("--out", required=True, help="capture file for the emulator")
            sp.add_argument("--kind", choices=("capture", "funding"), default="capture",
                            help="capture (books, trades) or funding (a funding file)")  # fmt: skip


def _ts(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(args: argparse.Namespace) -> int:
    import duckdb

    try:
        return _run(args)
    except (duckdb.Error, pa.ArrowInvalid, OSError) as exc:
        # a file damaged outside tradeloop (its writes are atomic): say which, keep the rest
        raise UserError(f"--store {args.store}: {one_line(exc)} (a damaged file can be "
                        "moved aside; the rest of the store is intact)") from None  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    root = S.store_root(args.store)
    if args.action not in ("import", "download") and not root.is_dir():
        raise UserError(f"--store {root}: no such folder")
    if args.action == "list":
        rows = summary(root)
        print(f"{'venue':10} {'channel':8} {'instrument':22} {'rows':>10} {'first':20} "
              f"{'last':20} days")  # fmt: skip
        for v, ch, inst, n, t0, t1, days in rows:
            print(f"{v:10} {ch:8} {inst:22} {n:>10} {_ts(t0):20} {_ts(t1):20} {days}")
        return 0
    if args.action == "query":
        cols, rows = query(root, args.sql)
        print("\t".join(cols))
        for r in rows[: args.limit or None]:
            print("\t".join(str(x) for x in r))
        if args.limit and len(rows) > args.limit:
            print(f"... {len(rows) - args.limit} more rows")
        return 0
    if args.action == "import":
        root.mkdir(parents=True, exist_ok=True)
        for f in map(Path, args.files):
            if not f.is_file():
                raise UserError(f"{f}: no such file")
            # one writer per file, named by what is imported: importing it again replaces
            # its rows instead of storing them twice
            writer = StoreWriter(root, run=_import_id(f, args.venue, args.symbol, args.kind))
            if ".ws." in f.name:
                n = import_capture(f, writer)
            else:
                n = import_file(f, writer, args.venue.upper(), args.symbol, args.kind)
            writer.roll()
            print(f"{f}: {n} rows")
        return 0
    if args.action == "download":
        return download(root, args)
    if args.action == "export":
        from tradeloop.store.emulator_source import export_okx

        insts = [i.strip() for i in args.instruments.split(",") if i.strip()]
        if args.kind == "funding":
            return export_funding(root, args.venue.upper(), insts, Path(args.out))
        counts = export_okx(root, args.venue.upper(), insts, Path(args.out))
        if not counts:
            raise UserError(f"{args.venue}: no book snapshot stored for {', '.join(insts)}")
        for inst, n in counts.items():
            print(f"{inst}: {n} records")
        print(f"wrote {args.out} (replay: tradeloop emulator okx --replay {args.out})")
        return 0
    return resample(root, args.venue.upper(), args.instrument, args.interval, args.source)


def _import_id(path: Path, *how: object) -> str:
    """A writer run id (hex) for importing ``path`` as ``how`` says: its content's digest."""
    h = hashlib.sha256(repr(how).encode())
    with open(path, "rb") as fh:
        h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()[:12]


def export_funding(root: Path, venue: str, insts: list[str], out: Path) -> int:
    from tradeloop.store.funding import write_funding_file

    if len(insts) != 1:
        raise ConfigError("--kind funding: give exactly one instrument (one file each)")
    n = write_funding_file(root, venue, insts[0], out)
    print(f"wrote {out}: {n} funding settlements of {venue}/{insts[0]} "
          f"(backtest: funding = \"{out}\")")  # fmt: skip
    return 0


def download(root: Path, args: argparse.Namespace) -> int:
    """Resume (or start) one download job; prints where it got to."""
    import asyncio
    import time

    from tradeloop.store import download as D
    from tradeloop.store import history as H

    venue = H.check_venue(args.venue)
    start = D.parse_time(args.start, "--from")
    end = D.parse_time(args.end, "--to") if args.end else int(time.time() * 1000)
    if end <= start:
        raise ConfigError("--to must be after --from")
    window: H.WindowSource | None = None
    bar_ms = 0
    if venue == "okx":
        bar = D.check_bar(args.bar) if args.kind == "candles" else ""
    else:
        window = H.SOURCES[venue](args.url)
        bar_ms = H.bar_ms(window, args.bar) if args.kind == "candles" else 0
        bar = _interval(bar_ms * 1_000_000) if bar_ms else ""
    fresh = D.Job(venue.upper(), args.kind, args.instrument, bar, start, end)
    state = fresh.state_path(root, args.end or "now")
    job = D.load_job(state, fresh)
    if job.done:
        print(f"{job.venue}/{job.inst} {job.kind}: already complete ({job.rows} rows)")
        return 0

    async def main() -> D.Job:
        if window is not None:
            try:
                return await D.download_window(window, job, root, state, bar_ms=bar_ms,
                                               max_pages=args.max_pages)  # fmt: skip
            finally:
                await window.close()
        from tradeloop.venues.okx.rest import OkxRestClient

        kw = {"base_url": args.url} if args.url else {}
        async with OkxRestClient(**kw) as client:
            src = D.OkxHistory(client)
            fn = D.download_candles if args.kind == "candles" else D.download_trades
            return await fn(src, job, root, state, max_pages=args.max_pages)

    root.mkdir(parents=True, exist_ok=True)
    try:
        done = asyncio.run(main())
    except VenueError as exc:  # an unknown instrument, a refusal, the venue unreachable
        what = f"{job.venue} {job.inst} {job.kind}"
        raise UserError(f"{what}: {exc} ({job.rows} rows kept; run again to resume)") from None
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # a row of another shape
        what = f"{job.venue} {job.inst} {job.kind}: unexpected answer from the venue"
        raise UserError(f"{what} ({type(exc).__name__}: {exc}); {job.rows} rows kept") from None
    word = "complete" if done.done else "stopped (run again to resume)"
    print(f"{done.venue}/{done.inst} {done.kind}: {done.rows} rows in {done.pages} pages, "
          f"{done.waits} rate-limit waits, {word}")  # fmt: skip
    return 0


def resample(root: Path, venue: str, instrument: str, interval: str, source: str) -> int:
    """Bars from the store's trades (the live ``TimeBarAggregator``) or coarser bars from
    finer ones, written back as ``bars`` with their interval."""
    try:
        period = parse_interval(interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from exc
    symbol = InstrumentId.of(instrument, venue)
    out: list[Bar] = []
    if source == "trades":
        agg = TimeBarAggregator(symbol, period, out.append, EmptyBarPolicy.SKIP)
        for ev in stream_events(root, symbol, S.TRADES):
            agg.on_trade(ev)  # type: ignore[arg-type]
        agg.flush()
    else:
        t = read_stream(root, venue, S.BARS, instrument).to_pydict()
        cur: list[float] | None = None
        start = 0
        for st, o, h, lo, c, v in zip(t["start"], t["open"], t["high"], t["low"], t["close"],
                                      t["volume"], strict=True):  # fmt: skip
            b0 = st - st % period
            if cur is not None and b0 != start:
                out.append(Bar(start + period, symbol, start, *cur))
                cur = None
            if cur is None:
                cur, start = [o, h, lo, c, v], b0
            else:
                cur = [cur[0], max(cur[1], h), min(cur[2], lo), c, cur[4] + v]
        if cur is not None:
            out.append(Bar(start + period, symbol, start, *cur))
    if not out:
        raise UserError(f"{venue}/{instrument}: no {source} in the store to resample")
    n = len(out)
    end = np.array([b.ts for b in out], dtype=np.int64)
    table = pa.table({
        "ts_recv": end, "ts_event": end, "rec_seq": np.arange(1, n + 1),
        "gap": np.zeros(n, bool), "start": [b.start for b in out], "open": [b.open for b in out],
        "high": [b.high for b in out], "low": [b.low for b in out],
        "close": [b.close for b in out], "volume": [b.volume for b in out],
        "interval": [_interval(period)] * n,
    })  # fmt: skip
    from tradeloop.store.importers import _by_date

    writer = StoreWriter(root)
    for date, part in _by_date(table.cast(S.SCHEMAS[S.BARS])):
        writer.append_table((venue, S.BARS, instrument, date), part)
    writer.roll()
    print(f"{venue}/{instrument}: {n} {_interval(period)} bars from {source}")
    return 0
