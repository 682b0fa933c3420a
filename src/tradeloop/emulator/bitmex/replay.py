"""Read BitMEX ``/realtime`` captures (cryptofeed's raw format: ``ts: {json}`` per received
message, ``URL <- ts: ...`` for sent ones) into the emulator's venue-neutral replay records, so
``tradeloop emulator bitmex --replay ../shared/data/captures/BITMEX.ws.1.0`` plays the real
July 2021 XBTUSD book and trades instead of a random walk.

BitMEX's ``orderBookL2`` is keyed by level id, and an ``update`` / ``delete`` carries only the
id (and the new size): the price is remembered from the ``partial`` / ``insert`` that
introduced the id, as a client does, and every record written with its price. Recent trades
in the ``trade`` partial are history, not market activity: only inserted trades replay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tradeloop.emulator.replay import BookRecord, Record, TradeRecord


def _text(v: Any) -> str:
    """A JSON number as the decimal string the replay records keep."""
    return str(v) if isinstance(v, int) else repr(float(v))


def load_capture(path: str | Path, symbols: set[str]) -> dict[str, list[Record]]:
    """Books (partial as a snapshot, insert/update/delete as updates) and inserted trades per
    symbol, in arrival order, each symbol's list starting at its first partial. Symbols
    without a partial are left out; a row naming an id never introduced is skipped (the
    capture lost a message; the next partial repairs the book). ValueError (one line) when
    the file cannot be read or holds no partial for any of ``symbols``."""
    out: dict[str, list[Record]] = {}
    ids: dict[str, dict[int, tuple[bool, str]]] = {}
    try:
        _read(Path(path), symbols, out, ids)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--replay {path}: cannot read it ({exc})") from None
    found = {k: v for k, v in out.items() if v}
    if not found:
        raise ValueError(
            f"--replay {path}: no orderBookL2 partial for {', '.join(sorted(symbols))} in it"
        )
    return found


def _read(
    path: Path,
    symbols: set[str],
    out: dict[str, list[Record]],
    ids: dict[str, dict[int, tuple[bool, str]]],
) -> None:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if " <- " in line or ": {" not in line or '"table":' not in line:
                continue
            try:
                msg = json.loads(line[line.index(": {") + 2 :])
            except json.JSONDecodeError:
                continue
            table, action = msg.get("table"), msg.get("action")
            rows = msg.get("data")
            if not isinstance(rows, list):
                continue
            try:
                if table in ("orderBookL2", "orderBookL2_25"):
                    _book(out, ids, symbols, action, rows)
                elif table == "trade" and action == "insert":
                    for r in rows:
                        recs = out.get(r.get("symbol"))
                        if recs:
                            side = "buy" if r.get("side") == "Buy" else "sell"
                            recs.append(TradeRecord(_text(r["price"]), _text(r["size"]), side))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a malformed message: the rest of the capture still replays


def _book(
    out: dict[str, list[Record]],
    ids: dict[str, dict[int, tuple[bool, str]]],
    symbols: set[str],
    action: Any,
    rows: list[dict[str, Any]],
) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("symbol") in symbols:
            groups.setdefault(r["symbol"], []).append(r)
    for sym, group in groups.items():
        known = ids.setdefault(sym, {})
        if action == "partial":
            known.clear()
        elif sym not in out:
            continue  # before the symbol's first partial
        bids: list[tuple[str, str]] = []
        asks: list[tuple[str, str]] = []
        for r in group:
            if action in ("partial", "insert"):
                is_bid, px = r["side"] == "Buy", _text(r["price"])
                known[r["id"]] = (is_bid, px)
                size = _text(r["size"])
            elif r["id"] in known:
                is_bid, px = known[r["id"]]
                if action == "delete":
                    del known[r["id"]]
                    size = "0"
                else:
                    size = _text(r["size"])
            else:
                continue
            (bids if is_bid else asks).append((px, size))
        out.setdefault(sym, []).append(BookRecord(action == "partial", bids, asks))
