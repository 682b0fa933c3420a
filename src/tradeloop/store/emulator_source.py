"""The store as the emulator's replay source.

Why an adapter on the store's side: the emulator replays venue-neutral records
(``emulator.replay.BookRecord`` / ``TradeRecord``, price and size text) that today come from a
cryptofeed capture (``tradeloop emulator okx --replay FILE``). :func:`store_records` turns a
stored instrument into those records — books and trades merged in receive order, starting at
the first snapshot, never a delta across a gap (the reader skips them; the recorder restarts
books from a snapshot after every gap) — so anything in the store (recorded, imported from any
venue's capture, or downloaded) can be replayed. :func:`write_okx_capture` writes the records
in the capture format the OKX emulator's ``--replay`` already reads, which is how
``tradeloop data export`` feeds it without a second loader in the emulator.

A CLI-level module (it imports ``emulator``), reached only from ``cli_data``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

from tradeloop.emulator.replay import BookRecord, Record, TradeRecord
from tradeloop.model import BookLevels, TradeTick
from tradeloop.model.identity import InstrumentId
from tradeloop.store import schema as S
from tradeloop.store.reader import merged, text

_enc = msgspec.json.Encoder()


def store_records(
    root: Path, venue: str, instrument: str, start_ns: int = 0, end_ns: int = 0
) -> list[Record]:
    """One stored instrument as replay records, from its first book snapshot on."""
    sym = InstrumentId.of(instrument, venue)
    out: list[Record] = []
    for ev in merged(root, [(sym, S.BOOK), (sym, S.TRADES)], start_ns, end_ns):
        if type(ev) is BookLevels:
            b: BookLevels = ev
            if not out and not b.snapshot:
                continue
            out.append(
                BookRecord(
                    b.snapshot,
                    [(text(p), text(s)) for p, s in b.bids],
                    [(text(p), text(s)) for p, s in b.asks],
                )
            )
        elif type(ev) is TradeTick and out:
            t: TradeTick = ev
            out.append(TradeRecord(text(t.price), text(t.qty), t.side.value))
    return out


def write_okx_capture(records: dict[str, list[Record]], path: Path, start_s: float = 1.0) -> int:
    """``records`` per instId as an OKX v5 WebSocket capture (cryptofeed's ``ts: json`` lines,
    instruments interleaved); returns the lines written. Times are synthetic (the emulator
    replays one book message per step, at its own pace)."""
    lines = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        its = {inst: iter(recs) for inst, recs in records.items()}
        ts = start_s
        while its:
            for inst in list(its):
                rec = next(its[inst], None)
                if rec is None:
                    del its[inst]
                    continue
                ts += 0.001
                fh.write(f"{ts:.6f}: ".encode() + _enc.encode(_okx(inst, rec, ts)) + b"\n")
                lines += 1
    tmp.replace(path)
    return lines


def _okx(inst: str, rec: Record, ts: float) -> dict[str, object]:
    ms = str(int(ts * 1000))
    if isinstance(rec, BookRecord):
        return {
            "arg": {"channel": "books", "instId": inst},
            "action": "snapshot" if rec.snapshot else "update",
            "data": [
                {
                    "asks": [[p, s, "0", "1"] for p, s in rec.asks],
                    "bids": [[p, s, "0", "1"] for p, s in rec.bids],
                    "ts": ms,
                }
            ],
        }
    return {
        "arg": {"channel": "trades", "instId": inst},
        "data": [{"instId": inst, "px": rec.price, "sz": rec.size, "side": rec.side, "ts": ms}],
    }


def export_okx(
    root: Path, venue: str, instruments: Iterable[str], out: Path, start_ns: int = 0,
    end_ns: int = 0,
) -> dict[str, int]:  # fmt: skip
    """Records of each instrument (empty ones left out) written to ``out``; records per inst."""
    recs = {i: store_records(root, venue, i, start_ns, end_ns) for i in instruments}
    recs = {i: r for i, r in recs.items() if r}
    write_okx_capture(recs, out)
    return {i: len(r) for i, r in recs.items()}
