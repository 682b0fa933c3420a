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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

FailKind = Literal["429", "5xx"]
#: How a lost reply reaches the client: a gateway error status, or the connection cut.
LostReplyKind = Literal["5xx", "drop"]
LOST_REPLY_KINDS: tuple[LostReplyKind, ...] = ("5xx", "drop")


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

    # -- switches -----------------------------------------------------------------------
    def drop_ws(self) -> int:
        """Close every WebSocket connection now (clients must reconnect); returns how many."""
        n = sum(hook() for hook in self._drop_hooks)
        self.drops += 1
        log.info("fault: dropped %d websocket connection(s)", n)
        return n

    def add_latency(self, ms: float) -> None:
        """Delay every REST answer and WS request by ``ms`` (0 turns it off)."""
        self.latency_ms = max(0.0, float(ms))

    def fail_next(self, n: int, kind: FailKind = "429") -> None:
        """Answer the next ``n`` REST requests with a rate limit (429) or server error (5xx)."""
        if kind not in ("429", "5xx"):
            raise ValueError(f"fail kind must be '429' or '5xx', not {kind!r}")
        self.fail_remaining, self.fail_kind = max(0, int(n)), kind

    def fail_next_429(self, n: int = 1) -> None:
        self.fail_next(n, "429")

    def fail_next_5xx(self, n: int = 1) -> None:
        self.fail_next(n, "5xx")

    def lose_replies(self, n: int, kind: LostReplyKind = "5xx", target: str = "") -> None:
        """Run the next ``n`` REST requests matching ``target`` (see :func:`request_matches`)
        normally, then lose the answer: ``"5xx"`` answers HTTP 504 (a gateway that timed out
        after the venue executed), ``"drop"`` cuts the connection without an answer."""
        if kind not in LOST_REPLY_KINDS:
            raise ValueError(f"lost reply kind must be '5xx' or 'drop', not {kind!r}")
        self.lose_remaining, self.lose_kind = max(0, int(n)), kind
        self.lose_target = str(target)

    def skip_seq_once(self) -> None:
        """Lose the next incremental book message so clients see a seqId gap."""
        self.skip_seq_pending += 1

    def corrupt_checksum_once(self) -> None:
        """Send a wrong checksum on the next incremental book message."""
        self.corrupt_checksum_pending += 1

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
        "reset": true}``. Unknown keys are an error so a typo does not silently test nothing."""
        known = {
            "latency_ms",
            "fail_next",
            "lose_reply",
            "drop_ws",
            "skip_seq",
            "corrupt_checksum",
            "reset",
        }
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}")
        if spec.get("reset"):
            self.reset()
        if "latency_ms" in spec:
            self.add_latency(float(spec["latency_ms"]))
        if "fail_next" in spec:
            fn = spec["fail_next"]
            if isinstance(fn, Mapping):
                self.fail_next(int(fn.get("count", 1)), fn.get("kind", "429"))
            else:
                self.fail_next(int(fn))
        if "lose_reply" in spec:
            lr = spec["lose_reply"]
            if isinstance(lr, Mapping):
                unknown_lr = set(lr) - {"count", "kind", "target"}
                if unknown_lr:
                    raise ValueError(f"unknown lose_reply field(s): {sorted(unknown_lr)}")
                self.lose_replies(
                    int(lr.get("count", 1)), lr.get("kind", "5xx"), str(lr.get("target", ""))
                )
            else:
                self.lose_replies(int(lr))
        for _ in range(int(spec.get("skip_seq", 0))):
            self.skip_seq_once()
        for _ in range(int(spec.get("corrupt_checksum", 0))):
            self.corrupt_checksum_once()
        result = self.state()
        if spec.get("drop_ws"):
            result["dropped"] = self.drop_ws()
        return result


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


async def _every(seconds: float, fn: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        fn()
