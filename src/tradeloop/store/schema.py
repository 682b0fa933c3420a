"""The market data store's layout and schema (documented in ``store/README.md``).

Why a fixed, explicit schema per channel: the store is written by the recorder, by importers
and by downloads, and read by DuckDB and by the tick replay; one definition here keeps them in
agreement. Prices and sizes are float64 (see README: the venue's decimal value is
``Decimal(repr(x))`` for any text of up to 15 significant digits).

Layout: ``STORE/venue=V/channel=C/instrument=I/date=YYYY-MM-DD/<file>.parquet`` (Hive style, so
DuckDB and pyarrow read the partition keys as columns). Files are immutable once renamed into
place: ``p-<run>-<n>.parquet`` is one flush interval of one writer run, ``c-<run>-<a>-<b>.parquet``
the compaction of that run's parts ``a..b``. A part covered by a compacted file (a crash between
the compaction's rename and the parts' removal) is ignored by :func:`live_files`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

import pyarrow as pa

#: where ``record`` and ``data`` put and find the store when ``--store`` is not given
DEFAULT_STORE_ENV: Final = "TRADELOOP_STORE"
DEFAULT_STORE: Final = Path("~/.local/share/tradeloop/store")

TRADES: Final = "trades"
QUOTES: Final = "quotes"
BOOK: Final = "book"
BARS: Final = "bars"
FUNDING: Final = "funding"
STATUS: Final = "status"
CUSTOM: Final = "custom"

#: book row ``kind``: a venue delta, the venue's snapshot (book replaced), a recorder snapshot
#: (periodic or at a file roll: the same state the deltas built, so a reader can start there)
DELTA: Final = 0
SNAPSHOT: Final = 1
CHECKPOINT: Final = 2
BID: Final = 0
ASK: Final = 1

_COMMON = [
    pa.field("ts_recv", pa.int64(), nullable=False),  # ns, when the recorder got it
    pa.field("ts_event", pa.int64(), nullable=False),  # ns, venue time (= ts_recv if unknown)
    pa.field("rec_seq", pa.int64(), nullable=False),  # recorder's running message number
    pa.field("gap", pa.bool_(), nullable=False),  # data may be missing just before this row
]

SCHEMAS: Final[dict[str, pa.Schema]] = {
    TRADES: pa.schema(
        [
            *_COMMON,
            pa.field("price", pa.float64()),
            pa.field("qty", pa.float64()),
            pa.field("side", pa.string()),
            pa.field("trade_id", pa.string()),
        ]
    ),
    QUOTES: pa.schema(
        [
            *_COMMON,
            pa.field("bid", pa.float64()),
            pa.field("bid_qty", pa.float64()),
            pa.field("ask", pa.float64()),
            pa.field("ask_qty", pa.float64()),
        ]
    ),
    BOOK: pa.schema(
        [
            *_COMMON,
            pa.field("sequence", pa.int64()),
            pa.field("kind", pa.int8()),
            pa.field("side", pa.int8()),
            pa.field("price", pa.float64()),
            pa.field("size", pa.float64()),
        ]
    ),
    BARS: pa.schema(
        [
            *_COMMON,
            pa.field("start", pa.int64()),
            pa.field("open", pa.float64()),
            pa.field("high", pa.float64()),
            pa.field("low", pa.float64()),
            pa.field("close", pa.float64()),
            pa.field("volume", pa.float64()),
            pa.field("interval", pa.string()),
        ]
    ),
    FUNDING: pa.schema(
        [
            *_COMMON,
            pa.field("rate", pa.float64()),
            pa.field("mark", pa.float64()),  # NaN: the venue gave none
            pa.field("funding_time", pa.int64()),  # ns, the settlement the rate applies to
        ]
    ),
    STATUS: pa.schema([*_COMMON, pa.field("status", pa.string()), pa.field("detail", pa.string())]),
    CUSTOM: pa.schema([*_COMMON, pa.field("kind", pa.string()), pa.field("payload", pa.string())]),
}

CHANNELS: Final = tuple(SCHEMAS)

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_PART = re.compile(r"^p-([0-9a-f]+)-(\d+)\.parquet$")
_COMPACT = re.compile(r"^c-([0-9a-f]+)-(\d+)-(\d+)\.parquet$")


def safe(name: str) -> str:
    """A partition value usable as a directory name on any OS (``/`` in BTC/USD -> ``_``)."""
    return _SAFE.sub("_", name)


def partition_dir(root: Path, venue: str, channel: str, instrument: str, date: str) -> Path:
    return (
        root
        / f"venue={safe(venue)}"
        / f"channel={channel}"
        / f"instrument={safe(instrument)}"
        / f"date={date}"
    )


def live_files(folder: Path) -> list[Path]:
    """The folder's readable data files: finished parts and compactions, without ``.tmp``
    leftovers of a killed writer and without parts a compaction already holds."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    covered: dict[str, list[tuple[int, int]]] = {}
    for n in names:
        m = _COMPACT.match(n)
        if m:
            covered.setdefault(m[1], []).append((int(m[2]), int(m[3])))
    out = []
    for n in sorted(names):
        if not n.endswith(".parquet"):
            continue
        m = _PART.match(n)
        if m and any(a <= int(m[2]) <= b for a, b in covered.get(m[1], [])):
            continue
        out.append(folder / n)
    return out


def covered_parts(folder: Path) -> list[Path]:
    """Parts already held by a compacted file (safe to delete)."""
    live = set(live_files(folder))
    return [folder / n for n in os.listdir(folder) if _PART.match(n) and folder / n not in live]


def all_files(root: Path) -> list[Path]:
    """Every live data file under ``root``."""
    out: list[Path] = []
    for dirpath, _dirs, files in os.walk(root):
        if any(f.endswith(".parquet") for f in files):
            out.extend(live_files(Path(dirpath)))
    return sorted(out)


def store_root(given: str | None) -> Path:
    """``--store`` if given, else ``$TRADELOOP_STORE``, else the documented default."""
    raw = given or os.environ.get(DEFAULT_STORE_ENV) or str(DEFAULT_STORE)
    return Path(raw).expanduser()
