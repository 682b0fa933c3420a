"""``tradeloop emulator <venue> ...``: run a wire-compatible exchange emulator until Ctrl-C.

The flags shared by every venue (bind address, credentials, balances, symbols, seed, market
pace, faults) live here; :data:`VENUES` maps each venue of ``venues.registry`` that has an
emulator to its front-end (``emulator/frontend.py``), which holds its defaults. Binds
127.0.0.1 unless told otherwise: the emulator accepts any order from anyone who knows the
(test) key, so it should not face a network.

Secrets come from the environment (:data:`SECRET_ENV`): a flag's value shows in ``ps`` and
shell history. The flags still work and win over the environment. The admin token guards
``/__admin/faults``; when none is given one is generated and printed once on stdout (never
logged: the log redactor masks it like every other secret).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Mapping
from typing import Any

from tradeloop.core.argtypes import non_negative, port, positive, positive_int
from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret
from tradeloop.emulator.admin import ADMIN_TOKEN_ENV
from tradeloop.emulator.faults import LOST_REPLY_KINDS, Faults
from tradeloop.emulator.frontend import (
    SECRET_ENV,
    FrontEnd,
    parse_pairs,
    resolve_secrets,
)
from tradeloop.venues import registry

__all__ = ["SECRET_ENV", "VENUES", "add_arguments", "apply_fault_flags", "parse_pairs", "run"]

log = logging.getLogger(__name__)


class _FrontEnds(Mapping[str, FrontEnd]):
    """venue -> its front-end, read from ``venues.registry`` (each entry's ``emulator``
    module exposes ``FRONT_END``) and imported only when that venue is run."""

    def __getitem__(self, venue: str) -> FrontEnd:
        spec = registry.get(venue)
        if spec.emulator is None:
            raise KeyError(venue)
        front: FrontEnd = spec.load_emulator().FRONT_END
        return front

    def __iter__(self) -> Iterator[str]:
        return iter(registry.cli_choices(emulated=True, tradable=False))

    def __len__(self) -> int:
        return len(registry.cli_choices(emulated=True, tradable=False))


#: venue -> front-end (from the registry: adding a venue touches no CLI code)
VENUES: Mapping[str, FrontEnd] = _FrontEnds()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("venue", choices=sorted(VENUES), help="which exchange to emulate")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8100, help="port (0 = any free port)")
    secrets = parser.add_argument_group(
        "secrets (prefer the environment: flag values show in ps and shell history)"
    )
    for flag, dest, metavar in (
        ("--api-key", "api_key", "KEY"),
        ("--api-secret", "api_secret", "SECRET"),
        ("--passphrase", "passphrase", "PASSPHRASE"),
    ):
        env, default = SECRET_ENV[dest]
        secrets.add_argument(
            flag, dest=dest, default=None, metavar=metavar, help=f"env {env} (default {default!r})"
        )
    secrets.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help=f"bearer token for /__admin/faults; env {ADMIN_TOKEN_ENV}; "
        "default: generated and printed at start",
    )
    secrets.add_argument(
        "--ed25519-public-key",
        default=None,
        metavar="FILE",
        help="binance: PEM file of an Ed25519 public key that may sign for --api-key "
        "(session.logon); env TRADELOOP_EMULATOR_ED25519_PUBLIC_KEY",
    )
    parser.add_argument(
        "--balance",
        action="append",
        metavar="CCY=AMOUNT",
        help="starting balance, repeatable (default okx USDT=100000, ftx USD=100000)",
    )
    parser.add_argument(
        "--symbols",
        default=None,
        help="comma-separated venue symbols (default okx BTC-USDT,ETH-USDT,BTC-USDT-SWAP; "
        "ftx BTC-PERP,ETH-PERP,BTC/USD)",
    )
    parser.add_argument("--seed", type=int, default=1, help="synthetic market seed")
    parser.add_argument(
        "--tick-ms",
        type=non_negative,
        default=150.0,
        help="synthetic market step interval in ms (0 = frozen)",
    )
    parser.add_argument("--levels", type=positive_int, default=60, help="book levels per side")
    parser.add_argument(
        "--start-price",
        action="append",
        metavar="SYMBOL=PRICE",
        help="starting mid for a symbol, repeatable",
    )
    parser.add_argument(
        "--instruments-file",
        default=None,
        help="(okx) cryptofeed OKX.0 capture with real instrument specs",
    )
    parser.add_argument(
        "--inst-id-code",
        action="store_true",
        help="(okx) include instIdCode in instruments (ccxt then uses it in WS)",
    )
    parser.add_argument("--leverage", type=positive, default=3.0, help="default swap leverage")
    parser.add_argument("--funding-rate", type=float, default=0.0001, help="(okx, bitmex, binance)")
    parser.add_argument(
        "--funding-interval-s",
        type=float,
        default=8 * 3600.0,
        help="(okx, bitmex, binance) seconds between funding settlements (okx: 0 = never)",
    )
    parser.add_argument(
        "--replay",
        default=None,
        metavar="CAPTURE",
        help="(okx, bitmex) replay recorded books/trades for the symbols found in this WS capture",
    )
    parser.add_argument(
        "--ws-idle-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="close silent WS connections like OKX (30); 0 = never",
    )
    faults = parser.add_argument_group("faults (also at POST /__admin/faults)")
    faults.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay every REST answer and WS request"
    )
    faults.add_argument(
        "--fail-next",
        type=int,
        default=0,
        metavar="N",
        help="answer the first N REST requests with --fail-kind",
    )
    faults.add_argument("--fail-kind", choices=("429", "5xx"), default="429")
    faults.add_argument(
        "--lose-reply",
        type=int,
        default=0,
        metavar="N",
        help="execute the first N matching REST requests, then lose the answer",
    )
    faults.add_argument(
        "--lose-reply-kind",
        choices=LOST_REPLY_KINDS,
        default="5xx",
        help="how the answer is lost: HTTP 504 after execution, or the connection dropped",
    )
    faults.add_argument(
        "--lose-reply-target",
        default="",
        metavar="'[METHOD ]PATH'",
        help="only requests to this path (e.g. 'POST /api/v5/trade/order'); default all",
    )
    faults.add_argument(
        "--drop-ws-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="drop all WebSocket connections periodically",
    )
    faults.add_argument(
        "--skip-seq-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="lose one books update periodically (seqId gap)",
    )
    faults.add_argument(
        "--corrupt-checksum-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="send a wrong books checksum periodically",
    )


def run(args: argparse.Namespace) -> int:
    resolve_secrets(args)
    for dest in SECRET_ENV:
        register_secret(getattr(args, dest))
    front = VENUES[args.venue]
    server = front(args)
    try:
        apply_fault_flags(server.faults, args)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    asyncio.run(_serve(server, args.host, args.port, front.ws_hint))
    return 0


def apply_fault_flags(faults: Faults, args: argparse.Namespace) -> None:
    """Arm the one-shot faults asked for on the command line (the periodic ones are part of
    the venue config); out-of-range values are a ValueError, as over the admin endpoint."""
    if args.latency_ms:
        faults.add_latency(args.latency_ms)
    if args.fail_next:
        faults.fail_next(args.fail_next, args.fail_kind)
    if args.lose_reply:
        faults.lose_replies(args.lose_reply, args.lose_reply_kind, args.lose_reply_target)


async def _serve(server: Any, host: str, port: int, ws_hint: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        url = await server.start(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from None
    ws_url = url.replace("http://", "ws://") + ws_hint
    log.info("REST %s  WS %s  admin %s/__admin/faults", url, ws_url, url)
    if server.admin_token_generated:  # on stdout, not the log: the log masks secrets
        print(
            f"admin token (Authorization: Bearer ...; set {ADMIN_TOKEN_ENV} to choose one): "
            f"{server.admin_token}",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        await server.stop()
