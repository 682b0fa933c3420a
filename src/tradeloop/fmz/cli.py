"""``tradeloop fmz``: serve the FMZ custom-protocol bridge until interrupted.

The bridge's only secret of its own is the shared token. It is read from the environment
(``TRADELOOP_FMZ_TOKEN``) or the config file: a command-line argument is visible to every user
of the machine in ``ps``. ``--token`` still works, with a warning saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret
from tradeloop.fmz.config import build_config
from tradeloop.fmz.server import BridgeConfig, FmzBridge, is_loopback

log = logging.getLogger(__name__)

TOKEN_ENV = "TRADELOOP_FMZ_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 6666)")
    parser.add_argument(
        "--venue",
        action="append",
        default=[],
        metavar="LABEL=URL",
        help="serve /LABEL from this venue REST base URL, e.g. OKX=http://127.0.0.1:8100 "
        "(repeatable; default OKX=https://www.okx.com)",
    )
    parser.add_argument("--config", default=None, metavar="FILE.toml", help="config file")
    parser.add_argument(
        "--token",
        default=None,
        help=f"shared token dockers must send (?token= or X-Fmz-Token header). Prefer env "
        f"{TOKEN_ENV} (or the config file): arguments are visible to other users in ps",
    )
    parser.add_argument(
        "--capture", default=None, metavar="FILE", help="append request/response JSON lines"
    )


def run(args: argparse.Namespace) -> int:
    token = args.token
    if token is not None:
        register_secret(token)
        log.warning("--token on the command line is visible to other users (ps); use %s",
                    TOKEN_ENV)  # fmt: skip
    else:
        token = os.environ.get(TOKEN_ENV) or None
    cfg, data = build_config(
        file=args.config, venue_flags=args.venue, token=token, capture=args.capture
    )
    host = args.host or str(data.get("host", "127.0.0.1"))
    port = args.port if args.port is not None else int(data.get("port", 6666))
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: must be 0..65535")
    if not is_loopback(host) and not cfg.token:
        log.warning("binding %s without --token: any host that can reach it may trade", host)
    asyncio.run(_serve(cfg, host, port))
    return 0


async def _serve(cfg: BridgeConfig, host: str, port: int) -> None:
    bridge = FmzBridge(cfg)
    try:
        await bridge.start(host, port)
    except OSError as exc:
        await bridge.stop()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    try:
        await asyncio.Event().wait()  # until Ctrl-C cancels the run
    finally:
        await bridge.stop()
