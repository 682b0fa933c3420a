"""Shared pieces of the live tests: emulators on loopback and run configs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator

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


def strategy_block(cls: str, sid: str, account: str | None, params: str = "",
                   mode: str = "live", bar: str = "1s") -> str:  # fmt: skip
    acc = f'account = "{account}"\n' if account else ""
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
                 extra_live: str = "", risk: str = "") -> Path:  # fmt: skip
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

        [[instrument]]
        symbol = "BTC-USDT.OKX"

        [risk]
        {risk}
        """)
        + body
    )
    path.write_text(text)
    return path
