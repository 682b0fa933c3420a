"""FMZ bridge load test: requests/s and p50/p99 latency, bridge vs a guide-style baseline.

Both servers sit in front of the same OKX emulator (20 ms added REST latency). The baseline is
built the way the guide's example plugin is: stdlib ``http.server``, one request at a time, one
fresh upstream REST call per request (urllib, signed for private calls). The bridge is
``tradeloop.fmz.server.FmzBridge``. Each (server, method, concurrency) cell runs for a fixed
time or request count, whichever ends first, so the whole run stays under ~90 s.

Processes: the emulator, the bridge and the baseline each run in their own process (started by
this script with ``--role``) so the load generator does not steal their event loop; the load
generator is an aiohttp client in this process.

    .venv/bin/python bench/fmz_load.py            # full run, prints a table
    .venv/bin/python bench/fmz_load.py --quick    # shorter cells
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

API_KEY, SECRET, PASSPHRASE = "bench-key-0001", "bench-secret-0001", "bench-pass-0001"
SYMBOLS = ["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"]
METHODS = ("depth", "ticker", "accounts")
PARAMS: dict[str, dict[str, str]] = {
    "depth": {"symbol": "BTC_USDT", "limit": "20"},
    "ticker": {"symbol": "BTC_USDT"},
    "accounts": {},
}


# -- roles (run in child processes) ------------------------------------------------------------
def role_emulator(latency_ms: float) -> None:
    from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator

    async def main() -> None:
        emu = OkxEmulator(
            EmulatorConfig(
                api_key=API_KEY, api_secret=SECRET, passphrase=PASSPHRASE,
                balances={"USDT": 100000.0, "BTC": 2.0}, symbols=SYMBOLS, seed=1,
                latency_ms=latency_ms,
            )
        )  # fmt: skip
        url = await emu.start("127.0.0.1", 0)
        print(url, flush=True)
        await _until_stdin_closes()
        await emu.stop()

    asyncio.run(main())


def role_bridge(upstream: str) -> None:
    from tradeloop.fmz.server import BridgeConfig, FmzBridge
    from tradeloop.fmz.venue import VenueSpec

    async def main() -> None:
        # The emulator answers every request, so OKX's client-side limits (balance: 10 per 2 s
        # per account) are off here: the bench measures the bridge, not OKX's quotas.
        spec = VenueSpec("OKX", upstream, options={"rate_limits": "off"})
        bridge = FmzBridge(BridgeConfig(venues={"OKX": spec}))
        url = await bridge.start("127.0.0.1", 0)
        print(url, flush=True)
        await _until_stdin_closes()
        await bridge.stop()

    asyncio.run(main())


async def _until_stdin_closes() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


class _GuideStyleHandler(http.server.BaseHTTPRequestHandler):
    """Like the guide's plugin: parse the body, make one upstream REST call, answer."""

    upstream = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        from tradeloop.venues.okx.auth import OkxCredentials

        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        method, params = req["method"], req["params"]
        try:
            if method in ("ticker", "depth"):
                inst = params["symbol"].upper().replace("_", "-")
                if method == "ticker":
                    path = f"/api/v5/market/ticker?instId={inst}"
                else:
                    path = f"/api/v5/market/books?instId={inst}&sz={params.get('limit', 20)}"
                headers: dict[str, str] = {}
            else:
                secret, passphrase = req["secret_key"].split(",")[:2]
                path = "/api/v5/account/balance"
                headers = OkxCredentials(req["access_key"], secret, passphrase).rest_headers(
                    "GET", path
                )
            r = urllib.request.Request(self.upstream + path, headers=headers)
            with urllib.request.urlopen(r, timeout=10) as resp:
                data = json.loads(resp.read())
            self._send({"data": data["data"], "raw": data})
        except Exception as exc:
            self._send({"error": str(exc)})


def role_baseline(upstream: str) -> None:
    _GuideStyleHandler.upstream = upstream
    # One request at a time like the guide's plugin; a listen backlog of 128 instead of
    # socketserver's 5 so 64 clients queue instead of hitting SYN retransmits (kinder to it).
    http.server.HTTPServer.request_queue_size = 128
    srv = http.server.HTTPServer(("127.0.0.1", 0), _GuideStyleHandler)
    print(f"http://127.0.0.1:{srv.server_address[1]}", flush=True)
    import threading

    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    sys.stdin.read()
    srv.shutdown()


# -- load generator ----------------------------------------------------------------------------
class _Conn:
    """A minimal HTTP/1.1 keep-alive client on raw asyncio streams. aiohttp's client costs
    several times more CPU per request than the bridge itself, and on a 2-core machine the load
    generator would otherwise be what gets measured."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = -1, lines[0].startswith("HTTP/1.0")
        for line in lines[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "connection":
                close = v.strip().lower() == "close"
        body = await self.reader.readexactly(length) if length >= 0 else await self.reader.read()
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_cell(
    url: str, method: str, concurrency: int, duration: float, max_requests: int
) -> dict[str, float]:
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    req = {"access_key": API_KEY, "secret_key": f"{SECRET},{PASSPHRASE}", "nonce": 1,
           "method": method, "params": PARAMS[method]}  # fmt: skip
    body = json.dumps(req).encode()
    request = (
        f"POST /OKX HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    lat: list[float] = []
    errors = 0
    # warm-up: the first request starts the live subscription; let the snapshot arrive
    warm = _Conn(host, port, request)
    for _ in range(3):
        await warm.post()
        await asyncio.sleep(0.2)
    await warm.close()
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        conn = _Conn(host, port, request)
        try:
            while time.perf_counter() < deadline and len(lat) < max_requests:
                t0 = time.perf_counter()
                status, raw = await conn.post()
                lat.append(time.perf_counter() - t0)
                if status != 200 or b'"error"' in raw[:20]:
                    errors += 1
        finally:
            await conn.close()

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    # a request still hanging well past the cell's end (the baseline's backlog) is abandoned
    _, pending = await asyncio.wait(tasks, timeout=duration + 5.0)
    for t in pending:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - t0
    lat.sort()
    n = len(lat)
    return {
        "n": n,
        "rps": n / elapsed if elapsed else 0.0,
        "p50": statistics.median(lat) * 1000 if lat else 0.0,
        "p99": lat[min(n - 1, int(n * 0.99))] * 1000 if lat else 0.0,
        "errors": errors + len(pending),
    }


def spawn(role: str, arg: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen(
        [sys.executable, __file__, "--role", role, "--arg", arg],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert p.stdout is not None
    url = p.stdout.readline().strip()
    if not url.startswith("http"):
        p.kill()
        raise RuntimeError(f"{role} failed to start")
    return p, url


async def bench(quick: bool) -> None:
    dur = 1.5 if quick else 3.0
    emu, emu_url = spawn("emulator", "20")
    procs = [emu]
    try:
        bridge, bridge_url = spawn("bridge", emu_url)
        base, base_url = spawn("baseline", emu_url)
        procs += [bridge, base]
        results: dict[tuple[str, str, int], dict[str, float]] = {}
        print(f"emulator {emu_url} (+20 ms REST latency); bridge {bridge_url}; "
              f"baseline {base_url}")  # fmt: skip
        print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} "
              "(other processes on the box inflate p99)")  # fmt: skip
        print(f"{'server':9} {'method':9} {'conc':>4} {'req/s':>9} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'n':>6} {'err':>4}")  # fmt: skip
        for method in METHODS:
            for conc in (1, 64):
                for name, url in (("bridge", bridge_url), ("baseline", base_url)):
                    cap = 20000 if name == "bridge" else 400
                    r = await run_cell(url, method, conc, dur, cap)
                    results[(name, method, conc)] = r
                    print(f"{name:9} {method:9} {conc:>4} {r['rps']:>9.1f} {r['p50']:>8.2f} "
                          f"{r['p99']:>8.2f} {int(r['n']):>6} {int(r['errors']):>4}",
                          flush=True)  # fmt: skip
        print()
        print("speed-up at concurrency 64 (bridge req/s / baseline req/s):")
        for method in METHODS:
            b, g = results[("bridge", method, 64)], results[("baseline", method, 64)]
            ratio = b["rps"] / g["rps"] if g["rps"] else float("inf")
            ok = "OK" if ratio >= 20 and b["p99"] < 50 else "MISS"
            print(f"  {method:9} {ratio:7.1f}x   bridge p99 {b['p99']:.2f} ms   "
                  f"[target >= 20x, p99 < 50 ms: {ok}]")  # fmt: skip
        for method in ("depth", "ticker"):
            p99 = results[("bridge", method, 1)]["p99"]
            ok = "OK" if p99 < 2 else "MISS"
            print(f"  {method:9} live-book p99 at concurrency 1: {p99:.2f} ms "
                  f"[target < 2 ms: {ok}]")  # fmt: skip
    finally:
        for p in reversed(procs):
            if p.stdin:
                p.stdin.close()
        for p in reversed(procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--role", choices=["emulator", "bridge", "baseline"])
    ap.add_argument("--arg", default="")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.role == "emulator":
        role_emulator(float(args.arg))
    elif args.role == "bridge":
        role_bridge(args.arg)
    elif args.role == "baseline":
        role_baseline(args.arg)
    else:
        t0 = time.perf_counter()
        asyncio.run(bench(args.quick))
        print(f"\ntotal {time.perf_counter() - t0:.1f} s, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
