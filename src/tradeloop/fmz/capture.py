"""``--capture FILE``: every request/response pair as one JSON line, credentials redacted.

Spec C §12 leaves questions only a real docker can answer (futures method names, ``raw`` for
lists, nonce units ...). Pointing a docker at the bridge with capture on records exactly what it
sends, so users can share the file without leaking keys: ``access_key``/``secret_key`` and any
credential-looking field anywhere in the body are replaced before the line is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import msgspec

from tradeloop.core.log import redact

log = logging.getLogger(__name__)

REDACTED = "***"
_SENSITIVE = (
    "access_key",
    "secret",
    "passphrase",
    "password",
    "sign",
    "token",
    "authorization",
    "cookie",
)
_MAX_DEPTH = 32
_MAX_UNPARSED = 4096


def _is_sensitive(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return any(s in k for s in _SENSITIVE)


def redact_value(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with every credential-looking key's value masked."""
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, dict):
        return {
            str(k): (
                REDACTED
                if _is_sensitive(str(k)) and v not in ("", None)
                else redact_value(v, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v, depth + 1) for v in value]
    return value


def secrets_in(value: Any) -> set[str]:
    """The credential strings of a request (and each comma-packed part, e.g. the passphrase),
    so they can also be scrubbed from anywhere else in the record, such as an echoed reply."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k in ("access_key", "secret_key"):
            v = value.get(k)
            if isinstance(v, str):
                out.update(p.strip() for p in [v, *v.split(",")] if len(p.strip()) >= 4)
    out.discard("simulate")
    return out


def redact_body(body: bytes) -> tuple[Any, set[str]]:
    """The request body for the capture file (parsed and redacted if JSON, else redacted text)
    and the secrets it carried."""
    try:
        parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError, ValueError):
        text = body[:_MAX_UNPARSED].decode("utf-8", "replace")
        return {"unparsed": redact(text), "bytes": len(body)}, set()
    return redact_value(parsed), secrets_in(parsed)


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
            "path": path,
            "headers": {k: (REDACTED if _is_sensitive(k) else v) for k, v in headers.items()},
            "request": request,
            "response": reply,
            "elapsed_ms": round(elapsed_ms, 3),
        }
        try:
            line = self._enc.encode(record).decode() + "\n"
        except (TypeError, ValueError, OverflowError):
            line = self._enc.encode({**record, "response": "<unserialisable>"}).decode() + "\n"
        for secret in sorted(secrets, key=len, reverse=True):
            line = line.replace(secret, REDACTED)
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
