"""Shared pieces of the live tests: emulators on loopback and run configs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.live.config import load_live_config
from tradeloop.live.runtime import LiveRuntime

HERE = Path(__file__).resolve().parent
STRATS = HERE / "strategies.py"


def emulator(key: str, secret: str, phrase: str, **kw: Any) -> OkxEmulator:
    cfg: dict[str, Any] = dict(
        api_key=key, api_secret=secret, passphrase=phrase,
        balances={"USDT": 100_000.0, "BTC": 1.0}, symbols=["BTC-USDT"], seed=7,
        tick_interval_ms=50,
    )  # fmt: skip
    cfg.update(kw)
    return OkxEmulator(EmulatorConfig(**cfg))


def account_block(name: str, url: str, prefix: str) -> str:
    return textwrap.dedent(f"""
        [[account]]
        name = "{name}"
        venue = "okx"
        url = "{url}"
        keys = {{ api_key = "{prefix}_KEY", secret = "{prefix}_SECRET", passphrase = "{prefix}_PASS" }}
        capital = 10000
        """)  # noqa: E501


def ftx_emulator(key: str, secret: str, **kw: Any) -> Any:
    from tradeloop.emulator.ftx.server import FtxConfig, FtxEmulator

    cfg: dict[str, Any] = dict(api_key=key, api_secret=secret, balances={"USD": 100_000.0},
                               symbols=["BTC-PERP"], seed=9, tick_interval_ms=50)  # fmt: skip
    cfg.update(kw)
    return FtxEmulator(FtxConfig(**cfg))


def ftx_account_block(name: str, url: str, prefix: str) -> str:
    return keyed_account_block(name, url, prefix, "ftx")


def keyed_account_block(name: str, url: str, prefix: str, venue: str) -> str:
    """An ``[[account]]`` of a venue keyed by an API key and secret (FTX, Binance)."""
    return textwrap.dedent(f"""
        [[account]]
        name = "{name}"
        venue = "{venue}"
        url = "{url}"
        keys = {{ api_key = "{prefix}_KEY", secret = "{prefix}_SECRET" }}
        capital = 10000
        """)


async def started(cfg: Path, resume: bool = False) -> LiveRuntime:
    """A runtime for ``cfg``, started, restored and reconciled (not yet live)."""
    rt = LiveRuntime(load_live_config(cfg), resume=resume)
    await rt.start()
    rt.restore()
    await rt.reconcile()
    return rt


def strategy_block(cls: str, sid: str, account: str | list[str] | None, params: str = "",
                   mode: str = "live", bar: str = "1s",
                   instruments: list[str] | None = None) -> str:  # fmt: skip
    if isinstance(account, list):
        acc = "account = [" + ", ".join(f'"{a}"' for a in account) + "]\n"
    else:
        acc = f'account = "{account}"\n' if account else ""
    if instruments:
        acc += "instruments = [" + ", ".join(f'"{i}"' for i in instruments) + "]\n"
    return (
        textwrap.dedent(f"""
        [[strategy]]
        file = "{STRATS}"
        class = "{cls}"
        id = "{sid}"
        bar = "{bar}"
        mode = "{mode}"
        params = {{ {params} }}
        """)
        + acc
    )


def write_config(path: Path, journal: Path, body: str, deployment: str = "t",
                 extra_live: str = "", risk: str = "",
                 instruments: tuple[str, ...] = ("BTC-USDT.OKX",)) -> Path:  # fmt: skip
    insts = "".join(f'[[instrument]]\nsymbol = "{i}"\n' for i in instruments)
    text = (
        textwrap.dedent(f"""
        [run]
        cash = 10000

        [live]
        deployment = "{deployment}"
        journal = "{journal}"
        durability = "normal"
        status_interval = "2s"
        {extra_live}

        [risk]
        {risk}
        """)
        + insts
        + body
    )
    path.write_text(text)
    return path


async def restart_funding(cfg: Path, symbol: str) -> tuple[int, float, list[str]]:
    """Start ``cfg`` again (restore, reconcile), read what reconciliation did about funding
    and stop: (missed payments applied, the portfolio's funding on ``symbol``, mismatches)."""
    rt = await started(cfg)
    try:
        (rep,) = rt.reports
        return (
            rep.missed_funding,
            rt.groups[0].kernel.portfolio.funding.get(symbol, 0.0),
            (rep.mismatches),
        )
    finally:
        await rt.shutdown()
