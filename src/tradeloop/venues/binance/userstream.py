"""The USD-M futures user data stream: a listenKey from REST, a WebSocket on it.

Spot's account events come over the WS API session; USD-M futures still deliver theirs on a
listenKey: ``POST /fapi/v1/listenKey`` (API key only) gives the key, the socket is Binance's routed
``<futures ws root>/private/ws?listenKey=<key>&events=...`` (the legacy ``/ws/<key>`` was
retired in 2026-04), and a ``PUT`` every 30 minutes keeps it alive (it lapses after
60). Asking for a key while one is live returns the same key, so after a disconnect or a
``listenKeyExpired`` event the stream asks again and reconnects on whatever it gets -- the
shared :class:`~tradeloop.venues.wsclient.WsClient` reads its ``url`` on every attempt.

The listenKey is a bearer credential (whoever holds it reads the account's orders and
balances), so the status details handed on (the socket's URL, connect errors quoting it) name
it ``<listenKey>``, and a frame that is not JSON is one warning line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger, register_secret
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance.rest import BinanceRestClient
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

KEEPALIVE_S = 30 * 60
_dec = msgspec.json.Decoder()


class UserStream:
    """One listenKey socket (see the module docstring)."""

    def __init__(
        self,
        rest: BinanceRestClient,
        ws_base: str,
        on_event: Callable[[dict[str, Any]], None],
        on_status: Callable[[str, str], None],
        config: WsConfig,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.rest = rest
        #: the USD-M WebSocket root (``wss://fstream.binance.com``, the emulator's ``/fapi``)
        self.ws_base = ws_base.rstrip("/")
        self.on_event = on_event
        self.on_status = on_status
        self.keepalive_s = keepalive_s
        self.client = WsClient(self.ws_base + C.FWS_PRIVATE, self._on_message, config=config,
                               on_state=self._state, name="binance-futures-user")  # fmt: skip
        self._tasks: set[asyncio.Task[None]] = set()
        #: the keys handed out lately (an error about an old one may still arrive)
        self._keys: deque[str] = deque(maxlen=4)

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def _new_key(self) -> None:
        res = await self.rest.call("POST", "/fapi/v1/listenKey")
        key = str(res["listenKey"])
        register_secret(key)  # any log line that quotes the socket's URL masks it
        if key not in self._keys:
            self._keys.append(key)
        self.client.url = f"{self.ws_base}{C.FWS_PRIVATE}?listenKey={key}&events={C.FWS_EVENTS}"

    async def start(self, wait: float | None = None) -> None:
        await self._new_key()
        self._spawn(self._keepalive())
        await self.client.start(wait)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.client.stop()
        with contextlib.suppress(VenueError, OSError):
            await self.rest.call("DELETE", "/fapi/v1/listenKey")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            try:
                await self.rest.call("PUT", "/fapi/v1/listenKey")
            except VenueError as exc:
                log.warning("Binance futures listenKey keepalive failed (%s); new key", exc)
                await self._refresh()

    async def _refresh(self) -> None:
        try:
            await self._new_key()
        except VenueError as exc:
            log.warning("Binance futures listenKey refresh failed: %s", exc)

    def redact(self, text: str) -> str:
        """``text`` with the listenKeys this stream was given masked (a URL may be quoted
        normalised, so the keys themselves are what is looked for)."""
        for key in self._keys:
            text = text.replace(key, "<listenKey>")
        return text

    def _state(self, status: str, detail: str) -> None:
        if status == "disconnected":
            self._spawn(self._refresh())  # before the client's next attempt
        self.on_status(status, self.redact(detail))

    def _on_message(self, text: str) -> None:
        try:
            msg = _dec.decode(text)
        except msgspec.DecodeError as exc:
            log.warning("Binance futures user stream: undecodable frame (%s): %r", exc, text[:120])
            return
        if not isinstance(msg, dict):
            log.warning("Binance futures user stream: not an event: %r", text[:120])
            return
        if msg.get("e") == "listenKeyExpired":
            log.warning("Binance futures listenKey expired; reconnecting on a new one")
            self._spawn(self._expired())
            return
        self.on_event(msg)

    async def _expired(self) -> None:
        await self._refresh()
        await self.client.drop()
