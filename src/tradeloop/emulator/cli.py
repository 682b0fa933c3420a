"""``tradeloop emulator <venue> ...``: run a wire-compatible exchange emulator until Ctrl-C.

The flags shared by every venue (bind address, credentials, balances, symbols, seed, market
pace, faults) live here; each venue module maps them onto its own config through
:data:`VENUES`. Binds 127.0.0.1 unless told otherwise: the emulator accepts any order from
anyone who knows the (test) key, so it should not face a network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret
from tradeloop.emulator.faults import LOST_REPLY_KINDS, Faults, PeriodicFaults

log = logging.getLogger(__name__)


def _okx_server(args: argparse.Namespace) -> Any:
    from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator

    cfg = EmulatorConfig(
        api_key=args.api_key,
        api_secret=args.api_secret,
        passphrase=args.passphrase or "",
        balances=parse_pairs(args.balance, "--balance"),
        symbols=[s for s in args.symbols.split(",") if s.strip()],
        seed=args.seed,
        latency_ms=args.latency_ms,
        tick_interval_ms=args.tick_ms,
        book_levels=args.levels,
        start_prices=parse_pairs(args.start_price, "--start-price"),
        instruments_file=args.instruments_file,
        leverage=args.leverage,
        inst_id_code=args.inst_id_code,
        ws_idle_timeout_s=args.ws_idle_timeout,
        replay_file=args.replay,
        funding_rate=args.funding_rate,
        funding_interval_s=args.funding_interval_s,
        periodic_faults=PeriodicFaults(
            drop_ws_every_s=args.drop_ws_every,
            skip_seq_every_s=args.skip_seq_every,
            corrupt_checksum_every_s=args.corrupt_checksum_every,
        ),
    )
    return OkxEmulator(cfg)


#: venue -> factory building the (not yet started) server from parsed args.
VENUES: dict[str, Callable[[argparse.Namespace], Any]] = {"okx": _okx_server}


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, float]:
    """``["USDT=100000", "BTC=2"]`` -> ``{"USDT": 100000.0, "BTC": 2.0}``."""
    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            out[key.strip().upper()] = float(value)
        except ValueError:
            raise ConfigError(f"{flag} {item!r}: expected NAME=NUMBER") from None
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("venue", choices=sorted(VENUES), help="which exchange to emulate")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port (0 = any free port)")
    parser.add_argument("--api-key", default="emulator-key")
    parser.add_argument("--api-secret", default="emulator-secret")
    parser.add_argument("--passphrase", default="emulator-passphrase")
    parser.add_argument(
        "--balance",
        action="append",
        metavar="CCY=AMOUNT",
        help="starting balance, repeatable (default USDT=100000)",
    )
    parser.add_argument(
        "--symbols", default="BTC-USDT,ETH-USDT,BTC-USDT-SWAP", help="comma-separated venue symbols"
    )
    parser.add_argument("--seed", type=int, default=1, help="synthetic market seed")
    parser.add_argument(
        "--tick-ms",
        type=float,
        default=150.0,
        help="synthetic market step interval in ms (0 = frozen)",
    )
    parser.add_argument("--levels", type=int, default=60, help="book levels per side")
    parser.add_argument(
        "--start-price",
        action="append",
        metavar="SYMBOL=PRICE",
        help="starting mid for a symbol, repeatable",
    )
    parser.add_argument(
        "--instruments-file",
        default=None,
        help="cryptofeed OKX.0 capture with real instrument specs",
    )
    parser.add_argument(
        "--inst-id-code",
        action="store_true",
        help="include OKX instIdCode in instruments (ccxt then uses it in WS)",
    )
    parser.add_argument("--leverage", type=float, default=3.0, help="default swap leverage")
    parser.add_argument("--funding-rate", type=float, default=0.0001)
    parser.add_argument(
        "--funding-interval-s",
        type=float,
        default=8 * 3600.0,
        help="seconds between funding settlements (0 = never)",
    )
    parser.add_argument(
        "--replay",
        default=None,
        metavar="CAPTURE",
        help="replay recorded books/trades for the symbols found in this WS capture",
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
    for secret in (args.api_key, args.api_secret, args.passphrase):
        register_secret(secret)
    if not args.balance:
        args.balance = ["USDT=100000"]
    server = VENUES[args.venue](args)
    apply_fault_flags(server.faults, args)
    asyncio.run(_serve(server, args.host, args.port))
    return 0


def apply_fault_flags(faults: Faults, args: argparse.Namespace) -> None:
    """Arm the one-shot faults asked for on the command line (the periodic ones are part of
    the venue config)."""
    if args.fail_next:
        faults.fail_next(args.fail_next, args.fail_kind)
    if args.lose_reply:
        faults.lose_replies(args.lose_reply, args.lose_reply_kind, args.lose_reply_target)


async def _serve(server: Any, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        url = await server.start(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from None
    ws_url = url.replace("http://", "ws://") + "/ws/v5"
    log.info("REST %s  WS %s/{public,private,business}  admin %s/__admin/faults", url, ws_url, url)
    try:
        await stop.wait()
    finally:
        await server.stop()
