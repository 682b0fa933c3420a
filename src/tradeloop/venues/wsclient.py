"""Shared WebSocket client: connect, heartbeat, reconnect with backoff, resubscribe.

A live feed must survive the network: the venue drops idle or old connections, load balancers
cut sockets, maintenance closes them. This client owns that lifecycle so venue code only says
*what* to subscribe to and *how* to log in:

* one long-running task connects, runs the ``on_connect`` hook (login on private sockets),
  then re-sends every stored subscription, then reads until the socket dies;
* reconnects use exponential backoff with full jitter (:mod:`tradeloop.venues.retry`);
* heartbeat: when nothing has been received for ``heartbeat_interval`` it sends ``ping_text``
  (OKX: the text ``ping``, answered by ``pong``; ``None`` = protocol ping frames) and drops the
  connection if still nothing arrives within ``heartbeat_timeout`` — a silent socket is dead.
  Venues that close sockets without a ping every so often, data flowing or not (FTX: 15 s),
  set ``ping_always``: then the ping goes out every ``heartbeat_interval`` regardless;
* request/response helpers (``request``) let hooks await a specific reply (login ack, order
  ack) while the reader keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tradeloop.core.errors import AuthError, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.http import NetworkError
from tradeloop.venues.retry import RECONNECT_RETRY, RetryConfig, Rng, backoff_delay

log = get_logger(__name__)

MessageHandler = Callable[[str], Awaitable[None] | None]
ConnectHook = Callable[["WsClient"], Awaitable[None]]
StateHandler = Callable[[str, str], None]
Batcher = Callable[[list[str]], list[str]]


@dataclass(frozen=True, slots=True)
class WsConfig:
    heartbeat_interval: float = 20.0
    heartbeat_timeout: float = 10.0
    ping_text: str | None = "ping"
    pong_text: str | None = "pong"
    #: ping every ``heartbeat_interval`` even while data flows (not only when idle)
    ping_always: bool = False
    connect_timeout: float = 10.0
    reconnect: RetryConfig = field(default=RECONNECT_RETRY)
    max_msg_size: int = 16 * 1024 * 1024


class WsClient:
    """One logical WebSocket connection that reconnects itself (see module docstring)."""

    def __init__(
        self,
        url: str,
        on_message: MessageHandler,
        *,
        config: WsConfig | None = None,
        on_connect: ConnectHook | None = None,
        on_state: StateHandler | None = None,
        batch_resubscribe: Batcher | None = None,
        session: aiohttp.ClientSession | None = None,
        rng: Rng = random.random,
        name: str = "",
    ) -> None:
        self.url = url
        self.name = name or url
        self.config = config or WsConfig()
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_state = on_state
        self._batch = batch_resubscribe
        self._session = session
        self._own_session = session is None
        self._rng = rng
        self._subs: dict[str, str] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        #: why the last connection attempt or its setup (login) failed, for start errors
        self.last_error: BaseException | None = None
        self._refused = asyncio.Event()  # the login was refused: waiting longer won't help
        self._stopping = False
        self._waiters: list[tuple[Callable[[str], bool], asyncio.Future[str]]] = []
        self._last_recv = 0.0
        #: Number of successful connections (1 after the first connect).
        self.connections = 0

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def subscriptions(self) -> dict[str, str]:
        return dict(self._subs)

    async def start(self, wait: float | None = None) -> None:
        """Start the connection task; with ``wait``, block until connected (or time out)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"ws:{self.name}")
        if wait is not None:
            await self.wait_connected(wait)

    async def wait_connected(self, timeout: float) -> None:
        """Wait until connected; on timeout raise the reason the attempts failed (an
        ``AuthError`` when the login was refused) rather than a bare timeout."""
        ready = asyncio.ensure_future(self._ready.wait())
        refused = asyncio.ensure_future(self._refused.wait())
        try:
            await asyncio.wait_for(
                asyncio.wait((ready, refused), return_when=asyncio.FIRST_COMPLETED), timeout
            )
            if self._ready.is_set():
                return
            raise TimeoutError
        except TimeoutError:
            last = self.last_error
            if isinstance(last, VenueError):
                raise last from None
            why = f": {type(last).__name__}: {last}" if last is not None else ""
            raise NetworkError(f"{self.name}: not connected within {timeout:g}s{why}") from None
        finally:
            for fut in (ready, refused):
                fut.cancel()

    async def stop(self) -> None:
        self._stopping = True
        for job in list(self._jobs):
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def drop(self) -> None:
        """Close the current socket to force a reconnect (used after protocol errors)."""
        ws = self._ws
        if ws is not None:
            await ws.close()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` beside the reader: what a message handler must not await inline (a
        book resync, a reconnect the venue asked for). :meth:`stop` cancels what still runs."""
        job = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    # -- sending --------------------------------------------------------------------------
    async def send(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError(f"{self.name}: not connected")
        await ws.send_str(text)

    async def subscribe(self, key: str, payload: str) -> None:
        """Remember ``payload`` under ``key`` and send it now if connected; it is re-sent
        after every reconnect until :meth:`unsubscribe`."""
        self._subs[key] = payload
        if self._ready.is_set():
            with contextlib.suppress(ConnectionError):
                await self.send(payload)

    async def unsubscribe(self, key: str, payload: str | None = None) -> None:
        self._subs.pop(key, None)
        if payload is not None and self._ready.is_set():
            with contextlib.suppress(ConnectionError):
                await self.send(payload)

    async def request(
        self, payload: str | None, match: Callable[[str], bool], timeout: float = 10.0
    ) -> str:
        """Send ``payload`` (if any) and wait for the first received message ``match``
        accepts. The message is still delivered to ``on_message``."""
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        entry = (match, fut)
        self._waiters.append(entry)
        try:
            if payload is not None:
                await self.send(payload)
            return await asyncio.wait_for(fut, timeout)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def handshake(
        self,
        steps: Sequence[str | tuple[str, Callable[[str], bool]]],
        refused: Callable[[str], AuthError | None],
        timeout: float = 10.0,
    ) -> None:
        """Log in (an ``on_connect`` hook's work): send each step in order; a
        ``(payload, match)`` step awaits its reply (the first message ``match`` accepts) and
        ``refused(reply)`` says whether that reply refuses the login. A refusal is raised, so
        this connection attempt fails and :meth:`wait_connected` reports it. Venues that answer
        a good login with silence (FTX) send it as a plain step and await the acks of the
        private subscriptions that follow it, where a bad login shows."""
        for step in steps:
            if isinstance(step, str):
                await self.send(step)
                continue
            reply = await self.request(step[0], step[1], timeout)
            error = refused(reply)
            if error is not None:
                raise error
        log.info("%s: logged in", self.name)

    # -- internals ------------------------------------------------------------------------
    def _state(self, status: str, detail: str = "") -> None:
        if self._on_state is not None:
            try:
                self._on_state(status, detail)
            except Exception:
                log.exception("%s: state handler failed", self.name)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def _run(self) -> None:
        retry = 0
        cfg = self.config
        while not self._stopping:
            try:
                ws = await self._get_session().ws_connect(
                    self.url,
                    timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
                    heartbeat=cfg.heartbeat_interval if cfg.ping_text is None else None,
                    max_msg_size=cfg.max_msg_size,
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                delay = backoff_delay(retry, cfg.reconnect, self._rng)
                retry += 1
                self.last_error = exc
                log.warning("%s: connect failed (%s); retry in %.2fs", self.name, exc, delay)
                self._state("disconnected", str(exc))
                await asyncio.sleep(delay)
                continue
            self._ws = ws
            loop = asyncio.get_running_loop()
            self._last_recv = loop.time()
            reader = asyncio.create_task(self._read(ws), name=f"ws-read:{self.name}")
            beat = asyncio.create_task(self._heartbeat(ws), name=f"ws-beat:{self.name}")
            healthy = False
            try:
                if self._on_connect is not None:
                    await self._on_connect(self)
                self._ready.set()
                self._refused.clear()
                subs = list(self._subs.values())
                for payload in self._batch(subs) if self._batch else subs:
                    await ws.send_str(payload)
                self.connections += 1
                healthy = True
                retry = 0
                self._state("connected" if self.connections == 1 else "reconnected", self.url)
                log.info("%s: connected (%d subscriptions)", self.name, len(subs))
                await reader
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = exc
                if isinstance(exc, AuthError):
                    self._refused.set()
                log.warning("%s: connection setup failed: %s", self.name, exc)
            finally:
                self._ready.clear()
                beat.cancel()
                reader.cancel()
                for t in (beat, reader):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t
                with contextlib.suppress(Exception):
                    await ws.close()
                self._ws = None
                for _, fut in self._waiters:
                    if not fut.done():
                        fut.set_exception(ConnectionError(f"{self.name}: disconnected"))
            if self._stopping:
                break
            self._state("disconnected", f"close code {ws.close_code}")
            delay = backoff_delay(0 if healthy else retry, cfg.reconnect, self._rng)
            if not healthy:
                retry += 1
            log.warning(
                "%s: disconnected (code %s); reconnect in %.2fs", self.name, ws.close_code, delay
            )
            await asyncio.sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        pong = self.config.pong_text
        async for msg in ws:
            self._last_recv = loop.time()
            if msg.type is aiohttp.WSMsgType.TEXT:
                text: str = msg.data
            elif msg.type is aiohttp.WSMsgType.BINARY:
                text = msg.data.decode()
            else:  # ERROR / CLOSE frames end the iteration
                break
            if pong is not None and text == pong:
                continue
            if self._waiters:
                for match, fut in list(self._waiters):
                    if not fut.done() and match(text):
                        fut.set_result(text)
            try:
                res = self._on_message(text)
                if inspect.isawaitable(res):
                    await res
            except Exception:
                log.exception("%s: message handler failed", self.name)

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        cfg = self.config
        if cfg.ping_text is None:
            return  # aiohttp sends protocol pings (heartbeat=...)
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + cfg.heartbeat_interval
        while not ws.closed:
            now = loop.time()
            due = next_ping if cfg.ping_always else self._last_recv + cfg.heartbeat_interval
            if now < due:
                await asyncio.sleep(due - now)
                continue
            sent_at = loop.time()
            next_ping = sent_at + cfg.heartbeat_interval
            await ws.send_str(cfg.ping_text)
            await asyncio.sleep(cfg.heartbeat_timeout)
            if self._last_recv < sent_at:
                log.warning(
                    "%s: no pong within %.1fs; reconnecting", self.name, cfg.heartbeat_timeout
                )
                await ws.close()
                return
