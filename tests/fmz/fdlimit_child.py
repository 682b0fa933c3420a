"""A bridge process starved of file descriptors (run by ``test_fd_limit.py``, not by pytest).

Usage: ``python fdlimit_child.py NOFILE FREE SECONDS``. Lowers ``RLIMIT_NOFILE`` to NOFILE,
starts a bridge in front of the fake venue, then opens ``/dev/null`` until ``open`` fails and
gives back FREE descriptors — the bridge is at the limit the way a busy process gets there.
Prints the URL on stdout, serves for SECONDS, logs to stderr (tradeloop's handler), exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmz.conftest import fake_config
from tradeloop.core.log import setup_logging
from tradeloop.fmz.server import BridgeConfig, FmzBridge


async def main(nofile: int, free: int, seconds: float) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    setup_logging("INFO")
    fields = {f.name for f in dataclasses.fields(BridgeConfig)}
    wanted = {"header_timeout": 1.0, "body_timeout": 1.0, "idle_timeout": 2.0}
    bridge = FmzBridge(fake_config(**{k: v for k, v in wanted.items() if k in fields}))
    url = await bridge.start("127.0.0.1", 0)
    burned: list[int] = []
    try:
        while True:
            burned.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    for _ in range(min(free, len(burned))):
        os.close(burned.pop())
    print(url, flush=True)
    await asyncio.sleep(seconds)
    for fd in burned:
        os.close(fd)
    await bridge.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
