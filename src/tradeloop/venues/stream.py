"""One venue socket with the books it keeps in sync (the venue kit, stream side).

Every venue stream repeated the same frame around its wire format: a
:class:`~tradeloop.venues.wsclient.WsClient` to own, ``start`` / ``stop`` / ``connected``,
books keyed by wire symbol that go stale when the socket drops (cleared, so nothing serves
them until the resubscribe brings snapshots), and the cure for a book that failed its
sequence or checksum check: report ``resync``, then unsubscribe + subscribe that one book
beside the reader. :class:`BookStream` is that frame; a venue subclass decodes frames in
``on_text`` and says how to re-subscribe one book (:meth:`BookStream.resubscribe`).

For venues that stream a checksummed top-N book without sequence numbers (FTX 100),
:meth:`BookStream.on_book` is the whole book path: apply a decoded message to the
:class:`~tradeloop.book.topn.TopNBookSync` of that symbol, emit the levels it produced, or
resync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from tradeloop.book.okx_sync import SyncResult
from tradeloop.book.topn import BookMessage, TopNBookSync
from tradeloop.core.log import get_logger
from tradeloop.model import BookLevels, Event
from tradeloop.venues.wsclient import ConnectHook, WsClient, WsConfig

log = get_logger(__name__)


class SyncedBook(Protocol):
    """What :class:`BookStream` needs of a book: forget it until the next snapshot."""

    def reset(self) -> None: ...


B = TypeVar("B", bound=SyncedBook)


class BookStream(Generic[B]):
    """One socket: its client, its books (``books``, by wire symbol) and their resyncs.

    ``emit`` receives market data events, ``status`` the socket's state changes and
    ``resync`` / ``error`` news (both as ``(status, detail)``); ``login`` runs on every
    (re)connect before the subscriptions are re-sent.
    """

    def __init__(
        self,
        url: str,
        emit: Callable[[Event], None],
        status: Callable[[str, str], None],
        *,
        config: WsConfig,
        login: ConnectHook | None = None,
        name: str = "",
        **client: Any,
    ) -> None:
        self.emit, self.status = emit, status
        self.books: dict[str, B] = {}
        #: book resyncs started (a gap or a checksum mismatch), for monitoring and tests
        self.resyncs = 0
        self.client = WsClient(
            url,
            self.on_text,
            config=config,
            on_connect=login,
            on_state=self._on_state,
            name=name or url,
            **client,
        )

    def on_text(self, text: str) -> None:
        raise NotImplementedError

    async def resubscribe(self, key: str) -> None:
        """Unsubscribe + subscribe the book under ``key`` (the venue's snapshot trigger)."""
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, wait: float | None = 10.0) -> None:
        await self.client.start(wait)

    async def stop(self) -> None:
        await self.client.stop()

    @property
    def connected(self) -> bool:
        return self.client.connected

    def _on_state(self, status: str, detail: str) -> None:
        if status == "disconnected":
            for book in self.books.values():
                book.reset()  # stale from here on; the resubscribe brings snapshots
        self.status(status, detail)

    # -- resync ---------------------------------------------------------------------------
    def resync_later(self, key: str, reason: str) -> None:
        """Report a broken book and fetch a fresh snapshot beside the reader."""
        log.warning("%s: %s; resubscribing", self.client.name, reason)
        self.status("resync", reason)
        self.client.spawn(self.resync(key))

    async def resync(self, key: str) -> None:
        self.resyncs += 1
        book = self.books.get(key)
        if book is not None:
            book.reset()
        await self.resubscribe(key)

    def on_book(self, key: str, symbol: str, msg: BookMessage, now: int) -> None:
        """One top-N book message for the book under ``key`` (events carry ``symbol``)."""
        book: Any = self.books.get(key)
        if not isinstance(book, TopNBookSync):
            return  # unsubscribed meanwhile
        res = book.apply(msg)
        if res is SyncResult.APPLIED:
            bids, asks = book.last_levels
            self.emit(BookLevels(now, symbol, bids, asks, msg.action == book.snapshot))
        elif res is SyncResult.RESYNC:
            self.resync_later(key, book.last_error)
