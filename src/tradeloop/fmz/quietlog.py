"""Log lines a remote party can trigger at will, made safe and bounded.

Anything an attacker can repeat — malformed HTTP, accept errors at the file-descriptor limit,
slow connections being dropped — must neither flood the log (the issue measured 329 MB in 61 s)
nor copy request bytes into it. :class:`RateLimitedLog` emits at most one line per interval
and counts the rest; :class:`SafeServerLog` is the logger handed to aiohttp's request handler:
HTTP parse errors (whose text quotes the raw request, keys included) become one rate-limited
line naming only the error class.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError


class RateLimitedLog:
    """At most one record per ``interval`` seconds; the next one says how many were dropped."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.level = level
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self.suppressed = 0
        self.total = 0

    def __call__(
        self, msg: str, *args: object, level: int | None = None, exc_info: bool = False
    ) -> bool:
        """Log ``msg % args`` unless one was logged less than ``interval`` ago. True if logged."""
        self.total += 1
        level = self.level if level is None else level
        if not self.logger.isEnabledFor(level):
            return False
        now = self._clock()
        if now < self._next:
            self.suppressed += 1
            return False
        self._next = now + self.interval
        if self.suppressed:
            msg += " (+%d similar in the last %.0fs)"
            args = (*args, self.suppressed, self.interval)
            self.suppressed = 0
        self.logger.log(level, msg, *args, exc_info=exc_info)
        return True


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    if exc_info is True:
        return sys.exc_info()[1]
    return None


class SafeServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger without request bytes.

    aiohttp logs an unparsable request (bare-LF line endings, bad header bytes, oversized lines)
    at ERROR with a traceback whose message quotes the raw bytes — the docker's keys with them.
    Such errors are reported here as one WARNING per second at most, naming the error class and
    HTTP status only; the peer already got aiohttp's 400. Everything else passes through (and is
    still redacted by :mod:`tradeloop.core.log`)."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})
        self._bad_http = RateLimitedLog(logger, logging.WARNING)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc = _exception_of(kwargs.get("exc_info"))
        if isinstance(exc, HttpProcessingError):
            self._bad_http(
                "rejected a malformed HTTP request (%s, HTTP %s); its bytes are not logged",
                type(exc).__name__,
                exc.code,
                level=min(level, logging.WARNING),  # aiohttp's DEBUG for non-HTTP traffic stays
            )
            return
        super().log(level, msg, *args, **kwargs)

    @property
    def bad_requests(self) -> int:
        """Malformed requests seen (logged or suppressed)."""
        return self._bad_http.total
