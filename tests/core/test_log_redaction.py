from __future__ import annotations

import logging

import pytest

from tradeloop.core import log as tlog


def test_registered_secrets_and_credential_fields_never_reach_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tlog.register_secret("s3cr3t-value-123")
    logger = logging.getLogger("tradeloop.test.redact")
    handler_filter = tlog.RedactingFilter()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="tradeloop.test.redact"):
            logger.info("key in text s3cr3t-value-123 and header OK-ACCESS-SIGN: abcdEFGH==")
            logger.info('json {"secret_key": "zzzz9999", "passphrase": "pp"}')
    finally:
        logger.removeFilter(handler_filter)
    text = caplog.text
    assert "s3cr3t-value-123" not in text and "abcdEFGH" not in text and "zzzz9999" not in text
    assert "***" in text


def test_secret_registry_is_bounded() -> None:
    for i in range(tlog.MAX_SECRETS + 50):
        tlog.register_secret(f"bulk-secret-{i:06d}")
    assert len(tlog._SECRETS) == tlog.MAX_SECRETS
    assert "bulk-secret-000000" not in tlog._SECRETS  # oldest dropped first
    assert f"bulk-secret-{tlog.MAX_SECRETS + 49:06d}" in tlog._SECRETS
