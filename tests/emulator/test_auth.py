"""OKX authentication: the spec's [computed] vectors, then every tampered field over a real
socket answered with OKX's code and HTTP 401."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tradeloop.emulator.okx.auth import Credentials, sign, verify_rest, verify_ws_login
from tradeloop.emulator.okx.errors import OkxError
from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import KEY, PASSPHRASE, SECRET, Client, iso_now, signed_headers

DOC_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
DOC_TS = "2020-12-08T09:08:57.715Z"


def test_rest_sign_vectors_from_spec() -> None:
    assert (
        sign(DOC_SECRET, DOC_TS + "GET" + "/api/v5/account/balance?ccy=BTC")
        == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    )
    body = '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}'
    assert (
        sign(DOC_SECRET, DOC_TS + "POST" + "/api/v5/account/set-leverage" + body)
        == "eCnnCgWLjlQ9XnpUkrcny3qNq3WW/81KNrDr/XR6Xv8="
    )


def test_ws_login_sign_vector_from_spec() -> None:
    assert (
        sign(DOC_SECRET, "1538054050" + "GET" + "/users/self/verify")
        == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
    )


def test_verify_rest_accepts_the_doc_request_at_its_own_time() -> None:
    creds = Credentials("k", DOC_SECRET, "p")
    headers = {
        "OK-ACCESS-KEY": "k",
        "OK-ACCESS-PASSPHRASE": "p",
        "OK-ACCESS-TIMESTAMP": DOC_TS,
        "OK-ACCESS-SIGN": "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=",
    }
    now = 1607418537.715  # 2020-12-08T09:08:57.715Z
    verify_rest(creds, headers, "GET", "/api/v5/account/balance?ccy=BTC", "", now)
    with pytest.raises(OkxError) as err:
        verify_rest(creds, headers, "GET", "/api/v5/account/balance?ccy=BTC", "", now + 31)
    assert err.value.code == "50102"
    with pytest.raises(OkxError) as err:
        verify_rest(creds, headers, "GET", "/api/v5/account/balance?ccy=ETH", "", now)
    assert err.value.code == "50113"


@pytest.mark.parametrize(
    ("arg", "code"),
    [
        ({"apiKey": "k", "passphrase": "p", "timestamp": "1538054050"}, "60009"),
        ({"apiKey": "x", "passphrase": "p", "timestamp": "1538054050", "sign": "s"}, "60005"),
        ({"apiKey": "k", "passphrase": "x", "timestamp": "1538054050", "sign": "s"}, "60024"),
        ({"apiKey": "k", "passphrase": "p", "timestamp": "abc", "sign": "s"}, "60004"),
        ({"apiKey": "k", "passphrase": "p", "timestamp": "1538053000", "sign": "s"}, "60006"),
        ({"apiKey": "k", "passphrase": "p", "timestamp": "1538054050", "sign": "bad"}, "60007"),
    ],
)
def test_ws_login_errors(arg: dict[str, str], code: str) -> None:
    creds = Credentials("k", DOC_SECRET, "p")
    with pytest.raises(OkxError) as err:
        verify_ws_login(creds, arg, 1538054050.0)
    assert err.value.code == code
    ok = {
        "apiKey": "k",
        "passphrase": "p",
        "timestamp": "1538054050",
        "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=",
    }
    verify_ws_login(creds, ok, 1538054060.0)


BAL = "/api/v5/account/balance?ccy=USDT"


async def _get(client: Client, headers: dict[str, str], path: str = BAL) -> tuple[int, dict]:
    async with client.session.get(client.base + path, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_signed_request_accepted(client: Client) -> None:
    status, body = await _get(client, signed_headers("GET", BAL))
    assert status == 200 and body["code"] == "0"
    assert body["data"][0]["details"][0]["ccy"] == "USDT"
    # x-simulated-trading (demo header) is accepted too
    status, body = await _get(client, signed_headers("GET", BAL, **{"x-simulated-trading": "1"}))
    assert status == 200 and body["code"] == "0"


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ({"OK-ACCESS-KEY": ""}, "50103"),
        ({"OK-ACCESS-PASSPHRASE": ""}, "50104"),
        ({"OK-ACCESS-SIGN": ""}, "50106"),
        ({"OK-ACCESS-TIMESTAMP": ""}, "50107"),
        ({"OK-ACCESS-KEY": "other-key"}, "50111"),
        ({"OK-ACCESS-PASSPHRASE": "wrong-pass"}, "50105"),
        ({"ts": "yesterday"}, "50112"),
        ({"ts": "2020-12-08T09:08:57.715Z"}, "50102"),
        ({"ts": "FUTURE"}, "50102"),  # computed at run time: 45 s ahead
        ({"secret": "not-the-secret"}, "50113"),
        ({"OK-ACCESS-SIGN": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "50113"),
    ],
)
async def test_tampered_headers_rejected(client: Client, tamper: dict[str, str], code: str) -> None:
    if tamper.get("ts") == "FUTURE":
        tamper = {"ts": iso_now(45)}
    status, body = await _get(client, signed_headers("GET", BAL, **tamper))
    assert status == 401
    assert body["code"] == code and body["msg"] and body["data"] == []


async def test_signature_covers_query_method_and_body(client: Client) -> None:
    # signed for a different query string
    status, body = await _get(client, signed_headers("GET", "/api/v5/account/balance?ccy=BTC"))
    assert (status, body["code"]) == (401, "50113")
    # signed as POST, sent as GET
    status, body = await _get(client, signed_headers("POST", BAL))
    assert (status, body["code"]) == (401, "50113")
    # body changed after signing
    path = "/api/v5/trade/order"
    signed_body = json.dumps({"instId": "BTC-USDT"})
    sent = json.dumps({"instId": "ETH-USDT"})
    async with client.session.post(
        client.base + path, data=sent, headers=signed_headers("POST", path, signed_body)
    ) as r:
        assert r.status == 401
        assert (await r.json())["code"] == "50113"


async def test_missing_headers_on_private_endpoint(emu: OkxEmulator) -> None:
    async with aiohttp.ClientSession() as s, s.get(emu.base_url + BAL) as r:
        assert r.status == 401
        assert (await r.json())["code"] == "50103"


def test_secrets_are_registered_for_redaction(emu: OkxEmulator) -> None:
    from tradeloop.core.log import redact

    line = f"key={KEY} secret {SECRET} pass {PASSPHRASE}"
    assert KEY not in redact(line) and SECRET not in redact(line)
    assert PASSPHRASE not in redact(line)
