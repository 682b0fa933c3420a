"""No credential in any log output or capture line, whatever the request looks like.

Issue 8, finding 3: bare-LF requests made aiohttp log a traceback at ERROR quoting the raw
request (keys included) — the redacting filter only rewrote the message; the capture file kept a
passphrase (the ``secret_key`` mask stopped at the comma of ``secret,passphrase`` in an
unparsable body) and an ``apiKey`` query parameter. Here secrets are planted in every shape we
can think of, and every output is grepped: pytest's caplog, a plain ``FileHandler`` at DEBUG
with no filter of ours (tracebacks included) and the capture file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradeloop.fmz.server import FmzBridge

from .conftest import FakeVenue, fake_config
from .rawhttp import exchange, fmz_body, http_post, port_of, request

TOKEN = "PLANTED-bridge-token-77a1"


class Plant:
    """Unique secret strings, each remembered so the outputs can be grepped for all of them."""

    def __init__(self) -> None:
        self.all: list[str] = []

    def __call__(self, tag: str) -> str:
        value = f"PLANTED-{tag}-{len(self.all):03d}x9"
        self.all.append(value)
        return value


@pytest.fixture
def file_log(tmp_path: Path) -> Iterator[Path]:
    """A real handler writing every record (DEBUG and up, tracebacks too) to a file."""
    path = tmp_path / "bridge.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _keys(plant: Plant) -> dict[str, str]:
    """A request body's credentials: key and packed ``secret,passphrase``, all planted."""
    return {"access_key": plant("ak"), "secret_key": f"{plant('sk')},{plant('pp')}"}


def _odd_params(plant: Plant) -> dict[str, object]:
    return {
        "apiKey": plant("apiKey"),
        "X-API-KEY": plant("x-api-key"),
        "ａｐｉＫｅｙ": plant("fullwidth"),  # full-width letters
        "api\u200bsecret": plant("zero-width"),
        "sign": plant("sign"),
        "passphrase": plant("passphrase"),
        "Authorization": f"Bearer {plant('bearer')}",
        "nested": {"privateKey": plant("nested"), "list": [{"token": plant("in-list")}]},
        "instId": "BTC-USDT",
    }


async def test_no_planted_secret_in_logs_or_capture(
    tmp_path: Path, file_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plant = Plant()
    plant.all.append(TOKEN)
    cap = tmp_path / "capture.jsonl"
    bridge = FmzBridge(fake_config(capture=cap, token=TOKEN))
    url = await bridge.start("127.0.0.1", 0)
    port = port_of(url)
    venue = bridge.venue("FAKE")
    assert isinstance(venue, FakeVenue)
    auth = {"X-Fmz-Token": TOKEN}
    try:
        # -- malformed HTTP: aiohttp's parser errors quote the raw bytes ---------------------
        body = fmz_body("ticker", {"symbol": "BTC_USDT"}, **_keys(plant))
        lf = http_post("/FAKE", body, auth).replace(b"\r\n", b"\n")  # bare LF line endings
        for _ in range(3):
            assert b"400" in (await exchange(port, lf))[:20]
        bad_header = http_post("/FAKE", body, {**auth, "X-Api-Key": plant("ctl") + "\x01"})
        bad_length = http_post("/FAKE", body, auth).replace(
            b"Content-Length: ", f"Content-Length: {plant('len')} ".encode()
        )
        long_line = http_post("/FAKE", body, {**auth, "X-Pad": "a" * 9000 + plant("long")})
        bad_method = plant("method").encode() + b" /FAKE HTTP/1.1\r\nHost: x\r\n\r\n"
        bad_chunk = (
            b"POST /FAKE HTTP/1.1\r\nHost: x\r\nX-Fmz-Token: " + TOKEN.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\nZZ" + plant("chunk").encode() + b"\r\n\r\n"
        )  # fmt: skip
        for raw in (bad_header, bad_length, long_line, bad_method, bad_chunk):
            await exchange(port, raw, timeout=3)

        # -- unparsable bodies: nothing can say where a secret ends --------------------------
        ak, sk, pp = plant("ak"), plant("sk"), plant("pp")
        truncated = f'{{"access_key": "{ak}", "secret_key": "{sk},{pp}", "method": "acc'
        form = f"access_key={plant('ak')}&secret_key={plant('sk')},{plant('pp')}&method=ticker"
        for text in (truncated, form):
            r = await request(port, http_post("/FAKE", text.encode(), auth))
            assert "malformed JSON" in r["error"]
        raw_bytes = b"\xff\xfe" + plant("binary").encode() + b"\x00"
        assert "error" in await request(port, http_post("/FAKE", raw_bytes, auth))

        # -- odd parameter names, in a passthrough and in an unknown method ------------------
        for method in ("__api_/api/v5/account/balance", "GetSecretThing"):
            body = fmz_body(method, _odd_params(plant), **_keys(plant))
            await request(port, http_post("/FAKE", body, auth))
        # credentials in headers and in a wrong token in the query
        body = fmz_body("ticker", {"symbol": "BTC_USDT"}, **_keys(plant))
        headers = {
            **auth,
            "Authorization": f"Bearer {plant('hdr-bearer')}",
            "Cookie": f"session={plant('cookie')}",
            "X-Api-Key": plant("hdr-key"),
        }
        assert "data" in await request(port, http_post("/FAKE", body, headers))
        wrong = http_post(f"/FAKE?token={plant('wrong-token')}", body)
        assert "unauthorized" in (await request(port, wrong))["error"]

        # -- a traceback whose exception text carries the request's secrets -----------------
        keys = _keys(plant)
        echoed = keys["secret_key"]
        venue.fail = RuntimeError(f"adapter bug near {echoed} / {keys['access_key']}")
        body = fmz_body("ticker", {"symbol": "BTC_USDT"}, **keys)
        assert "internal error" in (await request(port, http_post("/FAKE", body, auth)))["error"]
        api_key = plant("echo-apikey")
        venue.fail = ValueError(f"GET /api/v5/x?instId=BTC-USDT&apiKey={api_key} refused")
        body = fmz_body("__api_/api/v5/x", {"apiKey": api_key}, **_keys(plant))
        assert "internal error" in (await request(port, http_post("/FAKE", body, auth)))["error"]
    finally:
        await bridge.stop()

    outputs = {
        "caplog": caplog.text,
        "log file": file_log.read_text(encoding="utf-8"),
        "capture": cap.read_text(encoding="utf-8"),
    }
    for where, text in outputs.items():
        hits = sorted({s for s in plant.all if s in text})
        assert not hits, f"{where} leaks {hits}"
    # ... and the outputs are not empty because nothing happened
    log_text = outputs["log file"]
    assert "malformed HTTP request" in log_text
    assert "Traceback" in log_text and "adapter bug near ***" in log_text
    assert "unsupported method 'GetSecretThing'" in log_text
    lines = [json.loads(x) for x in outputs["capture"].splitlines()]
    assert len(lines) >= 8
    unparsed = [x["request"] for x in lines if isinstance(x["request"], dict)
                and "unparsed" in x["request"]]  # fmt: skip
    assert len(unparsed) == 3 and all("bytes" in u for u in unparsed)
    api = next(x for x in lines if x["request"] and
               str(x["request"].get("method", "")).startswith("__api_"))  # fmt: skip
    assert api["request"]["params"]["instId"] == "BTC-USDT"  # harmless params are kept
    assert api["request"]["params"]["apiKey"] == "***"
