"""Bringing outside data into the store: cryptofeed captures and candle/trade files.

Why import rather than read in place: once in the store, every source answers the same DuckDB
queries and drives the same tick replay. Rows keep both times: ``ts_recv`` is the capture's
receive time (files without one use the event time) and ``ts_event`` the venue's stamp.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa

from tradeloop.core.errors import DataError, UserError
from tradeloop.data.loaders import load_bars, load_trades
from tradeloop.store import schema as S
from tradeloop.store.capture import Rows as _Rows
from tradeloop.store.capture import by_date as _by_date
from tradeloop.store.capture import capture_lines
from tradeloop.store.recorder import _interval
from tradeloop.store.writer import StoreWriter

log = logging.getLogger(__name__)


def import_okx_capture(path: Path, writer: StoreWriter) -> int:
    """OKX v5 public: ``books`` (snapshot/update, seqId when present), ``trades``,
    ``tickers`` (-> quotes)."""
    rows = _Rows()
    for ts, msg in capture_lines(path):
        if not isinstance(msg, dict) or "data" not in msg:
            continue
        arg = msg.get("arg", {})
        ch, inst = arg.get("channel", ""), arg.get("instId", "")
        for d in msg["data"]:
            ev = int(d.get("ts", 0)) * 1_000_000 or ts
            if ch == "books":
                rows.n += 1
                kind = S.SNAPSHOT if msg.get("action") == "snapshot" else S.DELTA
                seq = int(d.get("seqId", 0) or 0)
                for side, levels in ((S.BID, d.get("bids", [])), (S.ASK, d.get("asks", []))):
                    for lv in levels:
                        rows.add(S.BOOK, inst, ts, ev, seq, kind, side, float(lv[0]),
                                 float(lv[1]), msg=rows.n)  # fmt: skip
            elif ch == "trades":
                rows.add(S.TRADES, inst, ts, ev, float(d["px"]), float(d["sz"]), d["side"],
                         str(d.get("tradeId", "")))  # fmt: skip
            elif ch == "tickers" and d.get("bidPx") and d.get("askPx"):
                rows.add(S.QUOTES, inst, ts, ev, float(d["bidPx"]), float(d["bidSz"]),
                         float(d["askPx"]), float(d["askSz"]))  # fmt: skip
    return rows.write(writer, "OKX")


def import_trades_only(path: Path, writer: StoreWriter, venue: str) -> int:
    """Other venues' captures: their public trades (Binance ``trade``/``aggTrade``, BitMEX
    ``trade``); their books need venue-specific sync (see the store README's gaps)."""
    rows = _Rows()
    for ts, msg in capture_lines(path):
        if not isinstance(msg, dict):
            continue
        data = msg.get("data", msg)
        if isinstance(data, dict) and data.get("e") in ("trade", "aggTrade"):
            side = "sell" if data.get("m") else "buy"
            rows.add(S.TRADES, data["s"], ts, int(data["T"]) * 1_000_000, float(data["p"]),
                     float(data["q"]), side, str(data.get("t", data.get("a", ""))))  # fmt: skip
        elif msg.get("table") == "trade" and isinstance(data, list):
            for d in data:
                rows.add(S.TRADES, d["symbol"], ts, ts, float(d["price"]), float(d["size"]),
                         d["side"].lower(), str(d.get("trdMatchID", "")))  # fmt: skip
    return rows.write(writer, venue)


def import_capture(path: Path, writer: StoreWriter) -> int:
    """A cryptofeed capture, by its file name (``OKX.ws.1.0``, ``BINANCE.ws.1.0`` ...)."""
    venue = path.name.split(".")[0].upper()
    if ".ws." not in path.name:
        raise UserError(f"{path}: not a cryptofeed WebSocket capture (expected NAME.ws.N.M)")
    if venue == "OKX":
        return import_okx_capture(path, writer)
    # books need the venue connectors' sync rules: a CLI-level module, imported lazily so the
    # store itself stays below ``venues``
    from tradeloop.store import import_books as B

    if venue in ("BINANCE", "BINANCE_FUTURES"):
        return B.import_binance(path, writer, venue)
    if venue == "BITMEX":
        return B.import_bitmex(path, writer)
    if venue == "BITFINEX":
        return B.import_bitfinex(path, writer)
    return import_trades_only(path, writer, venue.split("_")[0])


def import_file(path: Path, writer: StoreWriter, venue: str, symbol: str | None,
                kind: str) -> int:  # fmt: skip
    """CSV / Parquet / feather / JSON candles (``kind="bars"``) or trades (``"trades"``)."""
    try:
        if kind == "bars":
            b = load_bars(path, symbol)
            n = len(b.start)
            t = pa.table({
                "ts_recv": b.end, "ts_event": b.end, "rec_seq": np.arange(1, n + 1),
                "gap": np.zeros(n, bool), "start": b.start, "open": b.open, "high": b.high,
                "low": b.low, "close": b.close, "volume": b.volume,
                "interval": [_interval(b.interval_ns)] * n,
            })  # fmt: skip
            inst, channel = b.symbol, S.BARS
        else:
            tr = load_trades(path, symbol)
            n = len(tr)
            sides = np.where(tr.side > 0, "buy", np.where(tr.side < 0, "sell", ""))
            t = pa.table({
                "ts_recv": tr.ts, "ts_event": tr.ts, "rec_seq": np.arange(1, n + 1),
                "gap": np.zeros(n, bool), "price": tr.price, "qty": tr.qty,
                "side": sides.tolist(), "trade_id": [""] * n,
            })  # fmt: skip
            inst, channel = tr.symbol, S.TRADES
    except DataError:
        raise
    t = t.cast(S.SCHEMAS[channel])
    native = inst.rpartition(".")[0] if "." in inst and inst.rpartition(".")[2].isupper() else inst
    for date, part in _by_date(t):
        writer.append_table((venue, channel, native, date), part)
    return t.num_rows
