"""OKX signing against the spec's computed vectors (§2.1 REST, §2.5 WS login)."""

from __future__ import annotations

import logging

import pytest

from tradeloop.core.log import RedactingFilter
from tradeloop.venues.okx.auth import (
    OkxCredentials,
    iso_timestamp,
    rest_prehash,
    rest_signature,
    ws_login_signature,
)

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
TS = "2020-12-08T09:08:57.715Z"
GET_PATH = "/api/v5/account/balance?ccy=BTC"
POST_PATH = "/api/v5/account/set-leverage"
POST_BODY = '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}'


def test_rest_get_vector() -> None:
    assert (
        rest_signature(SECRET, TS, "GET", GET_PATH)
        == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    )


def test_rest_post_vector() -> None:
    sig = rest_signature(SECRET, TS, "POST", POST_PATH, POST_BODY)
    assert sig == "eCnnCgWLjlQ9XnpUkrcny3qNq3WW/81KNrDr/XR6Xv8="


def test_ws_login_vector() -> None:
    assert (
        ws_login_signature(SECRET, "1538054050") == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
    )


def test_method_is_uppercased_and_body_appended() -> None:
    assert rest_prehash(TS, "get", GET_PATH) == TS + "GET" + GET_PATH
    assert rest_prehash(TS, "post", POST_PATH, "{}") == TS + "POST" + POST_PATH + "{}"


@pytest.mark.parametrize("field", ["secret", "ts", "method", "path", "body"])
def test_changing_any_field_changes_signature(field: str) -> None:
    args = {"secret": SECRET, "ts": TS, "method": "POST", "path": POST_PATH, "body": POST_BODY}
    base = rest_signature(args["secret"], args["ts"], args["method"], args["path"], args["body"])
    changed = dict(args)
    changed[field] = {"method": "GET"}.get(
        field, args[field] + "x" if field != "ts" else "2020-12-08T09:08:57.716Z"
    )
    assert (
        rest_signature(
            changed["secret"], changed["ts"], changed["method"], changed["path"], changed["body"]
        )
        != base
    )


def test_ws_login_changes_with_timestamp_and_secret() -> None:
    base = ws_login_signature(SECRET, "1538054050")
    assert ws_login_signature(SECRET, "1538054051") != base
    assert ws_login_signature(SECRET + "0", "1538054050") != base


def test_iso_timestamp_has_millis_and_z() -> None:
    assert iso_timestamp(1607418537.715) == TS
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_credentials_headers_and_simulated_flag() -> None:
    creds = OkxCredentials("key-abcdef", SECRET, "pass-phrase-1", simulated=True)
    h = creds.rest_headers("GET", GET_PATH, "", now=1607418537.715)
    assert h["OK-ACCESS-SIGN"] == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    assert h["OK-ACCESS-TIMESTAMP"] == TS
    assert h["OK-ACCESS-KEY"] == "key-abcdef"
    assert h["OK-ACCESS-PASSPHRASE"] == "pass-phrase-1"
    assert h["x-simulated-trading"] == "1"
    assert "x-simulated-trading" not in OkxCredentials(
        "key-abcdef", SECRET, "pp-1234"
    ).rest_headers("GET", "/x")
    login = creds.ws_login_args(now=1538054050.9)
    assert login == {
        "apiKey": "key-abcdef",
        "passphrase": "pass-phrase-1",
        "timestamp": "1538054050",
        "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=",
    }


def test_secrets_are_redacted_and_not_in_repr() -> None:
    creds = OkxCredentials("key-zyxwvut", "secret-qwerty-123", "passphrase-xyz")
    assert "secret-qwerty-123" not in repr(creds)
    assert "passphrase-xyz" not in repr(creds)
    record = logging.LogRecord("t", logging.INFO, "f", 1, "using %s", ("secret-qwerty-123",), None)
    RedactingFilter().filter(record)
    assert "secret-qwerty-123" not in record.getMessage()
