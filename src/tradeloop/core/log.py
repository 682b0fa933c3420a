"""Logging with secret redaction.

Two layers, because a secret reaches a log in two ways:

* **Known values.** :func:`register_secret` records a key, secret or passphrase the moment it is
  read; from then on it is replaced by ``***`` wherever it appears in a record.
* **Credential-looking fields** (``secret_key=...``, ``"passphrase": "..."``,
  ``OK-ACCESS-SIGN: ...``) are masked even when their value was never registered.

Both are applied to the *whole* record: the message after ``%`` formatting (so secrets passed as
``args`` are caught), the formatted traceback (``exc_info``/``exc_text``: an exception message
can quote request bytes) and ``stack_info``. Redaction runs where the record is created
(:func:`install_redaction` wraps the log-record factory), so *every* handler sees the clean
record — including handlers tradeloop did not install, such as pytest's ``caplog`` or a file
handler an operator adds. :class:`RedactingFilter` applies the same function on a handler and
also covers string attributes given via ``extra`` (``Logger.makeRecord`` attaches those after
the factory has run, so only a filter can see them).

Redaction is a safety net. Code that handles raw secrets (the FMZ bridge's HTTP parser errors,
capture files) must still avoid logging them in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections import OrderedDict
from typing import Any

REDACTED = "***"

#: Registered secrets, most recent last. Bounded so a long-running server that sees many keys
#: (the FMZ bridge) neither grows without limit nor slows every log line; the field-pattern
#: redaction below still masks anything that looks like a credential.
MAX_SECRETS = 4096
#: Shorter values are not registered: masking e.g. ``"abc"`` everywhere would garble logs.
MIN_SECRET_LEN = 4

_SECRETS: OrderedDict[str, None] = OrderedDict()
#: first MIN_SECRET_LEN characters -> the registered secrets starting with them. Lets a record
#: be checked against thousands of secrets at the cost of one set of its n-grams, not one
#: substring search per secret (376 us per line at 4,096 secrets).
_INDEX: dict[str, set[str]] = {}
_LOCK = threading.Lock()

_NAME = (
    r"[a-z0-9_-]*?"  # any prefix: api_, x-, ok-access-, apiSecret ...
    r"(?:secret|passphrase|password|passwd|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|signature|sign|authorization)(?:[_-]?key)?"
)
#: ``name = value`` / ``"name": "value"`` / ``name: value``, also inside reprs of JSON in
#: strings (``\"name\": \"value\"``). A quoted value runs to its closing quote (so the comma of
#: ``"secret,passphrase"`` does not end it); a bare value runs to whitespace or a delimiter.
_FIELD_RE = re.compile(
    rf"""(?ix)
    (?P<pre>(?<![a-z0-9])(?:{_NAME})(?![a-z0-9])(?:\\?["'])?\s*[:=]\s*)
    (?:
        (?P<q>\\?["'])(?P<qv>.*?)(?P=q)
      | (?P<bare>(?:bearer\s+|basic\s+)?[^\s"'&}}\]);<>]+)
    )
    """
)


def _mask_field(m: re.Match[str]) -> str:
    if m.group("q") is not None:
        return f"{m.group('pre')}{m.group('q')}{REDACTED}{m.group('q')}"
    return f"{m.group('pre')}{REDACTED}"


def register_secret(value: str | None) -> None:
    """Mask this exact value in every log record from now on (ignores short/empty values).

    Registering also installs record-level redaction (:func:`install_redaction`): whoever
    holds a secret wants it out of every handler's output, not only the ones tradeloop added."""
    if not value or len(value) < MIN_SECRET_LEN:
        return
    install_redaction()
    with _LOCK:
        if value in _SECRETS:
            _SECRETS.move_to_end(value)
            return
        _SECRETS[value] = None
        _INDEX.setdefault(value[:MIN_SECRET_LEN], set()).add(value)
        while len(_SECRETS) > MAX_SECRETS:
            old, _ = _SECRETS.popitem(last=False)
            bucket = _INDEX.get(old[:MIN_SECRET_LEN])
            if bucket is not None:
                bucket.discard(old)
                if not bucket:
                    del _INDEX[old[:MIN_SECRET_LEN]]


def redact_secrets(text: str) -> str:
    """Replace every registered secret in ``text`` (exact matches only, longest first)."""
    n = MIN_SECRET_LEN
    if len(text) < n or not _INDEX:
        return text
    index = _INDEX
    hits: list[str] = []
    for gram in {text[i : i + n] for i in range(len(text) - n + 1)}:
        bucket = index.get(gram)
        if bucket:
            hits.extend(s for s in tuple(bucket) if s in text)
    for s in sorted(hits, key=len, reverse=True):
        text = text.replace(s, REDACTED)
    return text


#: every name _FIELD_RE can match contains one of these: lines without any skip the regex
_FIELD_HINTS = ("secret", "pass", "key", "sign", "authorization")


def redact(text: str) -> str:
    """Registered secrets and credential-looking fields masked."""
    text = redact_secrets(text)
    lowered = text.lower()
    if any(h in lowered for h in _FIELD_HINTS):
        text = _FIELD_RE.sub(_mask_field, text)
    return text


#: LogRecord attributes that are never user data (everything else that is a str gets redacted)
_STD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_FORMATTER = logging.Formatter()


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place: message with its args, traceback, stack and extras.

    The message is resolved here (``args`` set to None) and the traceback is rendered to
    ``exc_text`` with ``exc_info`` dropped, so no formatter can later re-render the raw objects.
    Idempotent: a record already redacted (it is marked) only has its extras checked again,
    because ``Logger.makeRecord`` sets ``extra`` after the factory ran."""
    if not record.__dict__.get("_tl_redacted"):
        _redact_body(record)
    for key, value in list(record.__dict__.items()):
        if isinstance(value, str) and key not in _STD_ATTRS:
            record.__dict__[key] = redact(value)
    return record


def _redact_body(record: logging.LogRecord) -> None:
    try:
        msg = record.getMessage()
    except Exception:  # bad %-args: never let the caller's log call fail, never echo the args
        msg = f"{record.msg!s} [unformattable log arguments dropped]"
    record.msg, record.args = redact(msg), None
    if record.exc_info:
        record.exc_text = _FORMATTER.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.__dict__["_tl_redacted"] = True


class RedactingFilter(logging.Filter):
    """Handler/logger filter applying :func:`redact_record` (a second line of defence)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install_redaction() -> None:
    """Redact every log record when it is created, whatever logger or handler is involved.

    Wraps the current record factory once per process. Cost: one message format and an n-gram
    scan per *emitted-level* record (records below a logger's level are never created)."""
    global _installed
    with _LOCK:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is *now*: a handler that kept the stream it was built
    with would write to a closed file once that stream is swapped (pytest's capture, a daemon
    that redirects its output), and every record would then be a logging error."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    install_redaction()
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
