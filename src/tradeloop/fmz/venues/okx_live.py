"""Live OKX books and tickers for the bridge (placeholder until the connector's WS lands).

Interface used by :class:`~tradeloop.fmz.venues.okx.OkxFmzVenue`: ``watch(inst)`` starts a
subscription, ``ticker``/``book`` answer from live state or ``None`` (caller falls back to REST).
"""

from __future__ import annotations

from typing import Any

import aiohttp


class OkxLiveData:
    def __init__(self, ws_url: str, session: aiohttp.ClientSession, stale_after: float) -> None:
        self.ws_url = ws_url
        self.session = session
        self.stale_after = stale_after

    def watch(self, inst: str) -> None:
        return None

    def ticker(self, inst: str) -> dict[str, Any] | None:
        return None

    def book(self, inst: str, limit: int) -> dict[str, Any] | None:
        return None

    async def close(self) -> None:
        return None
