"""Fault injection shared by every emulator front-end.

Tests and operators flip these switches (in process, over ``POST /__admin/faults`` or from CLI
flags) to prove that clients survive what real venues do to them: dropped sockets, slow
answers, rate limits, server errors, lost book messages and bad checksums. Front-ends consume
the one-shot faults through the ``take_*`` methods so each fault fires exactly as many times as
asked; how a fault is *rendered* (which code, which status) is the venue's business.

Two kinds of REST failure differ in what the venue did: ``fail_next`` refuses a request before
it runs (a 429 or 503 means "nothing happened"), while ``lose_replies`` runs it and then loses
the answer (a gateway 5xx or a dropped connection *after* execution). Only the second one
exercises a client's idempotency: its retry meets the order it already placed.

Every switch is bounded (:data:`MAX_COUNT`, :data:`MAX_LATENCY_MS`) and every counter is O(1)
to arm: the admin endpoint is reachable over HTTP, and an unbounded ``{"skip_seq": 1e10}``
once froze the event loop for minutes. :meth:`Faults.apply` validates a whole admin request
before changing anything, so a refused request leaves the switches as they were.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

log = logging.getLogger(__name__)

FailKind = Literal["429", "5xx"]
#: How a lost reply reaches the client: a gateway error status, or the connection cut.
LostReplyKind = Literal["5xx", "drop"]
LOST_REPLY_KINDS: tuple[LostReplyKind, ...] = ("5xx", "drop")
#: Largest count any one-shot fault accepts (far beyond any test, small enough to stay cheap).
MAX_COUNT = 1_000_000
#: Largest injected latency: one minute is already longer than any client timeout.
MAX_LATENCY_MS = 60_000.0
#: Longest ``lose_reply`` target ("METHOD /path").
MAX_TARGET_LEN = 256
_SHOWN = 40  # characters of a refused value quoted back in an error


def _shown(value: Any) -> str:
    """A bounded ``repr`` for error messages (never echo a whole request back)."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def check_count(value: Any, name: str) -> int:
    """``value`` as a count in ``0..MAX_COUNT``; ValueError (with a bounded message) if it is
    not a JSON integer in range. Booleans and floats are refused: ``1e10`` is a typo, not a
    count, and silently clamping it would hide the mistake."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer 0..{MAX_COUNT}, not {_shown(value)}")
    if not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{name} must be between 0 and {MAX_COUNT}, not {_shown(value)}")
    return value


def check_latency(value: Any, name: str = "latency_ms") -> float:
    """``value`` as milliseconds in ``0..MAX_LATENCY_MS`` (finite number, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number 0..{MAX_LATENCY_MS:g}, not {_shown(value)}")
    ms = float(value)
    if not (math.isfinite(ms) and 0.0 <= ms <= MAX_LATENCY_MS):
        raise ValueError(f"{name} must be between 0 and {MAX_LATENCY_MS:g}, not {_shown(value)}")
    return ms


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {_shown(value)}")
    return value


def _check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, not {_shown(value)}")
    return str(value)


def _check_target(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TARGET_LEN:
        raise ValueError(
            f"lose_reply target must be a string of at most {MAX_TARGET_LEN} characters"
        )
    return value


def request_matches(target: str, method: str, path: str) -> bool:
    """``target`` "" matches every request, "/api/v5/trade/order" that path with any method,
    "POST /api/v5/trade/order" only that method (a GET of the same path is left alone)."""
    if not target:
        return True
    want_method, sep, want_path = target.strip().partition(" ")
    if not sep:
        return path == want_method
    return method.upper() == want_method.upper() and path == want_path.strip()


@dataclass
class Faults:
    """Mutable fault switches. All one-shot counters count down as faults are served."""

    latency_ms: float = 0.0
    fail_remaining: int = 0
    fail_kind: FailKind = "429"
    skip_seq_pending: int = 0
    corrupt_checksum_pending: int = 0
    lose_remaining: int = 0
    lose_kind: LostReplyKind = "5xx"
    lose_target: str = ""
    drops: int = 0
    _drop_hooks: list[Callable[[], int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.latency_ms = check_latency(self.latency_ms)

    # -- switches -----------------------------------------------------------------------
    def drop_ws(self) -> int:
        """Close every WebSocket connection now (clients must reconnect); returns how many."""
        n = sum(hook() for hook in self._drop_hooks)
        self.drops += 1
        log.info("fault: dropped %d websocket connection(s)", n)
        return n

    def add_latency(self, ms: float) -> None:
        """Delay every REST answer and WS request by ``ms`` (0 turns it off; at most
        :data:`MAX_LATENCY_MS`)."""
        self.latency_ms = check_latency(ms)

    def fail_next(self, n: int, kind: FailKind = "429") -> None:
        """Answer the next ``n`` REST requests with a rate limit (429) or server error (5xx)."""
        _check_choice(kind, "fail kind", ("429", "5xx"))
        self.fail_remaining, self.fail_kind = check_count(n, "fail_next count"), kind

    def fail_next_429(self, n: int = 1) -> None:
        self.fail_next(n, "429")

    def fail_next_5xx(self, n: int = 1) -> None:
        self.fail_next(n, "5xx")

    def lose_replies(self, n: int, kind: LostReplyKind = "5xx", target: str = "") -> None:
        """Run the next ``n`` REST requests matching ``target`` (see :func:`request_matches`)
        normally, then lose the answer: ``"5xx"`` answers HTTP 504 (a gateway that timed out
        after the venue executed), ``"drop"`` cuts the connection without an answer."""
        _check_choice(kind, "lose_reply kind", LOST_REPLY_KINDS)
        self.lose_remaining = check_count(n, "lose_reply count")
        self.lose_kind, self.lose_target = kind, _check_target(target)

    def skip_seq_once(self) -> None:
        """Lose the next incremental book message so clients see a seqId gap."""
        self.skip_seqs(1)

    def skip_seqs(self, n: int) -> None:
        """Lose the next ``n`` incremental book messages (O(1); the total stays bounded)."""
        self.skip_seq_pending = min(MAX_COUNT, self.skip_seq_pending + check_count(n, "skip_seq"))

    def corrupt_checksum_once(self) -> None:
        """Send a wrong checksum on the next incremental book message."""
        self.corrupt_checksums(1)

    def corrupt_checksums(self, n: int) -> None:
        """Corrupt the checksum of the next ``n`` incremental book messages (O(1), bounded)."""
        self.corrupt_checksum_pending = min(
            MAX_COUNT, self.corrupt_checksum_pending + check_count(n, "corrupt_checksum")
        )

    def reset(self) -> None:
        self.latency_ms = 0.0
        self.fail_remaining = 0
        self.skip_seq_pending = 0
        self.corrupt_checksum_pending = 0
        self.lose_remaining = 0
        self.lose_target = ""

    # -- consumption by front-ends ----------------------------------------------------------
    def register_drop_hook(self, hook: Callable[[], int]) -> None:
        self._drop_hooks.append(hook)

    def take_failure(self) -> FailKind | None:
        if self.fail_remaining <= 0:
            return None
        self.fail_remaining -= 1
        return self.fail_kind

    def take_lost_reply(self, method: str, path: str) -> LostReplyKind | None:
        """Called after a request ran: how to lose its answer, or None to deliver it."""
        if self.lose_remaining <= 0 or not request_matches(self.lose_target, method, path):
            return None
        self.lose_remaining -= 1
        return self.lose_kind

    def take_skip_seq(self) -> bool:
        if self.skip_seq_pending <= 0:
            return False
        self.skip_seq_pending -= 1
        return True

    def take_corrupt_checksum(self) -> bool:
        if self.corrupt_checksum_pending <= 0:
            return False
        self.corrupt_checksum_pending -= 1
        return True

    async def delay(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000.0)

    # -- admin JSON -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "fail_remaining": self.fail_remaining,
            "fail_kind": self.fail_kind,
            "skip_seq_pending": self.skip_seq_pending,
            "corrupt_checksum_pending": self.corrupt_checksum_pending,
            "lose_reply_remaining": self.lose_remaining,
            "lose_reply_kind": self.lose_kind,
            "lose_reply_target": self.lose_target,
            "drops": self.drops,
        }

    def apply(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Apply an admin request such as ``{"latency_ms": 50, "fail_next": {"count": 2,
        "kind": "5xx"}, "lose_reply": {"count": 1, "kind": "drop", "target": "POST
        /api/v5/trade/order"}, "drop_ws": true, "skip_seq": 1, "corrupt_checksum": 1,
        "reset": true}``. Unknown keys and out-of-range values are a ValueError (the admin
        endpoint's 400) so a typo does not silently test nothing; the whole request is checked
        before anything changes."""
        plan = _plan(spec)
        if plan.reset:
            self.reset()
        if plan.latency_ms is not None:
            self.add_latency(plan.latency_ms)
        if plan.fail is not None:
            self.fail_next(*plan.fail)
        if plan.lose is not None:
            self.lose_replies(*plan.lose)
        if plan.skip_seq:
            self.skip_seqs(plan.skip_seq)
        if plan.corrupt_checksum:
            self.corrupt_checksums(plan.corrupt_checksum)
        result = self.state()
        if plan.drop_ws:
            result["dropped"] = self.drop_ws()
        return result


_KNOWN = (
    "latency_ms",
    "fail_next",
    "lose_reply",
    "drop_ws",
    "skip_seq",
    "corrupt_checksum",
    "reset",
)


@dataclass
class _Plan:
    """A validated admin request, applied only once every field passed."""

    reset: bool = False
    latency_ms: float | None = None
    fail: tuple[int, FailKind] | None = None
    lose: tuple[int, LostReplyKind, str] | None = None
    skip_seq: int = 0
    corrupt_checksum: int = 0
    drop_ws: bool = False


def _plan(spec: Mapping[str, Any]) -> _Plan:
    unknown = [k for k in spec if k not in _KNOWN]
    if unknown:
        raise ValueError(f"unknown fault(s): {[_shown(k) for k in unknown[:5]]}")
    plan = _Plan(
        reset=_check_flag(spec.get("reset", False), "reset"),
        drop_ws=_check_flag(spec.get("drop_ws", False), "drop_ws"),
        skip_seq=check_count(spec.get("skip_seq", 0), "skip_seq"),
        corrupt_checksum=check_count(spec.get("corrupt_checksum", 0), "corrupt_checksum"),
    )
    if "latency_ms" in spec:
        plan.latency_ms = check_latency(spec["latency_ms"])
    if "fail_next" in spec:
        fn = spec["fail_next"]
        if isinstance(fn, Mapping):
            _no_extra(fn, "fail_next", ("count", "kind"))
            kind = _check_choice(fn.get("kind", "429"), "fail_next kind", ("429", "5xx"))
            plan.fail = (check_count(fn.get("count", 1), "fail_next count"), cast(FailKind, kind))
        else:
            plan.fail = (check_count(fn, "fail_next"), "429")
    if "lose_reply" in spec:
        lr = spec["lose_reply"]
        if isinstance(lr, Mapping):
            _no_extra(lr, "lose_reply", ("count", "kind", "target"))
            kind = _check_choice(lr.get("kind", "5xx"), "lose_reply kind", LOST_REPLY_KINDS)
            count = check_count(lr.get("count", 1), "lose_reply count")
            lost = cast(LostReplyKind, kind)
            plan.lose = (count, lost, _check_target(lr.get("target", "")))
        else:
            plan.lose = (check_count(lr, "lose_reply"), "5xx", "")
    return plan


def _no_extra(obj: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    extra = [k for k in obj if k not in allowed]
    if extra:
        raise ValueError(f"unknown {name} field(s): {[_shown(k) for k in extra[:5]]}")


@dataclass(frozen=True)
class PeriodicFaults:
    """Faults repeated on a timer (CLI flags for long-running soak tests); 0 disables one."""

    drop_ws_every_s: float = 0.0
    skip_seq_every_s: float = 0.0
    corrupt_checksum_every_s: float = 0.0

    def tasks(self, faults: Faults) -> list[asyncio.Task[None]]:
        specs: list[tuple[float, Callable[[], object]]] = [
            (self.drop_ws_every_s, faults.drop_ws),
            (self.skip_seq_every_s, faults.skip_seq_once),
            (self.corrupt_checksum_every_s, faults.corrupt_checksum_once),
        ]
        return [asyncio.create_task(_every(s, fn)) for s, fn in specs if s > 0]


def wrong_checksum(value: int) -> int:
    """A checksum that differs from ``value`` and stays in 32-bit range (signed or unsigned):
    what the ``corrupt_checksum`` fault sends instead of the real one."""
    return value + 1 if value < 0x7FFFFFFF else value - 1


async def _every(seconds: float, fn: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        fn()
