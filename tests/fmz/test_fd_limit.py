"""The bridge at its file-descriptor limit, as a real process (issue 8, finding 4).

At a 1,024-descriptor limit, 1,100 trickling connections made the old bridge log
``socket.accept() out of system resource`` 741,464 times in 61 s (329 MB, a core at 100 %) and
every valid request time out. Here a child bridge runs with few descriptors left while this
process opens more slow connections than it has; valid requests must still be answered (the
bridge drops the oldest connection without a request to free a descriptor) and accept errors
must be logged at most about once a second.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .rawhttp import fmz_body, http_post, port_of, request
from .test_limits import Trickler

CHILD = Path(__file__).with_name("fdlimit_child.py")
TICKER = http_post("/FAKE", fmz_body("ticker", {"symbol": "BTC_USDT"}))
SECONDS = 4.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_NOFILE")


async def _timed(port: int) -> float:
    t0 = time.monotonic()
    reply = await request(port, TICKER, timeout=4.0)
    assert "data" in reply, reply
    return time.monotonic() - t0


async def test_valid_requests_answered_and_accept_errors_rate_limited_at_fd_limit() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "256", "24", str(SECONDS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    tasks: list[asyncio.Task[None]] = []
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.startswith("http://"), line
        port = port_of(line.strip())
        slow = Trickler(port)
        tasks = [asyncio.ensure_future(slow.headers(0)) for _ in range(100)]  # > 24 free fds
        await asyncio.sleep(0.3)
        valid = []
        for _ in range(10):  # one valid request every 100 ms, each on its own connection
            valid.append(asyncio.ensure_future(_timed(port)))
            await asyncio.sleep(0.1)
        results = await asyncio.gather(*valid, return_exceptions=True)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _, err = await asyncio.to_thread(proc.communicate, None, 30)
    times = sorted(r for r in results if isinstance(r, float))
    accept_lines = [x for x in err.splitlines() if "accept" in x]
    print(f"fd limit: {len(times)}/{len(results)} valid requests answered (slowest "
          f"{max(times, default=0) * 1000:.0f} ms), {slow.opened} slow connections opened, "
          f"{len(accept_lines)} accept log lines, {len(err)} bytes of log")  # fmt: skip
    assert proc.returncode == 0, err[-2000:]
    assert len(times) == len(results), results
    assert len(accept_lines) <= SECONDS + 2  # at most about one a second
    assert len(err) < 20_000
