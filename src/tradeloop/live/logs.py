"""Structured (JSON) logs for live runs: one object per line, for log shippers and ``jq``.

The redaction installed by :func:`tradeloop.core.log.setup_logging` runs where records are
created, so a JSON line holds the same redacted message a text line would.
"""

from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def use_json_logs() -> None:
    """Switch the root handlers to JSON lines."""
    for h in logging.getLogger().handlers:
        h.setFormatter(JsonFormatter())
