"""The run config: one TOML schema for ``tradeloop backtest CONFIG.toml`` and ``tradeloop live``.

A run is instruments, strategies and the rules that bind them. The schema is plain frozen
dataclasses so backtest and live read the same file the same way (live ignores ``data``,
``funding`` files and ``mark`` files; a backtest ignores venue credentials, which never live in
this file anyway). Every mistake is one ``ConfigError`` line naming the file, the table and the
key: an unknown key is an error (a typo must not silently fall back to a default)::

    [run]
    cash = 10000                 # starting cash, in the reporting currency
    currency = "USDT"            # optional: the reporting currency (default: first settle ccy)

    [[instrument]]
    symbol = "BTC-USDT"          # native symbol or NATIVE.VENUE (backtest default venue: SIM)
    data = "btc-1m.feather"      # backtest bars (or trades with trades = true, interval = "1m")
    kind = "spot"                # optional: spot | swap | future (inferred from the symbol)
    fee = 0.001                  # or maker_fee / taker_fee; tick, lot, min_size, contract_value
    leverage = 3                 # derivatives: leverage, margin = "cross" | "isolated",
    funding = "rates.feather"    # maintenance_margin, funding = FILE or a constant rate,
                                 # funding_interval = "8h", mark = MARK-PRICE FILE

    [[strategy]]
    file = "examples/sma_cross.py"   # class = "SmaCross" when the file holds several
    id = "sma"                       # optional (default: the class name)
    params = { fast = 10, slow = 50 }
    instruments = ["BTC-USDT"]       # optional: default every instrument of the run
    bar = "15m"                      # optional: bar period(s), a string or a list
    weight = 1.0                     # share of capital (normalised over strategies)
    multiplier = 1.0                 # scales every target the strategy sets
    algo = "market"                  # market | limit_chase | twap | vwap | iceberg
    algo_params = { slices = 10, interval = "1m" }
    account = "okx-main"             # live: account(s) its orders go to (one per venue)
    mode = "live"                    # live | shadow (live data, simulated fills)

    [execution]                      # the simulated venue (backtest only)
    slippage_bps = 0; latency = "50ms"; max_volume_share = 0.1

    [allocation]
    method = "weights"               # weights | equal | risk_parity
    rebalance = "1d"; lookback = 30; sample = "1h"   # risk parity
    max_gross = 2.0; max_net = 1.0   # exposure caps, multiples of equity

    [risk]
    daily_loss_limit = 500; max_order_notional = 5000; max_position = 2

    [filter]                         # abnormal ticks (tradeloop.data.tickfilter)
    k = 12.0; window = 64; min_scale = 5e-4; max_lag = "5s"; confirm = 3
    enabled = true; check_book = true
    [filter.instrument."BTC-USDT"]   # per instrument, over the table above
    k = 8.0

``[filter]`` is read by both: live always filters (these settings, else the defaults); a
backtest drops abnormal bars before the run when the file has a ``[filter]`` table (or with
``--tick-filter K``). ``[live]`` and ``[[account]]`` belong to ``tradeloop live`` (documented
in ``tradeloop.live.config``); a backtest of the same file skips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.tomlfile import read_toml
from tradeloop.data.intervals import parse_interval
from tradeloop.data.tickfilter import FilterConfig

ALGOS = ("market", "limit_chase", "twap", "vwap", "iceberg")
KINDS = ("spot", "swap", "future")
MARGIN_MODES = ("cross", "isolated")
ALLOCATION_METHODS = ("weights", "equal", "risk_parity")
MODES = ("live", "shadow")
#: tables only ``tradeloop live`` / ``paper`` read (``tradeloop.live.config``); a backtest of
#: the same file ignores them
LIVE_TABLES = ("live", "account", "source")


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One instrument of the run. ``None`` fields are inferred (kind from the symbol, tick
    from the data's decimals) or take the engine default."""

    symbol: str
    data: str | None = None
    trades: bool = False
    interval: str | None = None
    kind: str | None = None
    base: str | None = None
    quote: str | None = None
    inverse: bool | None = None
    tick: float | None = None
    lot: float = 1e-8
    min_size: float = 0.0
    contract_value: float = 1.0
    maker_fee: float = 0.001
    taker_fee: float = 0.001
    leverage: float = 1.0
    margin: str = "cross"
    maintenance_margin: float = 0.005
    funding: str | float | None = None
    funding_interval: str = "8h"
    mark: str | None = None
    multiplier: float = 1.0


@dataclass(frozen=True, slots=True)
class StrategySpec:
    file: str
    id: str | None = None
    cls: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    instruments: tuple[str, ...] = ()
    bars: tuple[str, ...] = ()
    weight: float = 1.0
    multiplier: float = 1.0
    algo: str = "market"
    algo_params: Mapping[str, Any] = field(default_factory=dict)
    #: live only: the account(s) its orders go to (one per venue); ``shadow``: simulated fills
    accounts: tuple[str, ...] = ()
    mode: str = "live"


@dataclass(frozen=True, slots=True)
class ExecutionSpec:
    slippage_bps: float = 0.0
    latency: str | None = None
    max_volume_share: float | None = None


@dataclass(frozen=True, slots=True)
class AllocationSpec:
    method: str = "weights"
    rebalance: str | None = None
    lookback: int = 30
    sample: str = "1h"
    max_gross: float | None = None
    max_net: float | None = None


@dataclass(frozen=True, slots=True)
class RiskSpec:
    daily_loss_limit: float | None = None
    max_order_notional: float | None = None
    max_position: float | None = None


@dataclass(frozen=True, slots=True)
class RunConfig:
    instruments: tuple[InstrumentSpec, ...]
    strategies: tuple[StrategySpec, ...]
    cash: float = 10_000.0
    currency: str | None = None
    execution: ExecutionSpec = ExecutionSpec()
    allocation: AllocationSpec = AllocationSpec()
    risk: RiskSpec = RiskSpec()
    source: str = ""
    #: the folder relative paths in the file are resolved against
    base_dir: Path = Path(".")
    #: the ``[filter]`` table (None: the file has none) and its per-instrument overrides,
    #: keyed by the symbol as written in the file
    tick_filter: FilterConfig | None = None
    filter_overrides: Mapping[str, FilterConfig] = field(default_factory=dict)

    def filter_for(self, symbol: str) -> FilterConfig | None:
        """The filter settings of one instrument (as written in ``[[instrument]]``)."""
        by_upper = {k.upper(): v for k, v in self.filter_overrides.items()}
        return by_upper.get(symbol.upper(), self.tick_filter)

    def path(self, p: str) -> Path:
        """``p`` relative to the config file's folder (absolute paths unchanged)."""
        q = Path(p).expanduser()
        return q if q.is_absolute() else self.base_dir / q


# -- parsing ---------------------------------------------------------------------------------
class _Table:
    """Typed access to one TOML table that remembers which keys were read, so unknown keys
    (typos) are reported instead of ignored."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {type(data).__name__}")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        v = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, bool) and bool not in kinds:
            raise ConfigError(f"{self.where}: {key} must be {_names(kinds)}, got {v!r}")
        if not isinstance(v, kinds):
            raise ConfigError(f"{self.where}: {key} must be {_names(kinds)}, got {v!r}")
        return v

    def number(self, key: str, default: float | None, *, low: float = 0.0) -> Any:
        v = self.get(key, float, default)
        if v is not None and not v >= low:
            raise ConfigError(f"{self.where}: {key} must be >= {low:g}, got {v!r}")
        return v

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        v: str = self.get(key, str, default)
        if v not in options:
            raise ConfigError(f"{self.where}: {key} = {v!r}: expected one of {', '.join(options)}")
        return v

    def interval(self, key: str, default: str | None) -> str | None:
        v: str | None = self.get(key, str, default)
        if v is not None:
            try:
                parse_interval(v)
            except ConfigError as exc:
                raise ConfigError(f"{self.where}: {key}: {exc}") from None
        return v

    def strings(self, key: str) -> tuple[str, ...]:
        v = self.get(key, (str, list), None)
        if v is None:
            return ()
        items = [v] if isinstance(v, str) else v
        if not all(isinstance(x, str) and x for x in items):
            raise ConfigError(f"{self.where}: {key} must be a string or a list of strings")
        return tuple(items)

    def mapping(self, key: str) -> dict[str, Any]:
        v = self.get(key, dict, None)
        return dict(v) if v is not None else {}

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise ConfigError(f"{self.where}: unknown key {unknown[0]!r} (known: {known})")


def _names(kinds: tuple[type, ...]) -> str:
    words = {str: "text", float: "a number", int: "an integer", bool: "true/false",
             list: "a list", dict: "a table"}  # fmt: skip
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def load_run_config(path: str | Path) -> RunConfig:
    """Read and check a run config file (one ConfigError line on any problem)."""
    p = Path(path)
    return parse_run_config(read_toml(p), str(p), p.parent)


def parse_run_config(data: Mapping[str, Any], source: str = "<config>",
                     base_dir: Path = Path(".")) -> RunConfig:  # fmt: skip
    top = _Table(dict(data), source)
    run = _Table(top.get("run", dict, {}), f"{source}: [run]")
    cash = run.get("cash", float, 10_000.0)
    if not cash > 0:  # one message for 0, negatives and NaN
        raise ConfigError(f"{source}: [run]: cash must be > 0, got {cash!r}")
    currency = run.get("currency", str)
    run.done()
    raw_insts = top.get("instrument", list, [])
    if not raw_insts:
        raise ConfigError(f"{source}: no [[instrument]] (a run needs at least one)")
    instruments = tuple(
        _instrument(_Table(d, f"{source}: [[instrument]] #{i}")) for i, d in enumerate(raw_insts, 1)
    )
    seen: set[str] = set()
    for spec in instruments:
        if spec.symbol.upper() in seen:
            raise ConfigError(f"{source}: instrument {spec.symbol!r} is listed twice")
        seen.add(spec.symbol.upper())
    raw_strats = top.get("strategy", list, [])
    if not raw_strats:
        raise ConfigError(f"{source}: no [[strategy]] (a run needs at least one)")
    strategies = tuple(
        _strategy(_Table(d, f"{source}: [[strategy]] #{i}")) for i, d in enumerate(raw_strats, 1)
    )
    ex = _Table(top.get("execution", dict, {}), f"{source}: [execution]")
    execution = ExecutionSpec(
        slippage_bps=ex.number("slippage_bps", 0.0),
        latency=ex.interval("latency", None),
        max_volume_share=ex.number("max_volume_share", None),
    )
    if execution.max_volume_share is not None and not 0 < execution.max_volume_share <= 1:
        raise ConfigError(f"{source}: [execution]: max_volume_share must be in (0, 1]")
    ex.done()
    al = _Table(top.get("allocation", dict, {}), f"{source}: [allocation]")
    allocation = AllocationSpec(
        method=al.choice("method", ALLOCATION_METHODS, "weights"),
        rebalance=al.interval("rebalance", None),
        lookback=int(al.get("lookback", int, 30)),
        sample=al.interval("sample", "1h") or "1h",
        max_gross=al.number("max_gross", None),
        max_net=al.number("max_net", None),
    )
    if allocation.lookback < 2:
        raise ConfigError(f"{source}: [allocation]: lookback must be >= 2")
    al.done()
    rk = _Table(top.get("risk", dict, {}), f"{source}: [risk]")
    risk = RiskSpec(
        daily_loss_limit=rk.number("daily_loss_limit", None),
        max_order_notional=rk.number("max_order_notional", None),
        max_position=rk.number("max_position", None),
    )
    rk.done()
    raw_filter = top.get("filter", dict, None)
    tick_filter, overrides = (
        parse_filter(raw_filter, f"{source}: [filter]") if raw_filter is not None else (None, {})
    )
    top.used.update(LIVE_TABLES)
    top.done()
    ids = [s.id for s in strategies if s.id]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise ConfigError(f"{source}: strategy id {dup!r} is used twice")
    return RunConfig(instruments, strategies, cash, currency, execution, allocation, risk,
                     source, base_dir, tick_filter, overrides)  # fmt: skip


def _filter_fields(t: _Table, base: FilterConfig) -> FilterConfig:
    lag = t.interval("max_lag", None)
    cfg = FilterConfig(
        enabled=t.get("enabled", bool, base.enabled),
        k=t.number("k", base.k),
        window=t.get("window", int, base.window),
        min_scale=t.number("min_scale", base.min_scale),
        max_lag_ns=parse_interval(lag) if lag else base.max_lag_ns,
        check_book=t.get("check_book", bool, base.check_book),
        confirm=t.get("confirm", int, base.confirm),
    )
    if cfg.window < 4:
        raise ConfigError(f"{t.where}: window must be >= 4")
    if not cfg.k > 0:
        raise ConfigError(f"{t.where}: k must be > 0")
    if cfg.confirm < 1:
        raise ConfigError(f"{t.where}: confirm must be >= 1")
    return cfg


def parse_filter(raw: Any, where: str) -> tuple[FilterConfig, dict[str, FilterConfig]]:
    """A ``[filter]`` table: the base settings and the per-instrument overrides."""
    t = _Table(raw, where)
    per = t.mapping("instrument")
    base = _filter_fields(t, FilterConfig())
    t.done()
    overrides: dict[str, FilterConfig] = {}
    for sym, body in per.items():
        ot = _Table(body, f"{where}: instrument {sym!r}")
        overrides[sym] = _filter_fields(ot, base)
        ot.done()
    return base, overrides


def _instrument(t: _Table) -> InstrumentSpec:
    symbol = t.get("symbol", str)
    if not symbol:
        raise ConfigError(f"{t.where}: symbol is required")
    t.where = f"{t.where.rsplit('#', 1)[0]}{symbol!r}"
    fee = t.number("fee", None, low=-1.0)
    funding = t.get("funding", (str, float), None)
    spec = InstrumentSpec(
        symbol=symbol.strip(),
        data=t.get("data", str),
        trades=t.get("trades", bool, False),
        interval=t.interval("interval", None),
        kind=t.choice("kind", KINDS, "") if "kind" in t.data else None,
        base=t.get("base", str),
        quote=t.get("quote", str),
        inverse=t.get("inverse", bool),
        tick=t.number("tick", None),
        lot=t.number("lot", 1e-8),
        min_size=t.number("min_size", 0.0),
        contract_value=t.number("contract_value", 1.0),
        maker_fee=t.number("maker_fee", fee if fee is not None else 0.001, low=-1.0),
        taker_fee=t.number("taker_fee", fee if fee is not None else 0.001, low=-1.0),
        leverage=t.number("leverage", 1.0),
        margin=t.choice("margin", MARGIN_MODES, "cross"),
        maintenance_margin=t.number("maintenance_margin", 0.005),
        funding=funding,
        funding_interval=t.interval("funding_interval", "8h") or "8h",
        mark=t.get("mark", str),
        multiplier=t.number("multiplier", 1.0),
    )
    for key in ("tick", "lot", "contract_value", "leverage"):
        v = getattr(spec, key)
        if v is not None and not v > 0:
            raise ConfigError(f"{t.where}: {key} must be > 0")
    if isinstance(funding, float) and abs(funding) > 0.5:
        raise ConfigError(f"{t.where}: funding {funding!r} is not a rate (a fraction, 0.0001)")
    t.done()
    return spec


def _strategy(t: _Table) -> StrategySpec:
    file = t.get("file", str)
    if not file:
        raise ConfigError(f"{t.where}: file is required")
    bars = t.strings("bar")
    for b in bars:
        try:
            parse_interval(b)
        except ConfigError as exc:
            raise ConfigError(f"{t.where}: bar: {exc}") from None
    spec = StrategySpec(
        file=file,
        id=t.get("id", str),
        cls=t.get("class", str),
        params=t.mapping("params"),
        instruments=t.strings("instruments"),
        bars=bars,
        weight=t.number("weight", 1.0),
        multiplier=t.number("multiplier", 1.0, low=-1e300),
        algo=t.choice("algo", ALGOS, "market"),
        algo_params=t.mapping("algo_params"),
        accounts=t.strings("account"),
        mode=t.choice("mode", MODES, "live"),
    )
    t.done()
    return spec
