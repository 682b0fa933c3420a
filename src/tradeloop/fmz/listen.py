"""The bridge's listening sockets and accept loop.

asyncio's built-in accept path (``loop.create_server``) cannot be bounded from outside: on
Python 3.11, at the file-descriptor limit, one readiness event makes it call ``accept()`` up to
``backlog`` times, log ``socket.accept() out of system resource`` with a traceback for *each*
failure and schedule one retry per failure — the issue measured 741,464 such lines in 61 s and a
core at 100 %. Here each listening socket has one task that accepts one connection at a time:

* every accepted socket asks :class:`~tradeloop.fmz.conn.ConnectionGuard` for a slot; a refused
  one gets a fixed two-line reply written straight to the socket and is closed — no transport,
  no parser, no task;
* at the descriptor limit (``EMFILE``/``ENFILE``/``ENOBUFS``/``ENOMEM``) the oldest connection
  that has not sent a request is dropped to free a descriptor, else the loop backs off 50 ms;
  such errors are logged at most once a second, with a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable

from tradeloop.fmz.conn import ConnectionGuard, GuardedConnection
from tradeloop.fmz.protocol import encode, err
from tradeloop.fmz.quietlog import RateLimitedLog

log = logging.getLogger(__name__)

_FD_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: errors about one connection that died before we took it: nothing to do, nothing to log
_PEER_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ECONNRESET})
_BACKOFF = 0.05
#: descriptors kept free for upstream sockets, the capture file, logs ...
FD_RESERVE = 64


def _busy_reply() -> bytes:
    body = encode(err("FMZ bridge busy: too many connections, retry shortly"))
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


BUSY_REPLY = _busy_reply()


def connection_cap(requested: int) -> int:
    """``requested``, lowered so client sockets can never use up the process's descriptors:
    at most half of what the soft ``RLIMIT_NOFILE`` leaves after :data:`FD_RESERVE`."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # not POSIX
        return max(1, requested)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return max(1, requested)
    return max(1, min(requested, max(8, (soft - FD_RESERVE) // 2)))


class Listener:
    """Listening sockets for ``host:port`` feeding one :class:`ConnectionGuard`."""

    def __init__(self, guard: ConnectionGuard, backlog: int = 512) -> None:
        self.guard = guard
        self.backlog = backlog
        self.sockets: list[socket.socket] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._log_accept = RateLimitedLog(log, logging.WARNING)
        self.accept_errors = 0

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind every address ``host`` resolves to (one shared port) and start accepting.
        Returns the first bound address."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        seen: set[tuple[int, object]] = set()
        try:
            for family, kind, proto, _, addr in infos:
                if (family, addr[0]) in seen:
                    continue
                seen.add((family, addr[0]))
                if self.sockets and port == 0:  # same port on every address
                    addr = (addr[0], self.sockets[0].getsockname()[1], *addr[2:])
                try:
                    sock = socket.socket(family, kind, proto)
                except OSError:  # e.g. no IPv6 on this host: skip, as asyncio does
                    continue
                self.sockets.append(_bind(sock, family, addr, self.backlog))
            if not self.sockets:
                raise OSError(errno.EADDRNOTAVAIL, f"no usable address for {host!r}")
        except OSError:
            self._close_sockets()
            raise
        for sock in self.sockets:
            self._tasks.append(asyncio.create_task(self._accept_loop(sock)))
        name = self.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def close(self) -> None:
        """Stop accepting and close the listening sockets (connections are the guard's)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:
                await self._accept_failed(exc)
                continue
            try:
                await self._serve(loop, conn)
            except Exception:  # never let one connection stop the accept loop
                self._log_accept("setting up a connection failed", exc_info=True)
                conn.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
        proto = self.guard.admit()
        if proto is None:
            wait = self.guard.next_evictable_in()
            if wait is not None:  # slots held by young connections: wait for the oldest
                try:
                    await asyncio.sleep(wait)
                except asyncio.CancelledError:  # stop() while waiting
                    conn.close()
                    raise
                proto = self.guard.admit()
        if proto is None:
            self.guard.refused()
            _refuse(conn)
            return
        try:
            conn.setblocking(False)
            await loop.connect_accepted_socket(_const(proto), conn)
        except OSError as exc:  # the peer went away during set-up
            log.debug("could not set up an accepted connection: %s", exc)
            self.guard.discard(proto)
            conn.close()
        except BaseException:
            self.guard.discard(proto)
            conn.close()
            raise

    async def _accept_failed(self, exc: OSError) -> None:
        if exc.errno in _PEER_ERRORS:
            return
        self.accept_errors += 1
        if exc.errno in _FD_ERRORS:
            freed = self.guard.evict_oldest("out of file descriptors")
            self._log_accept(
                "accept() failed: %s (%d connections open); %s",
                exc.strerror or exc,
                len(self.guard),
                "dropped the oldest connection without a request" if freed else "retrying in 50 ms",
            )
            await asyncio.sleep(0 if freed else _BACKOFF)
            return
        self._log_accept("accept() failed: %s", exc.strerror or exc)
        await asyncio.sleep(_BACKOFF)


def _bind(
    sock: socket.socket, family: int, addr: tuple[object, ...], backlog: int
) -> socket.socket:
    try:
        if hasattr(socket, "SO_REUSEADDR"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _const(proto: GuardedConnection) -> Callable[[], GuardedConnection]:
    return lambda: proto


def _refuse(conn: socket.socket) -> None:
    """Answer a connection we have no slot for and close it, without a transport."""
    try:
        conn.setblocking(False)
        conn.send(BUSY_REPLY)
    except OSError:
        pass
    finally:
        conn.close()
