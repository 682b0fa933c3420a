"""Errors users see. ``UserError`` subclasses are printed as one line by the CLI — no traceback —
because they describe bad input (a file, a parameter), not a bug."""

from __future__ import annotations


def one_line(exc: BaseException, *, with_type: bool = False) -> str:
    """``exc`` as one line: the first line of its message (its type where it has none), led
    by its type with ``with_type`` (for errors that are not a ``UserError``'s own words)."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {lines[0]}" if with_type else lines[0]


class UserError(Exception):
    """Bad input the user can fix; the message names the file / row / field at fault."""


class DataError(UserError):
    """A data file is malformed (missing column, NaN, unsorted or duplicate timestamps ...)."""


class ConfigError(UserError):
    """A bad command-line option, parameter or config value."""


class StrategyLoadError(UserError):
    """A strategy file failed to import or defines no Strategy subclass."""


class StartupError(UserError):
    """A venue could not be brought up (unreachable, credentials refused, instruments
    unavailable after retries): said in one line, and everything opened is closed again."""


class VenueError(Exception):
    """A venue refused or failed a request. ``code`` is the venue's own error code if any."""

    def __init__(self, message: str, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class AuthError(VenueError):
    pass


class RateLimited(VenueError):
    def __init__(self, message: str, code: str = "", retry_after: float = 0.0) -> None:
        super().__init__(message, code, retryable=True)
        self.retry_after = retry_after
