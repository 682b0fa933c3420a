"""Custom data: user-defined events from outside sources, recorded and replayed like market data.

Why events on the same bus: a strategy that reacts to a text signal, another market's index or
an on-chain figure must see it interleaved in time with its trades and books, live and in a
backtest alike. So outside data is a :class:`CustomData` subclass (a frozen ``msgspec`` struct
on the bus like ``TradeTick``), a *source* turns an outside feed into those events and hands
them to a sink — the live Kernel's ``on_market_data`` or the :class:`Recorder` — and the store
keeps them in the ``custom`` channel (``venue=CUSTOM``, ``instrument=<kind>``, the event's
fields as JSON in ``payload``) so the tick replay publishes them again at their receive time.

A user type is registered by subclassing with a ``kind`` class variable (``class
News(CustomData, frozen=True)`` with ``kind: ClassVar[str] = "news"`` and its fields);
strategies subscribe with :func:`subscribe` in ``on_start`` (the Strategy API has no per-type
callback, and the bus is where every event goes anyway).

Sources (each ``await source.run(sink)`` until cancelled or, for files, the end):
:class:`HttpPollSource` (GET every ``every_s``; a failed poll is logged and retried next
period), :class:`WebSocketSource` (reconnects with a pause after a drop) and
:class:`FileSource` (JSON lines). Each takes ``parse(data, ts_ns) -> events``: the user's
mapping from the source's text to events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import aiohttp
import msgspec
from yarl import URL

from tradeloop.core.errors import UserError
from tradeloop.model import Event

log = logging.getLogger(__name__)

VENUE = "CUSTOM"


class CustomData(Event, frozen=True, gc=False):
    """Base of user-defined events; a subclass names its type with a ``kind`` class variable
    (``kind: ClassVar[str] = "news"``) and is registered under it when defined."""

    registry: ClassVar[dict[str, type[CustomData]]] = {}
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        kind = cls.__dict__.get("kind", "")
        if not kind or not isinstance(kind, str):
            raise TypeError(f"{cls.__name__}: give the custom data type a kind (ClassVar[str])")
        known = CustomData.registry.get(kind)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"custom data kind {kind!r} is already {known.__qualname__}")
        CustomData.registry[kind] = cls

    @property
    def symbol(self) -> str:
        """The stream id the store and ``reader.merged`` use: ``<kind>.CUSTOM``."""
        return f"{self.kind}.{VENUE}"


_enc = msgspec.json.Encoder()


def encode(ev: CustomData) -> str:
    """The event's fields but ``ts`` as JSON text (the ``payload`` column)."""
    fields = {f: getattr(ev, f) for f in ev.__struct_fields__ if f != "ts"}
    return _enc.encode(fields).decode()


def decode(kind: str, ts: int, payload: str) -> CustomData:
    """A stored row back to its event; an unregistered kind is a one-line error."""
    cls = CustomData.registry.get(kind)
    if cls is None:
        raise UserError(f"custom data kind {kind!r} is not registered (import its module first)")
    return msgspec.convert({**msgspec.json.decode(payload), "ts": ts}, cls)


def subscribe(strategy: Any, kind: type[CustomData], handler: Callable[[Any], None]) -> None:
    """Have ``handler`` called with every ``kind`` event on the strategy's kernel bus."""
    strategy.kernel.bus.subscribe(kind, handler)


class Sink(Protocol):
    def on_market_data(self, ev: Event) -> None: ...


Parse = Callable[[Any, int], Iterable[CustomData]]


class FileSource:
    """A file of JSON lines, each given to ``parse`` with its receive time: the line's own
    ``ts_field`` (ns) when present, else the wall clock."""

    def __init__(self, path: Path, parse: Parse, ts_field: str = "ts") -> None:
        self.path, self.parse, self.ts_field = path, parse, ts_field

    async def run(self, sink: Sink) -> int:
        n = 0
        with self.path.open("rb") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = msgspec.json.decode(line)
                except msgspec.DecodeError as exc:
                    raise UserError(f"{self.path}:{i}: not JSON ({exc})") from None
                ts = obj.get(self.ts_field) if isinstance(obj, dict) else None
                for ev in self.parse(obj, int(ts) if ts else time.time_ns()):
                    sink.on_market_data(ev)
                    n += 1
        return n


def safe_url(url: str) -> str:
    """``url`` fit for a log line: a query or user:password (where feeds put their tokens)
    replaced by ``…``."""
    try:
        u = URL(url)
    except (ValueError, TypeError):
        return "<url>"
    if u.user or u.password:
        u = u.with_user(None)
    return str(u.with_query(None)) + ("?…" if u.query_string else "")


def redact(text: str, url: str) -> str:
    """``text`` (an error message that may quote ``url``, as aiohttp's do) without the
    parts of ``url`` :func:`safe_url` hides."""
    try:
        u = URL(url)
    except (ValueError, TypeError):
        return text.replace(url, "<url>")
    for secret in (url, str(u), u.query_string, u.raw_query_string, u.password, u.user):
        if secret:
            text = text.replace(secret, "…")
    return text


class HttpPollSource:
    """GET ``url`` every ``every_s`` seconds; the decoded JSON (or text) goes to ``parse``."""

    def __init__(self, url: str, parse: Parse, every_s: float = 5.0, timeout_s: float = 10.0):
        self.url, self.parse, self.every_s, self.timeout_s = url, parse, every_s, timeout_s
        self.polls = self.failures = 0

    async def run(self, sink: Sink, *, polls: int = 0) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not polls or self.polls < polls:
                t0 = time.monotonic()
                self.polls += 1
                try:
                    async with http.get(self.url) as r:
                        r.raise_for_status()
                        body = await r.read()
                    data: Any = _json_or_text(body)
                    for ev in self.parse(data, time.time_ns()):
                        sink.on_market_data(ev)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.failures += 1
                    log.warning("custom source %s: %s (next poll in %.1fs)",
                                safe_url(self.url), redact(str(exc), self.url),
                                self.every_s)  # fmt: skip
                await asyncio.sleep(max(0.0, self.every_s - (time.monotonic() - t0)))


class WebSocketSource:
    """Messages of a WebSocket (text: JSON when it parses); ``subscribe`` messages are sent on
    each connect; a dropped connection is reopened after ``reconnect_s``."""

    def __init__(self, url: str, parse: Parse, subscribe: Iterable[Any] = (),
                 reconnect_s: float = 1.0) -> None:  # fmt: skip
        self.url, self.parse, self.reconnect_s = url, parse, reconnect_s
        self.subscribe = list(subscribe)
        self.connects = 0

    async def run(self, sink: Sink, *, connects: int = 0) -> None:
        async with aiohttp.ClientSession() as http:
            while not connects or self.connects < connects:
                self.connects += 1
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.ws_connect(self.url, heartbeat=20) as ws:
                        for m in self.subscribe:
                            await ws.send_json(m)
                        async for msg in ws:
                            if msg.type is aiohttp.WSMsgType.TEXT:
                                for ev in self.parse(_json_or_text(msg.data), time.time_ns()):
                                    sink.on_market_data(ev)
                log.info("custom source %s: disconnected; reconnecting", safe_url(self.url))
                if not connects or self.connects < connects:
                    await asyncio.sleep(self.reconnect_s)


def _json_or_text(body: bytes | str) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body.decode() if isinstance(body, bytes) else body
