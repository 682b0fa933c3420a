"""The live run config: the backtest schema (``engine.runconfig``) plus three live tables.

One TOML file runs a backtest and a live deployment. The shared tables (``[run]``,
``[[instrument]]``, ``[[strategy]]`` with ``account`` and ``mode``, ``[risk]``, ``[allocation]``)
are parsed by :func:`tradeloop.engine.runconfig.parse_run_config`; this module reads only what
is live-only, with the same rule: every mistake is one ConfigError line naming the key, and an
unknown key is an error::

    [live]
    deployment = "btc-desk"          # keys the journal and client ids (default: file name)
    journal = "/var/lib/tradeloop/btc-desk.sqlite"   # default: see default_journal_path
    durability = "normal"            # normal | full (fsync per commit; see tradeloop.live.journal)
    bar = "1m"                       # bar period of strategies that do not set one
    status_interval = "60s"          # the periodic status line
    on_stop = "cancel"               # cancel | leave: working orders at SIGINT/SIGTERM
    on_mismatch = "halt"             # halt | adopt | flatten: venue position != journal
    restart_orders = "cancel"        # cancel | keep: our orders a previous process left open
    warmup = true                    # feed history bars (Strategy.lookback) before going live
    dashboard = "127.0.0.1:8765"     # where a dashboard may listen (loopback only)
    json_logs = false

    [[account]]
    name = "okx-main"                # strategies say account = "okx-main"
    venue = "okx"
    url = "https://www.okx.com"      # default: the venue's public URL
    keys = { api_key = "OKX_MAIN_KEY", secret = "OKX_MAIN_SECRET", passphrase = "OKX_MAIN_PASS" }
    # or keys_file = "/etc/tradeloop/okx-main.toml" (outside any repo, chmod 600)
    capital = 10000                  # what this account's strategies may use (default: [run] cash)
    simulated = false
    orders_per_second = 10           # pool routing budget (several accounts of one venue)

    [filter]                         # abnormal ticks (tradeloop.data.tickfilter)
    k = 12.0; window = 64; max_lag = "5s"
    [filter.instrument."BTC-USDT.OKX"]
    k = 8.0
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.tomlfile import read_toml
from tradeloop.data.intervals import parse_interval
from tradeloop.data.tickfilter import FilterConfig
from tradeloop.engine.runconfig import RunConfig, _Table, parse_run_config
from tradeloop.venues import registry

ON_STOP = ("cancel", "leave")
ON_MISMATCH = ("halt", "adopt", "flatten")
RESTART_ORDERS = ("cancel", "keep")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    name: str
    venue: str
    url: str = ""
    ws_url: str | None = None
    key_env: Mapping[str, str] = field(default_factory=dict)
    key_file: Path | None = None
    capital: float | None = None
    simulated: bool = False
    #: the order rate this account may use; an account pool sends each order to the account
    #: with the most headroom under it (tradeloop.live.pool)
    orders_per_second: float = 10.0


@dataclass(frozen=True, slots=True)
class LiveSettings:
    deployment: str
    journal: Path
    durability: str = "normal"
    bar: str = "1m"
    status_interval_s: float = 60.0
    on_stop: str = "cancel"
    on_mismatch: str = "halt"
    restart_orders: str = "cancel"
    warmup: bool = True
    dashboard: str | None = None
    json_logs: bool = False


@dataclass(frozen=True, slots=True)
class LiveRunConfig:
    run: RunConfig
    live: LiveSettings
    accounts: tuple[AccountSpec, ...]
    filter: FilterConfig = field(default_factory=FilterConfig)
    filter_overrides: Mapping[str, FilterConfig] = field(default_factory=dict)

    def account(self, name: str) -> AccountSpec:
        for a in self.accounts:
            if a.name == name:
                return a
        raise ConfigError(f"unknown account {name!r}")


def state_dir() -> Path:
    """Where journals live by default: ``$TRADELOOP_STATE_DIR``, else
    ``$XDG_STATE_HOME/tradeloop``, else ``~/.local/state/tradeloop``."""
    env = os.environ.get("TRADELOOP_STATE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "tradeloop"


def default_journal_path(deployment: str) -> Path:
    """``<state dir>/<deployment>.journal.sqlite``: re-running the same deployment after a
    crash finds its journal with no extra flag."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in deployment)
    return state_dir() / f"{safe}.journal.sqlite"


def default_deployment(config_path: Path) -> str:
    """A config file's stem plus a short hash of its absolute path (two files both called
    ``live.toml`` in different folders are two deployments)."""
    digest = hashlib.sha1(str(config_path.resolve()).encode()).hexdigest()[:6]
    return f"{config_path.stem}-{digest}"


def load_live_config(path: str | Path, deployment: str | None = None,
                     journal: str | None = None) -> LiveRunConfig:  # fmt: skip
    p = Path(path)
    return parse_live_config(
        read_toml(p), str(p), p.parent, deployment or default_deployment(p), journal
    )


def parse_live_config(
    data: Mapping[str, Any],
    source: str,
    base_dir: Path,
    default_name: str,
    journal: str | None = None,
) -> LiveRunConfig:
    run = parse_run_config(data, source, base_dir)
    lv = _Table(data.get("live", {}), f"{source}: [live]")
    name = lv.get("deployment", str, default_name)
    if not name:
        raise ConfigError(f"{source}: [live]: deployment must not be empty")
    in_file = lv.get("journal", str)  # read even when a flag overrides it: a known key
    jpath = journal or in_file
    status = lv.interval("status_interval", "60s") or "60s"
    settings = LiveSettings(
        deployment=name,
        journal=_journal_path(run, jpath, name),
        durability=lv.choice("durability", ("normal", "full"), "normal"),
        bar=lv.interval("bar", "1m") or "1m",
        status_interval_s=parse_interval(status) / 1e9,
        on_stop=lv.choice("on_stop", ON_STOP, "cancel"),
        on_mismatch=lv.choice("on_mismatch", ON_MISMATCH, "halt"),
        restart_orders=lv.choice("restart_orders", RESTART_ORDERS, "cancel"),
        warmup=lv.get("warmup", bool, True),
        dashboard=_loopback(lv.get("dashboard", str), f"{source}: [live]: dashboard"),
        json_logs=lv.get("json_logs", bool, False),
    )
    lv.done()
    raw = data.get("account", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: no [[account]] (a live run needs at least one)")
    accounts = tuple(
        _account(_Table(d, f"{source}: [[account]] #{i}"), run) for i, d in enumerate(raw, 1)
    )
    names = [a.name for a in accounts]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ConfigError(f"{source}: account {dup!r} is declared twice")
    for i, s in enumerate(run.strategies, 1):
        where = f"{source}: [[strategy]] #{i} ({s.id or s.file})"
        for a in s.accounts:
            if a not in names:
                raise ConfigError(f"{where}: account {a!r} is not declared "
                                  f"(accounts: {', '.join(names)})")  # fmt: skip
        if not s.accounts and len(accounts) > 1 and s.mode == "live":
            raise ConfigError(f"{where}: account is required when several are declared")
        if len(set(s.accounts)) != len(s.accounts):
            raise ConfigError(f"{where}: account lists an account twice")
        # several accounts of one venue are a pool (tradeloop.live.pool)
    # live always filters: the file's [filter] settings, else the defaults
    return LiveRunConfig(run, settings, accounts, run.tick_filter or FilterConfig(),
                         dict(run.filter_overrides))  # fmt: skip


def _loopback(addr: str | None, where: str) -> str | None:
    if addr is None:
        return None
    host, _, port = addr.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]") or not port.isdigit():
        raise ConfigError(f"{where}: {addr!r}: expected 127.0.0.1:PORT (loopback only)")
    return addr


def _account(t: _Table, run: RunConfig) -> AccountSpec:
    name = t.get("name", str)
    if not name:
        raise ConfigError(f"{t.where}: name is required")
    t.where = f"{t.where.rsplit('#', 1)[0]}{name!r}"
    venue_name = t.get("venue", str)
    if not venue_name:
        raise ConfigError(f"{t.where}: venue is required")
    try:
        spec = registry.get(venue_name)
    except ConfigError as exc:
        raise ConfigError(f"{t.where}: venue: {exc}") from None
    keys = t.mapping("keys")
    for k, v in keys.items():
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{t.where}: keys.{k} must name an environment variable")
        if len(v) > 64 or not v.replace("_", "").isalnum():
            # a value that does not look like a variable name is probably the key itself
            raise ConfigError(f"{t.where}: keys.{k} must be an environment variable NAME, "
                              "not a key (keys never go in the config)")  # fmt: skip
    key_file = t.get("keys_file", str)
    capital = t.number("capital", None)
    acc = AccountSpec(
        name=name,
        venue=spec.name,
        url=t.get("url", str, spec.rest_url) or spec.rest_url,
        ws_url=t.get("ws_url", str),
        key_env=dict(keys),
        key_file=run.path(key_file) if key_file else None,
        capital=capital,
        simulated=t.get("simulated", bool, False),
        orders_per_second=t.number("orders_per_second", 10.0),
    )
    if capital is not None and not capital > 0:
        raise ConfigError(f"{t.where}: capital must be > 0")
    if not acc.orders_per_second > 0:
        raise ConfigError(f"{t.where}: orders_per_second must be > 0")
    t.done()
    return acc


def _journal_path(run: RunConfig, given: str | None, deployment: str) -> Path:
    if given == ":memory:":
        return Path(given)  # --check: nothing is written anywhere
    return run.path(given) if given else default_journal_path(deployment)
