"""Routes, parameters and answers for JSON REST front-ends (venue-neutral).

Most venues answer every refusal in one shape: an HTTP status and a text, wrapped in the
venue's envelope (FTX ``{"success": false, "error": text}``). A front-end of that kind writes
its handlers as plain synchronous functions of a parsed :class:`Req` that return the result or
raise :class:`ApiError`; :func:`route` does the rest the same way for every venue: the shared
:func:`~tradeloop.emulator.rest.guard` (faults, bounds, lost replies), the venue's signature
check, a JSON-object body for writes, and the envelope around the outcome. Handlers are
synchronous because the simulator answers at once: nothing in a request waits.

The parameter helpers read query strings as strictly as the venues do (plain finite numbers,
bounded) and phrase refusals the way most of them do (``Invalid parameter <name>``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from tradeloop.emulator import rest
from tradeloop.emulator.auth import parse_number
from tradeloop.emulator.faults import Faults
from tradeloop.emulator.limits import clip
from tradeloop.model.enums import RejectReason

_enc = msgspec.json.Encoder()
T = TypeVar("T")


class ApiError(Exception):
    """A refusal in the venue's words: ``msg`` answered with HTTP ``status``."""

    def __init__(self, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.msg, self.status = msg, status


@dataclass(frozen=True)
class Refusals:
    """The simulator's typed refusals in one venue's words: ``table`` maps a
    :class:`~tradeloop.model.RejectReason` to (HTTP status, text); others get ``default``.
    Calling it gives the :class:`ApiError` to raise."""

    table: Mapping[RejectReason, tuple[int, str]]
    default: tuple[int, str] = (400, "Invalid parameter")

    def __call__(self, code: RejectReason) -> ApiError:
        status, msg = self.table.get(code, self.default)
        return ApiError(msg, status)


def lookup(items: Mapping[str, T], name: Any, what: str, status: int = 404) -> T:
    """``items[name]``, or the venue's ``"<what>: <name>"`` refusal (``name`` clipped: it is
    client text) when there is none or ``name`` is not a string."""
    found = items.get(name) if isinstance(name, str) else None
    if found is None:
        raise ApiError(f"{what}: {clip(name, 64)}", status)
    return found


@dataclass
class Req:
    """One parsed request: path params, query and (for POST/DELETE) the JSON object body."""

    match: Mapping[str, str]
    query: Mapping[str, str]
    body: dict[str, Any] = field(default_factory=dict)


def n(x: float) -> float:
    """A computed amount without float noise (12 significant digits: ``59993.00000000001``
    is sent as ``59993.0``), for venues that send JSON numbers."""
    return float(f"{x:.12g}")


def iso(ms: float) -> str:
    """ISO 8601 with microseconds and ``+00:00`` (FTX's timestamps, and Python's)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=_enc.encode(payload), status=status, content_type="application/json")


@dataclass(frozen=True)
class Envelope:
    """How a venue wraps a result (``ok``) and a refusal (``error``: status, text)."""

    ok: Callable[[Any], web.Response]
    error: Callable[[int, str], web.Response]
    bad_json: str = "Invalid JSON"


def route(
    faults: Faults,
    dialect: rest.RestDialect,
    envelope: Envelope,
    handler: Callable[[Req], Any],
    verify: Callable[[web.Request, str], None] | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``handler`` as an aiohttp route (see the module docstring); ``verify`` raises
    :class:`ApiError` for a request that is not signed as the venue requires."""

    async def run(request: web.Request, body: str) -> web.StreamResponse:
        try:
            if verify is not None:
                verify(request, body)
            doc: Any = {}
            if body.strip() and request.method in ("POST", "DELETE"):
                try:
                    doc = json.loads(body)
                except (ValueError, RecursionError):
                    raise ApiError(envelope.bad_json) from None
                if not isinstance(doc, dict):
                    raise ApiError(envelope.bad_json)
            result = handler(Req(request.match_info, request.query, doc))
        except ApiError as err:
            return envelope.error(err.status, err.msg)
        return envelope.ok(result)

    return rest.guard(faults, dialect, run)


# -- parameters ---------------------------------------------------------------------------
def int_arg(q: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter at least ``lo``; above ``hi`` it is clipped to ``hi``."""
    raw = q.get(key, "")
    if raw == "":
        return default
    v = parse_number(raw)
    if v is None or v < lo or v != int(v):
        raise ApiError(f"Invalid parameter {key}")
    return min(int(v), hi)


def time_range(
    q: Mapping[str, str], keys: tuple[str, str] = ("start_time", "end_time"), unit_ms: float = 1000
) -> tuple[float, float]:
    """The ``keys`` bounds (in units of ``unit_ms``; Unix seconds by default) as ms;
    unbounded when absent."""
    bounds = []
    for key, default in zip(keys, (0.0, float("inf")), strict=True):
        raw = q.get(key, "")
        v = parse_number(raw) if raw else default
        if v is None:
            raise ApiError(f"Invalid parameter {key}")
        bounds.append(v * unit_ms)
    return bounds[0], bounds[1]


def window(
    rows: Iterable[T], q: Mapping[str, str], ts_ms: Callable[[T], float], default: int
) -> list[T]:
    """The ``rows`` whose time lies in the query's ``start_time`` / ``end_time``, in the
    order given, at most the query's ``limit`` (``default`` when absent; 5000 at most)."""
    start, end = time_range(q)
    limit = int_arg(q, "limit", default, 1, 5000)
    return [r for r in rows if start <= ts_ms(r) <= end][:limit]
