"""Read OKX v5 WebSocket captures (cryptofeed's raw format: ``ts: {json}`` per received
message, ``URL <- ts: ...`` for sent ones) into venue-neutral replay records."""

from __future__ import annotations

import json
from pathlib import Path

from tradeloop.emulator.replay import BookRecord, Record, TradeRecord


def load_capture(path: str | Path, inst_ids: set[str]) -> dict[str, list[Record]]:
    """Books (snapshot/update) and trades per instId, in arrival order, each instrument's
    list starting at its first snapshot. Instruments with no snapshot are left out."""
    out: dict[str, list[Record]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if " <- " in line or ": {" not in line:
                continue
            try:
                msg = json.loads(line[line.index(": {") + 2 :])
            except json.JSONDecodeError:
                continue
            arg = msg.get("arg") if isinstance(msg, dict) else None
            if not isinstance(arg, dict) or arg.get("instId") not in inst_ids:
                continue
            inst_id = arg["instId"]
            channel = arg.get("channel")
            recs = out.setdefault(inst_id, [])
            if channel == "books" and msg.get("data"):
                d = msg["data"][0]
                snap = msg.get("action") == "snapshot"
                if not recs and not snap:
                    continue
                recs.append(
                    BookRecord(
                        snap,
                        [(lv[0], lv[1]) for lv in d.get("bids", [])],
                        [(lv[0], lv[1]) for lv in d.get("asks", [])],
                    )
                )
            elif channel == "trades" and recs:
                for t in msg.get("data", []):
                    recs.append(TradeRecord(t["px"], t["sz"], t["side"]))
    return {k: v for k, v in out.items() if v}
