"""Seed 002's own client flow against the emulator with only the URL changed.

The functions below follow the seed script (``specs/seeds/bitfinex-websocket-trading.ja.txt``)
step by step -- websocket-client's ``WebSocketApp``, ``on_open`` authenticating with
HMAC-SHA384 of ``"AUTH" + nonce`` and ``dms: 4`` (sent with ``json.dumps``, as the seed's later
listing does), the ticker subscription, ``on_message`` parsing the ticker by index, and
``new_order_market`` sending ``[0, "on", None, {...}]``. Three harness changes only: the URL;
``print`` becomes a list of lines the test reads; ``on_close`` records instead of calling
``os._exit`` (it would end the test run) and the ticker-printing thread is not started.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import KEY, SECRET

websocket = pytest.importorskip("websocket")


class SeedScript:
    """The seed's globals and functions, as one object so a test can run it in a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.API_KEY, self.API_SECRET = KEY, SECRET
        self.channels: dict[int, list[str]] = {}
        self.tickers: dict[str, dict[str, Any]] = {}
        self.out: list[str] = []  # the seed prints these
        self.raw: list[Any] = []  # every message, for the test's own checks
        self.closed = False
        self.ws: Any = None

    def on_message(self, ws: Any, message: str) -> None:
        data = json.loads(message)
        self.raw.append(data)
        if "event" in message:
            if data["event"] == "info":
                pass
            elif data["event"] == "auth":
                if data["status"] == "OK":
                    self.out.append("API authentication successful")
                else:
                    self.out.append(data["status"])
            elif data["event"] == "subscribed":  # noqa: SIM102 (the seed's shape)
                if data["channel"] == "ticker":
                    self.channels[data["chanId"]] = [data["channel"], data["pair"]]
        else:
            chan_id = data[0]
            if chan_id in self.channels:  # noqa: SIM102 (the seed's shape)
                if "ticker" in self.channels[chan_id]:
                    if data[1] == "hb":
                        pass
                    else:
                        sym = self.channels[chan_id][1]
                        ticker_raw = data[1]
                        self.tickers[sym] = {
                            "bid": ticker_raw[0],
                            "ask": ticker_raw[2],
                            "last_price": ticker_raw[6],
                            "volume": ticker_raw[7],
                        }

    def on_error(self, ws: Any, error: Any) -> None:
        self.out.append(str(error))

    def on_close(self, ws: Any, *args: Any) -> None:
        self.out.append("### API connection closed ###")
        self.closed = True  # the seed calls os._exit(0) here

    def on_open(self, ws: Any) -> None:
        def authenticate() -> None:
            nonce = str(int(time.time() * 10000000))
            auth_string = "AUTH" + nonce
            auth_sig = hmac.new(self.API_SECRET.encode(), auth_string.encode(),
                                hashlib.sha384).hexdigest()  # fmt: skip
            payload = {"event": "auth", "apiKey": self.API_KEY, "authSig": auth_sig,
                       "authPayload": auth_string, "authNonce": nonce, "dms": 4}  # fmt: skip
            ws.send(json.dumps(payload))

        self.out.append("API connected")
        authenticate()
        sub_ticker = {"event": "subscribe", "channel": "ticker", "symbol": "tBTCUSD"}
        ws.send(json.dumps(sub_ticker))

    def connect_api(self) -> None:
        websocket.enableTrace(False)
        self.ws = websocket.WebSocketApp(self.url, on_message=self.on_message,
                                         on_error=self.on_error, on_close=self.on_close,
                                         on_open=self.on_open)  # fmt: skip
        self.ws.run_forever()

    def new_order_market(self, symbol: str, amount: float) -> None:
        cid = int(round(time.time() * 1000))  # noqa: RUF046 (the seed's line)
        order_details = {"cid": cid, "type": "EXCHANGE MARKET", "symbol": "t" + symbol,
                         "amount": str(amount)}  # fmt: skip
        msg = [0, "on", None, order_details]
        self.ws.send(json.dumps(msg))


async def _wait(cond: Any, what: str, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_seed_script_trades_on_the_emulator(bfx: BitfinexEmulator) -> None:
    seed = SeedScript(bfx.base_url.replace("http://", "ws://") + "/ws/2")
    thread = threading.Thread(target=seed.connect_api, daemon=True)
    thread.start()
    try:
        await _wait(lambda: "API authentication successful" in seed.out, "authentication")
        bfx.step()
        await _wait(lambda: "BTCUSD" in seed.tickers, "the ticker")
        t = seed.tickers["BTCUSD"]
        assert t["bid"] < t["ask"] and t["last_price"] > 0
        seed.new_order_market("BTCUSD", 0.01)

        def account(kind: str) -> list[Any]:
            return [m for m in list(seed.raw) if isinstance(m, list) and m[0] == 0 and m[1] == kind]

        await _wait(lambda: account("oc"), "the order to close")
        note = account("n")[0][2]
        assert note[1] == "on-req" and note[6] == "SUCCESS"
        assert account("on") and account("te")
        oc = account("oc")[0][2]
        assert oc[13].startswith("EXECUTED") and oc[7] == 0.01
        btc = bfx.trading.account.sim.balances()["BTC"].total
        assert 2.0 < btc < 2.01  # bought 0.01 BTC, paid the fee in BTC
    finally:
        if seed.ws is not None:
            seed.ws.close()
        await asyncio.to_thread(thread.join, 5)
