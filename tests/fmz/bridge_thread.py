"""Run the OKX emulator and a bridge in a background thread, for synchronous test code
(hypothesis drives plain functions) that talks to them with stdlib ``http.client``."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.venue import VenueSpec

API_KEY, SECRET, PASSPHRASE = "fuzz-key-0001", "fuzz-secret-0001", "fuzz-pass-0001"


class BridgeThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""

    def start(self) -> BridgeThread:
        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> str:
        self.emu = OkxEmulator(
            EmulatorConfig(
                api_key=API_KEY, api_secret=SECRET, passphrase=PASSPHRASE,
                balances={"USDT": 100000.0, "BTC": 2.0},
                symbols=["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"], seed=1,
            )
        )  # fmt: skip
        base = await self.emu.start("127.0.0.1", 0)
        venues: dict[str, str | VenueSpec] = {
            "OKX": VenueSpec("OKX", base, options={"rate_limits": "off", "timeout": 3.0}),
        }
        self.bridge = FmzBridge(BridgeConfig(venues=venues, request_timeout=5.0))
        return await self.bridge.start("127.0.0.1", 0)

    def stop(self) -> None:
        async def _stop() -> None:
            await self.bridge.stop()
            await self.emu.stop()

        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        """One POST on a fresh connection; returns (status, content type, body)."""
        u = urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read()
        finally:
            conn.close()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        body = {"access_key": API_KEY, "secret_key": f"{SECRET},{PASSPHRASE}", "nonce": 1,
                "method": method, "params": params or {}}  # fmt: skip
        status, _, raw = self.post("/OKX", json.dumps(body).encode())
        assert status == 200
        return json.loads(raw)
