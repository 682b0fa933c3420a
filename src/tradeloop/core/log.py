"""Logging with secret redaction.

Every handler tradeloop installs carries :class:`RedactingFilter`, which masks values registered
with :func:`register_secret` and anything that looks like a credential header or field. Register
keys as soon as they are read so no later log line can leak them.
"""

from __future__ import annotations

import logging
import re

#: Registered secrets, most recent last. Bounded so a long-running server that sees many keys
#: (the FMZ bridge) neither grows without limit nor slows every log line; the field-pattern
#: redaction below still masks anything that looks like a credential.
MAX_SECRETS = 4096
_SECRETS: dict[str, None] = {}
_FIELD_RE = re.compile(
    r"(?i)((?:api[_-]?key|secret(?:_key)?|passphrase|password|sign(?:ature)?|access[_-]?key|"
    r"ok-access-(?:key|sign|passphrase))[\"']?\s*[:=]\s*[\"']?)([^\"'\s,&}]+)"
)


def register_secret(value: str | None) -> None:
    """Mask this exact value in every log record from now on (ignores short/empty values)."""
    if value and len(value) >= 4:
        _SECRETS.pop(value, None)
        _SECRETS[value] = None
        while len(_SECRETS) > MAX_SECRETS:
            del _SECRETS[next(iter(_SECRETS))]


def redact(text: str) -> str:
    for s in _SECRETS:
        if s in text:
            text = text.replace(s, "***")
    return _FIELD_RE.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
