"""``--capture FILE``: every request/response pair as one JSON line, credentials redacted.

Spec C §12 leaves questions only a real docker can answer (futures method names, ``raw`` for
lists, nonce units ...). Pointing a docker at the bridge with capture on records exactly what it
sends, so users can share the file without leaking keys. Redaction is by structure
(:mod:`.redaction`): the body is parsed and every credential-named field is masked at any depth,
every string is scrubbed of the request's own keys and of all registered secrets, headers are
masked by name, and the reply goes through the same treatment. A body that is not valid JSON
cannot be masked reliably (where would a secret end?), so its bytes are **not** recorded — only
its length and the parser's complaint, which names a byte offset but no content.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import msgspec

from tradeloop.fmz.redaction import (
    REDACTED,
    credential_parts,
    is_sensitive_name,
    redact_value,
    scrub,
    sensitive_values,
)

log = logging.getLogger(__name__)

__all__ = ["REDACTED", "CaptureWriter", "redact_body", "redact_value", "secrets_in"]


def secrets_in(value: Any) -> set[str]:
    """The credential strings of a decoded request body (and their comma-packed parts), plus
    every value under a credential-looking name anywhere in it."""
    if not isinstance(value, dict):
        return set()
    ak, sk = value.get("access_key"), value.get("secret_key")
    out = credential_parts(ak if isinstance(ak, str) else "", sk if isinstance(sk, str) else "")
    return out | sensitive_values(value)


def redact_body(body: bytes) -> tuple[Any, set[str]]:
    """The request body for the capture file and the secrets it carried.

    JSON is parsed and redacted by structure; anything else is summarised without content."""
    if not body:
        return None, set()
    try:
        parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError, ValueError) as exc:
        reason = str(exc)[:120] if isinstance(exc, msgspec.DecodeError) else type(exc).__name__
        return {"unparsed": "not valid JSON; content not recorded", "bytes": len(body),
                "reason": reason}, set()  # fmt: skip
    secrets = secrets_in(parsed)
    return redact_value(parsed, secrets), secrets


def redact_headers(headers: Mapping[str, str], secrets: set[str]) -> dict[str, str]:
    return {
        scrub(k, secrets): (REDACTED if is_sensitive_name(k) else scrub(v, secrets))
        for k, v in headers.items()
    }


class CaptureWriter:
    """Appends JSON lines to a file. Writes are small and synchronous (one ``write`` + flush per
    line under a lock) so a crash never leaves half a record behind another one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: TextIO | None = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._enc = msgspec.json.Encoder()

    def write(
        self,
        *,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        reply: Mapping[str, Any],
        elapsed_ms: float,
    ) -> None:
        request, secrets = redact_body(body)
        record = {
            "ts": round(time.time(), 6),
            "path": scrub(path, secrets),
            "headers": redact_headers(headers, secrets),
            "request": request,
            "response": redact_value(dict(reply), secrets),
            "elapsed_ms": round(elapsed_ms, 3),
        }
        try:
            line = self._enc.encode(record).decode() + "\n"
        except (TypeError, ValueError, OverflowError):
            line = self._enc.encode({**record, "response": "<unserialisable>"}).decode() + "\n"
        with self._lock:
            if self._fh is None:
                return
            try:
                self._fh.write(line)
                self._fh.flush()
            except OSError as exc:  # a full disk must not take the bridge down
                log.warning("capture: cannot write %s: %s", self.path, exc)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
