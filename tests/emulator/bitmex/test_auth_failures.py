"""Every way a BitMEX request can be badly signed, over a real socket, each answered with
BitMEX's status and a one-line error in its envelope -- REST ``{"error": {"message", "name"}}``,
WebSocket ``{"status", "error", "meta", "request"}`` -- and nothing authenticated by it.

REST: a missing or non-digit ``api-expires``; a bad signature on a *public* route (a key
present is verified even where none is needed); a path signed without its query string.
WebSocket: malformed ``authKeyExpires`` args; expired api-* headers and a wrong key on the
upgrade request."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import KEY, SECRET, Client, sign


def rest_error(status: int, body: Any, want_status: int, want: str) -> None:
    assert status == want_status, body
    assert set(body) == {"error"} and set(body["error"]) == {"message", "name"}, body
    msg = body["error"]["message"]
    assert isinstance(msg, str) and "\n" not in msg and want in msg, body
    assert body["error"]["name"] == "HTTPError"


async def raw(client: Client, verb: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with client.s.request(verb, client.base + path, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def signed(path: str, expires: str, secret: str = SECRET, verb: str = "GET") -> dict[str, str]:
    sig = sign(secret, verb, path, int(expires)) if expires.isdigit() else "0" * 64
    return {"api-key": KEY, "api-expires": expires, "api-signature": sig}


@pytest.mark.parametrize("expires", [None, "", "abc", "12.5", "-5", "1e9", "٣٣٣", "9" * 17])
async def test_missing_or_non_digit_expires(client: Client, expires: str | None) -> None:
    h = signed("/api/v1/position", str(int(time.time()) + 10))
    if expires is None:
        del h["api-expires"]
    else:
        h["api-expires"] = expires
    status, body = await raw(client, "GET", "/api/v1/position", h)
    rest_error(status, body, 401, "api-expires")


async def test_bad_signature_on_a_public_route(client: Client) -> None:
    exp = str(int(time.time()) + 10)
    status, body = await raw(
        client, "GET", "/api/v1/instrument", signed("/api/v1/instrument", exp, "wrong")
    )
    rest_error(status, body, 401, "Signature not valid.")
    status, body = await raw(client, "GET", "/api/v1/instrument", signed("/api/v1/instrument", exp))
    assert status == 200 and body  # the same route, signed right
    status, body = await raw(client, "GET", "/api/v1/instrument", {})
    assert status == 200  # and unsigned: public


async def test_path_signed_without_its_query(client: Client) -> None:
    exp = str(int(time.time()) + 10)
    path = "/api/v1/order?symbol=XBTUSD"
    status, body = await raw(client, "GET", path, signed("/api/v1/order", exp))
    rest_error(status, body, 401, "Signature not valid.")
    status, _ = await raw(client, "GET", path, signed(path, exp))
    assert status == 200


# -- WebSocket ----------------------------------------------------------------------------
def good_args() -> list[Any]:
    exp = int(time.time()) + 10
    return [KEY, exp, sign(SECRET, "GET", "/realtime", exp)]


MALFORMED: list[Any] = [
    None,
    "K",
    {"key": KEY},
    [],
    good_args()[:2],
    [*good_args(), "extra"],
    [KEY, "soon", good_args()[2]],
    [KEY, 1.5, good_args()[2]],
    [KEY, True, good_args()[2]],
    [KEY, -5, good_args()[2]],
    [KEY, 10**20, good_args()[2]],
    [123, good_args()[1], good_args()[2]],
    [KEY, good_args()[1], None],
    [KEY, good_args()[1], ["a"]],
]


@pytest.mark.parametrize("args", MALFORMED, ids=range(len(MALFORMED)))
async def test_malformed_auth_key_expires(emu: BitmexEmulator, args: Any) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await ws.receive_json(timeout=2)  # welcome
        req = {"op": "authKeyExpires", "args": args}
        await ws.send_json(req)
        err = await ws.receive_json(timeout=2)
        assert set(err) == {"status", "error", "meta", "request"}, err
        assert err["status"] == 401 and err["request"] == req
        assert isinstance(err["error"], str) and "\n" not in err["error"], err
        # still anonymous: a private table is refused
        await ws.send_json({"op": "subscribe", "args": ["position"]})
        refused = await ws.receive_json(timeout=2)
        assert refused["status"] == 401, refused


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("expired", "This request has expired"),
        ("wrong key", "Invalid API Key."),
        ("non-digit expires", "Missing or invalid api-expires header."),
        ("signed for another path", "Signature not valid."),
    ],
)
async def test_bad_api_headers_on_the_upgrade(emu: BitmexEmulator, case: str, words: str) -> None:
    """Refused in the words the REST path uses for the same fault."""
    exp = int(time.time()) + 10
    key, path = KEY, "/realtime"
    if case == "expired":
        exp -= 20
    if case == "signed for another path":
        path = "/realtime?subscribe=position"
    if case == "wrong key":
        key = "nope"
    headers = {"api-key": key, "api-expires": str(exp),
               "api-signature": sign(SECRET, "GET", path, exp)}  # fmt: skip
    if case == "non-digit expires":
        headers["api-expires"] = "tomorrow"
    async with aiohttp.ClientSession() as s:
        async with s.get(emu.base_url + "/realtime", headers={
            **headers, "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }) as r:  # fmt: skip
            status, body = r.status, await r.json(content_type=None)
        rest_error(status, body, 401, "")
        assert body["error"]["message"].startswith(words), body
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await s.ws_connect(emu.base_url + "/realtime", headers=headers)
        assert refused.value.status == 401
