"""Readers for the recorded Binance traffic (cryptofeed captures in ``../shared/data``), shared
by the tests and ``bench/binance_ingest.py``: REST depth snapshots and the WS diff stream in
arrival order, so a replay can fetch each snapshot when the recorder did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def snapshots(path: Path) -> list[tuple[float, str, dict[str, Any]]]:
    """``(received_at, symbol, body)`` of each ``/depth`` snapshot in ``X.http.0.0``."""
    out = []
    for line in path.read_text().splitlines():
        if " -> " not in line:
            continue
        url, _, rest = line.partition(" -> ")
        ts, _, body = rest.partition(": ")
        sym = url.split("symbol=")[1].split("&")[0]
        out.append((float(ts), sym, json.loads(body)))
    return out


def ws_messages(path: Path) -> Iterator[tuple[float, str]]:
    """``(received_at, raw text)`` of every message the recorder received."""
    for line in path.read_text().splitlines():
        if "<->" in line or " <- " in line or ": " not in line:
            continue
        ts, _, body = line.partition(": ")
        try:
            yield float(ts), body
        except ValueError:
            continue
