"""Reader for cryptofeed raw WS captures (``URL <-> ts``, ``URL <- ts: msg``, ``ts: msg``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def received_raw(path: Path) -> Iterator[str]:
    """The text of every message the client *received*, in order."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line or not line[0].isdigit():
                continue  # "wss://... <->" connects and "wss://... <-" sends
            _, _, msg = line.partition(": ")
            yield msg.rstrip("\n")


def received(path: Path) -> Iterator[dict[str, Any]]:
    for raw in received_raw(path):
        yield json.loads(raw)


def okx_books(path: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(instId, action, data_item)`` for every ``books`` push."""
    for msg in received(path):
        arg = msg.get("arg") or {}
        if arg.get("channel") == "books" and "data" in msg:
            for item in msg["data"]:
                yield arg["instId"], msg["action"], item
