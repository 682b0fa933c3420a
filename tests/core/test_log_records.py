"""Record-level redaction: the whole record is clean for every handler, not just the message.

Before, :class:`RedactingFilter` rewrote only ``getMessage()`` and only on handlers tradeloop had
installed: a traceback (``exc_info``) quoting a secret went out untouched, and so did anything a
handler of someone else's (pytest's caplog, an operator's file handler) received.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tradeloop.core import log as tlog

SECRET = "rec-secret-value-5a9c"


@pytest.fixture
def logger() -> logging.Logger:
    tlog.register_secret(SECRET)  # also installs record-level redaction
    return logging.getLogger("tradeloop.test.records")


def _file_handler(path: Path) -> logging.Handler:
    h = logging.FileHandler(path, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return h


def test_traceback_and_args_are_redacted_for_every_handler(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    path = tmp_path / "out.log"
    handler = _file_handler(path)  # a plain handler: no filter of ours
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            try:
                raise ValueError(f'bad request bytes: b\'{{"secret_key": "{SECRET},pp"}}\'')
            except ValueError:
                logger.exception("failed for %s", SECRET)
            logger.info("args %r", {"k": SECRET})
    finally:
        logger.removeHandler(handler)
        handler.close()
    out = path.read_text(encoding="utf-8")
    assert "Traceback" in out and "ValueError" in out  # the traceback is kept, redacted
    for text in (out, caplog.text):
        assert SECRET not in text
    assert "failed for ***" in out and "{'k': '***'}" in out
    rec = caplog.records[0]
    assert rec.exc_info is None and rec.exc_text and SECRET not in rec.exc_text


def test_extras_are_redacted_by_the_filter(logger: logging.Logger, tmp_path: Path) -> None:
    """``extra`` is attached after the record factory ran, so it is the handler filter's job."""
    path = tmp_path / "extra.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s %(detail)s"))
    handler.addFilter(tlog.RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("x", extra={"detail": f"d={SECRET}"})
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert path.read_text(encoding="utf-8").strip() == "x d=***"


def test_unformattable_args_neither_raise_nor_echo(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("two %s %s", "only-one-arg-9f2e")
    assert "only-one-arg-9f2e" not in caplog.text
    assert "unformattable" in caplog.text


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ('{"secret_key": "sk-val,pass-val-1", "x": 1}', "pass-val-1"),  # comma inside quotes
        ('b\'POST /x\\n\\n{"access_key": "ak-val-77"}\'', "ak-val-77"),  # repr of raw bytes
        ('{\\"passphrase\\": \\"pp-in-json-string\\"}', "pp-in-json-string"),  # escaped JSON
        ("GET /x?apiKey=q-key-1&apiSecret=q-sec-2,more&y=1", "q-sec-2"),
        ("OK-ACCESS-SIGN: c2lnbmF0dXJl== next", "c2lnbmF0dXJl"),
        ("Authorization: Bearer tok-bearer-8", "tok-bearer-8"),
        ("secret=bare-1, passphrase=bare-2 end", "bare-2"),
    ],
)
def test_credential_fields_are_masked_whatever_the_quoting(line: str, leak: str) -> None:
    assert leak not in tlog.redact(line)


def test_harmless_text_is_left_alone() -> None:
    line = "signal=ok tokens=3 passthrough for BTC-USDT at 30000.5"
    assert tlog.redact(line) == line


def test_many_registered_secrets_still_all_found() -> None:
    values = [f"bulk-many-{i:05d}-zz" for i in range(3000)]
    for v in values:
        tlog.register_secret(v)
    text = " | ".join(values[::7])
    assert "bulk-many" not in tlog.redact_secrets(text)
    # a longer secret containing a shorter one is replaced whole
    tlog.register_secret("outer-bulk-many-00007-zz-tail")
    assert tlog.redact_secrets("x outer-bulk-many-00007-zz-tail y") == "x *** y"
