"""The live runtime: venues and accounts, kernels, journal, reconciliation, warm-up, shutdown.

Shape. A deployment has accounts (one gateway each, possibly several per venue) and strategies.
Strategies that share an account must net into one position, so they share a kernel; a
strategy using two accounts (one per venue) joins them. The groups are the connected pieces of
that graph: one :class:`~tradeloop.engine.kernel.Kernel` per group, its OMS routing by venue to
the group's :class:`~tradeloop.live.recorder.AccountClient` of that venue. Positions, margin
and risk are therefore per account group, attribution per strategy inside it. A shadow
strategy gets a kernel of its own whose venue is ``sim/`` fed with the same live data, with the
same journal (account ``shadow:<id>``), so it can be watched before it trades.

Start-up, in this order: open the journal; build and start every gateway (one line and exit 2
on a bad key or an unreachable venue); resolve instruments; build the kernels; restore each
kernel's portfolio, risk and strategy state from the journal; reconcile every account
(:mod:`.reconcile`); start the strategies; subscribe market data; warm up (:mod:`.warmup`);
go live. Stop (SIGINT/SIGTERM, ``duration``): strategies' ``on_stop``, working orders canceled
(or left, by policy), positions reported, state journaled, gateways closed, journal closed.

The dashboard reads :meth:`LiveRuntime.snapshot` and registers on :attr:`LiveRuntime.listeners`
(``(kind, payload)`` for orders, fills, risk changes, account news and status ticks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tradeloop.core.clock import LiveClock
from tradeloop.core.errors import ConfigError
from tradeloop.data.intervals import parse_interval
from tradeloop.data.tickfilter import TickFilter
from tradeloop.engine.allocation import RiskParity
from tradeloop.engine.kernel import Kernel, OnStrategyError
from tradeloop.engine.live import resolve_instruments, start_gateway
from tradeloop.engine.loader import build_strategy
from tradeloop.engine.oms import AlgoSpec, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.engine.runbuild import _algo_spec, allocate_capital, strategy_multipliers
from tradeloop.engine.strategy import Strategy
from tradeloop.live.config import LiveRunConfig
from tradeloop.live.feed import MarketFeed
from tradeloop.live.ids import deployment_prefix, session_ids
from tradeloop.live.journal import Journal
from tradeloop.live.keys import resolve_keys
from tradeloop.live.pool import AccountPool
from tradeloop.live.reconcile import Reconciler, ReconcileReport
from tradeloop.live.recorder import AccountClient
from tradeloop.live.state import portfolio_state, restore_portfolio, restore_risk, risk_state
from tradeloop.live.status import runtime_snapshot, status_lines
from tradeloop.live.warmup import suppressed_orders, warm_up
from tradeloop.model import Fill, Instrument, OrderReport, RiskEvent, TradingState
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.sim.client import SimExecutionClient

log = logging.getLogger(__name__)

GatewayFactory = Callable[[str], Gateway]


@dataclass(slots=True)
class Group:
    key: str
    kernel: Kernel
    accounts: dict[str, AccountClient]
    strategies: list[Strategy]
    shadow: bool = False
    sim: SimExecutionClient | None = None
    risk_reason: str = ""
    journaled_risk: tuple[Any, ...] = ()
    #: strategy id -> operator gate as last journaled ("" trades, "halted", "reducing")
    journaled_gates: dict[str, str] = field(default_factory=dict)
    periods: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: the risk-parity allocator (``[allocation] method = "risk_parity"``), else None
    allocator: RiskParity | None = None
    journaled_alloc: dict[str, list[float]] = field(default_factory=dict)


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


class LiveRuntime:
    def __init__(
        self,
        config: LiveRunConfig,
        *,
        gateways: Mapping[str, Gateway] | None = None,
        resume: bool = False,
        env: Mapping[str, str] | None = None,
        prebuilt: list[Strategy] | None = None,
        max_finished_orders: int = 5_000,
    ) -> None:
        #: strategies built by the caller (``tradeloop paper`` files with create_strategies);
        #: they all take the config's first [[strategy]] settings
        self.prebuilt = prebuilt
        self.cfg = config
        self.settings = config.live
        self.prefix = deployment_prefix(self.settings.deployment)
        self.clock = LiveClock()
        self.ids = session_ids(self.settings.deployment)
        self.journal: Journal | None = None
        self._given = dict(gateways or {})
        self.gateways: dict[str, Gateway] = {}
        self.started: list[Gateway] = []
        self.groups: list[Group] = []
        self.filter = TickFilter(config.filter, config.filter_overrides)
        self.feed = MarketFeed(self.filter)
        self.reports: list[ReconcileReport] = []
        self.resume = resume
        self.env = env
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.feed.on_news = self._emit
        self.warmed: dict[str, int] = {}
        #: finished orders each group's OMS keeps in memory (the journal keeps all of them)
        self.max_finished_orders = max_finished_orders
        #: recent fills for the dashboard; bounded, the journal has every fill
        self.fills: deque[Fill] = deque(maxlen=200)
        self.started_at = 0.0
        #: awaited with the runtime once its kernels exist, before reconciliation; each
        #: returns an object with ``async stop()``, called after shutdown (the dashboard:
        #: the CLIs add it, so this module never imports the layer above)
        self.start_hooks: list[Callable[[LiveRuntime], Awaitable[Any]]] = []
        self.hooked: list[Any] = []
        #: account pools by group key, then venue (several accounts of one venue)
        self.pools: dict[str, dict[str, AccountPool]] = {}

    # -- dashboard API -------------------------------------------------------------------------
    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        for cb in list(self.listeners):
            try:
                cb(kind, payload)
            except Exception:
                log.exception("runtime listener failed")

    def snapshot(self) -> dict[str, Any]:
        """Everything a dashboard shows, as plain data (cheap; call it at any time)."""
        return runtime_snapshot(self)

    # -- building --------------------------------------------------------------------------------
    def _gateway(self, name: str) -> Gateway:
        if name in self._given:
            return self._given[name]
        acc = self.cfg.account(name)
        spec = registry.get(acc.venue)
        where = f"{self.cfg.run.source}: account {name!r}"
        creds = resolve_keys(spec.credentials, acc.key_env, acc.key_file, where, self.env,
                             spec.optional)  # fmt: skip
        options = {"simulated": True} if acc.simulated else {}
        return spec.build(url=acc.url, ws_url=acc.ws_url, credentials=creds, **options)

    def _live_accounts(self) -> list[str]:
        names = [a.name for a in self.cfg.accounts]
        used: list[str] = []
        for s in self.cfg.run.strategies:
            if s.mode == "live":
                used += list(s.accounts) or names[:1]
        data_sources = {a.venue: a.name for a in reversed(self.cfg.accounts)}
        return list(dict.fromkeys([*used, *data_sources.values()]))

    async def start(self) -> None:
        self.started_at = time.monotonic()
        names = self._live_accounts()
        for name in names:  # keys first: a missing key is reported before anything connects
            self.gateways[name] = self._gateway(name)
        self.journal = Journal(self.settings.journal, self.settings.durability)
        self.journal.on_event = self._after_event
        self.journal.set_meta("deployment", self.settings.deployment)
        for name in names:
            gw = self.gateways[name]
            acc = self.cfg.account(name)
            gw.on_account_event = lambda ev, a=name: self.feed.on_account(a, ev)
            label = acc.venue if name.lower() == acc.venue.lower() else f"{acc.venue} {name}"
            await start_gateway(gw, label, 3, 1.0)
            self.started.append(gw)
        self.data_gw: dict[str, Gateway] = {}
        for acc in self.cfg.accounts:
            if acc.name in self.gateways:
                self.data_gw.setdefault(acc.venue, self.gateways[acc.name])
        known: dict[str, Instrument] = {}
        for gw in self.data_gw.values():
            known.update(gw.instruments())
        insts = resolve_instruments([i.symbol for i in self.cfg.run.instruments], known)
        self.instruments = {i.symbol: i for i in insts}
        #: ``[[instrument]] multiplier`` by resolved id (the backtest applies the same)
        self.instrument_mult = {
            i.symbol: spec.multiplier
            for i, spec in zip(insts, self.cfg.run.instruments, strict=True)
        }
        self._build_groups()

    def _strategy_ids(self, spec_instruments: tuple[str, ...], where: str) -> list[str]:
        if not spec_instruments:
            return list(self.instruments)
        names: dict[str, str] = {s: s for s in self.instruments}
        natives: dict[str, list[str]] = {}
        for s, i in self.instruments.items():
            natives.setdefault(i.native, []).append(s)
        names.update({n: ids[0] for n, ids in natives.items() if len(ids) == 1})
        out = []
        for n in spec_instruments:
            if n not in names:
                raise ConfigError(f"{where}: instrument {n!r} is not in [[instrument]] "
                                  f"(have: {', '.join(self.instruments)})")  # fmt: skip
            out.append(names[n])
        return out

    def _build_groups(self) -> None:
        run, st = self.cfg.run, self.settings
        default_acc = self.cfg.accounts[0].name
        uf = _Union()
        specs = []
        pairs: list[tuple[Any, Strategy | None]] = [(spec, None) for spec in run.strategies]
        if self.prebuilt is not None:
            pairs = [(run.strategies[0], s) for s in self.prebuilt]
        for i, (spec, built) in enumerate(pairs, 1):
            where = f"{run.source}: [[strategy]] #{i} ({spec.id or spec.file})"
            strategy = built or build_strategy(run.path(spec.file), spec.cls, spec.params, spec.id)
            syms = self._strategy_ids(spec.instruments, where)
            accs = list(spec.accounts) or [default_acc]
            for a in accs[1:]:
                uf.join(accs[0], a)
            periods = tuple(parse_interval(b) for b in spec.bars) or (parse_interval(st.bar),)
            specs.append((spec, strategy, syms, accs, periods, where))
        members: dict[str, list[Any]] = {}
        for item in specs:
            spec = item[0]
            key = f"shadow:{item[1].id}" if spec.mode == "shadow" else uf.find(item[3][0])
            members.setdefault(key, []).append(item)
        for key, items in members.items():
            self.groups.append(self._group(key, items))

    def _group(self, key: str, items: list[Any]) -> Group:
        run = self.cfg.run
        shadow = key.startswith("shadow:")
        syms: list[str] = list(dict.fromkeys(s for it in items for s in it[2]))
        insts = [self.instruments[s] for s in syms]
        accounts = list(dict.fromkeys(a for it in items for a in it[3]))
        by_venue: dict[str, list[str]] = {}
        for a in accounts:
            by_venue.setdefault(self.cfg.account(a).venue, []).append(a)
        algos: dict[str, AlgoSpec] = {}
        for spec, _s, ids, _a, _p, where in items:
            algo = _algo_spec(spec.algo, dict(spec.algo_params), where)
            for s in ids:
                if s in algos and algos[s] != algo:
                    raise ConfigError(f"{where}: algo {spec.algo!r} on {s} conflicts with "
                                      "another strategy's (one algo per instrument)")  # fmt: skip
                algos[s] = algo
        cash: dict[tuple[str, str], float] = {}
        for venue, names in by_venue.items():
            settle = next((i.settle for i in insts if i.venue == venue), None)
            if settle is not None:
                cash[(venue, settle)] = sum(self.cfg.account(a).capital or run.cash
                                            for a in names)  # fmt: skip
        for inst in insts:
            if inst.venue not in by_venue:
                raise ConfigError(f"group {key}: {inst.symbol} is on {inst.venue}, and none of "
                                  f"its accounts ({', '.join(accounts)}) is")  # fmt: skip
        assert self.journal is not None
        clients: dict[str, AccountClient] = {}
        sim = None
        if shadow:
            sim = SimExecutionClient(insts, {c: a for (_v, c), a in cash.items()}, self.clock)
            acc = AccountClient(sim, key, key, self.journal, self.prefix, self.clock.now, True)
            clients[key] = acc
            client: Any = acc
        else:
            per_venue: dict[str, Any] = {}
            for venue, names in by_venue.items():
                members = []
                for acc_name in names:
                    clients[acc_name] = AccountClient(
                        self.gateways[acc_name], acc_name, key, self.journal, self.prefix,
                        self.clock.now,
                    )  # fmt: skip
                    members.append(clients[acc_name])
                if len(members) == 1:
                    per_venue[venue] = members[0]
                else:
                    pool = AccountPool(members, [self.cfg.account(a).orders_per_second
                                                 for a in names])  # fmt: skip
                    pool.load_shares(self.journal)
                    per_venue[venue] = pool
                    self.pools[key] = {**self.pools.get(key, {}), venue: pool}
            client = per_venue if len(per_venue) > 1 else next(iter(per_venue.values()))
        rk = run.risk
        kernel = Kernel(
            insts, cash or run.cash, client, self.clock,
            RiskConfig(max_order_notional=rk.max_order_notional,
                       max_position_qty=rk.max_position, daily_loss_limit=rk.daily_loss_limit),
            ExecConfig(per_symbol=algos, max_finished_orders=self.max_finished_orders,
                       max_gross=run.allocation.max_gross, max_net=run.allocation.max_net),
            self.ids, currency=run.currency, on_strategy_error=OnStrategyError.LOG,
        )  # fmt: skip
        strategies = []
        periods: dict[str, set[int]] = {}
        capitals = allocate_capital([it[0] for it in items], run.allocation.method,
                                    sum(cash.values() or [run.cash]))  # fmt: skip
        for (spec, strategy, ids, _a, ps, _w), capital in zip(items, capitals, strict=True):
            strategy.capital = capital
            kernel.add_strategy(strategy, ids, {s: ps for s in ids})
            mults = strategy_multipliers(spec, ids, self.instrument_mult)
            if mults is not None:
                strategy.multipliers = mults
            strategies.append(strategy)
            for s in ids:
                periods.setdefault(s, set()).update(ps)
        g = Group(key, kernel, clients, strategies, shadow, sim)
        g.periods = {s: tuple(sorted(p)) for s, p in periods.items()}
        if run.allocation.method == "risk_parity":  # as runbuild builds it for a backtest
            by_strategy = {st.id: tuple(it[2]) for st, it in zip(strategies, items, strict=True)}
            g.allocator = RiskParity.of(by_strategy, run.allocation, f"alloc:{key}")
            g.allocator.install(kernel)
        for name, acc in clients.items():
            acc.after_fill = partial(self._journal_group, g)
            acc.on_journal_error = partial(self._journal_failed, g)
            self.feed.account_kernel[name] = kernel
        kernel.bus.subscribe(RiskEvent, partial(self._on_risk, g))
        kernel.bus.subscribe(Fill, partial(self._on_fill_event, g))
        kernel.bus.subscribe(OrderReport, partial(self._on_report_event, g))
        return g

    def _journal_failed(self, g: Group, why: str) -> None:
        g.kernel.risk.set_state(TradingState.HALTED, why, self.clock.now())

    def _on_fill_event(self, g: Group, f: Fill) -> None:
        self.fills.append(f)
        self._emit("fill", {"group": g.key, "fill": str(f)})

    def _on_report_event(self, g: Group, r: OrderReport) -> None:
        self._emit("order", {"group": g.key, "report": str(r)})

    # -- journaling of kernel state --------------------------------------------------------------
    def _journal_group(self, g: Group) -> None:
        j, now = self.journal, self.clock.now()
        assert j is not None
        with j.batch():
            j.put_state(f"portfolio:{g.key}", portfolio_state(g.kernel.portfolio), now)
            self._journal_risk(g, force=True)
            for s in g.strategies:
                j.put_state(f"strategy:{s.id}", s.state, now)
            self._journal_gates(g)

    def _journal_gates(self, g: Group) -> None:
        """Each strategy's operator gate (dashboard pause / reduce-only), when it changed: a
        paused strategy stays paused across a restart."""
        assert self.journal is not None
        for s in g.strategies:
            if g.journaled_gates.get(s.id) != s.gate:
                self.journal.put_state(f"gate:{s.id}", s.gate, self.clock.now())
                g.journaled_gates[s.id] = s.gate

    def _after_event(self, kind: str, scope: str) -> None:
        """A dashboard control was journaled: journal what it changed in the same
        transaction (gates, and the portfolio whose targets a pause froze)."""
        if kind != "control":
            return
        for g in self.groups:
            if g.key == scope or scope in g.accounts:
                self._journal_group(g)

    def _journal_risk(self, g: Group, force: bool = False) -> None:
        r = g.kernel.risk
        sig = (r.state, r._day, r.day_start_equity, r.breached_day, len(r.halted_venues))
        if force or sig != g.journaled_risk:
            g.journaled_risk = sig
            assert self.journal is not None
            self.journal.put_state(f"risk:{g.key}", risk_state(r, g.risk_reason),
                                   self.clock.now())  # fmt: skip

    def _on_risk(self, g: Group, ev: RiskEvent) -> None:
        g.risk_reason = ev.message
        log.warning("risk [%s]: %s (%s)", g.key, ev.state.upper(), ev.message)
        assert self.journal is not None
        self.journal.event("risk", g.key, f"{ev.state}: {ev.message}", ev.ts)
        self._journal_risk(g, force=True)
        self._emit("risk", {"group": g.key, "state": ev.state, "message": ev.message})

    # -- restore, reconcile, warm up ---------------------------------------------------------------
    def restore(self) -> None:
        j, now = self.journal, self.clock.now()
        assert j is not None
        for g in self.groups:
            ps = j.get_state(f"portfolio:{g.key}")
            if ps is not None:
                for w in restore_portfolio(g.kernel.portfolio, ps):
                    log.warning("[%s] %s", g.key, w)
            al = j.get_state(f"alloc:{g.key}")
            if g.allocator is not None and isinstance(al, dict):
                g.allocator.restore(al)
            rs = j.get_state(f"risk:{g.key}")
            if rs is not None:
                g.risk_reason = str(rs.get("reason", ""))
                kept = restore_risk(g.kernel.risk, rs, now)
                log.info("[%s] risk state from the journal: %s", g.key, kept)
                if self.resume and g.kernel.risk.state is TradingState.HALTED:
                    g.kernel.risk.state = TradingState.ACTIVE
                    g.kernel.risk.halted_venues.clear()
                    g.risk_reason = "resumed by operator (--resume)"
                    log.warning("[%s] HALTED cleared by --resume", g.key)
            for s in g.strategies:
                saved = j.get_state(f"strategy:{s.id}")
                if isinstance(saved, dict):
                    s.state.update(saved)
                self._restore_gate(g, s, j.get_state(f"gate:{s.id}"))

    def _restore_gate(self, g: Group, s: Strategy, gate: Any) -> None:
        """A strategy paused (or reduce-only) from the dashboard stays so after a restart,
        its standing targets held at its position; ``--resume`` clears it (logged)."""
        if gate not in ("halted", "reducing"):
            return
        if self.resume:
            log.warning("[%s] strategy %s: journaled gate %r cleared by --resume", g.key, s.id,
                        gate)  # fmt: skip
            return
        s.gate = gate
        g.journaled_gates[s.id] = gate
        p = g.kernel.portfolio
        book = p.books[s.id]
        for sym in list(book.targets):
            pos = book.positions.get(sym)
            p.set_target(s.id, sym, pos.qty if pos is not None else 0.0)
        log.warning("[%s] strategy %s: %s from the journal (set from the dashboard; resume it "
                    "there or start with --resume)", g.key, s.id, gate.upper())  # fmt: skip

    async def reconcile(self) -> None:
        assert self.journal is not None
        for g in self.groups:
            if g.shadow:
                continue
            for name, acc in g.accounts.items():
                st = self.settings
                pool = self.pools.get(g.key, {}).get(acc.venue)
                # --resume: the operator checked the account, so a difference the previous
                # start halted on is accepted (adopted) instead of halting again
                policy = "adopt" if self.resume and st.on_mismatch == "halt" else st.on_mismatch
                rec = Reconciler(g.kernel, acc, self.gateways[name], self.journal,
                                 policy, st.restart_orders,
                                 partial(pool.share, name) if pool else None)  # fmt: skip
                self.reports.append(await rec.run(self.clock.now()))
            self._journal_group(g)

    async def go_live(self) -> None:
        for g in self.groups:
            g.kernel.start()
            self._resume_targets(g)
            for s, ps in g.periods.items():
                for p in ps:
                    self.feed.add_bars(s, p)
            self.feed.add_kernel(g.kernel)
            if g.sim is not None:
                self.feed.add_sim(g.sim.exchange)
        for venue, gw in self.data_gw.items():
            gw.bind_data(self.feed)
            for sym, inst in self.instruments.items():
                if inst.venue == venue:
                    await gw.subscribe(sym, ("trades", "quotes"))
        if self.settings.warmup:
            await self._warm_up()
        now = self.clock.now()
        for p in self.feed.periods():
            self.clock.set_timer(f"bars:{p}", p, partial(self._close_bars, p),
                                 start_ns=(now // p + 1) * p)  # fmt: skip
        self.clock.set_timer("housekeeping", 1_000_000_000, self._housekeeping)
        interval = int(self.settings.status_interval_s * 1e9)
        self.clock.set_timer("status", interval, self._status)
        log.info("live: deployment %s, %d group(s), %d strategies, journal %s",
                 self.settings.deployment, len(self.groups),
                 sum(len(g.strategies) for g in self.groups), self.settings.journal)  # fmt: skip

    @staticmethod
    def _resume_targets(g: Group) -> None:
        """Targets restored from the journal go back to the OMS, so an execution a crash
        interrupted is finished (nothing is sent when the position already matches)."""
        p = g.kernel.portfolio
        for sym in g.kernel.instruments:
            if any(sym in b.targets for b in p.books.values()):
                g.kernel.oms.set_target(sym, p.account_target(sym))

    async def _warm_up(self) -> None:
        self.feed.warming = True
        try:
            for g in self.groups:
                want: dict[tuple[str, int], int] = {}
                for s in g.strategies:
                    lb = type(s).lookback
                    for sym in s.symbols:
                        for p in g.periods.get(sym, ()):
                            want[(sym, p)] = max(want.get((sym, p), 0), lb)
                if not any(want.values()):
                    continue
                with suppressed_orders(g.strategies, g.kernel) as swallowed:
                    for (sym, p), lb in want.items():
                        inst = self.instruments[sym]
                        end = self.clock.now() // p * p
                        n = await warm_up(g.kernel, self.data_gw[inst.venue], inst.venue, sym,
                                          p, lb, end)  # fmt: skip
                        key = (sym, p)
                        self.feed.last_warm[key] = max(self.feed.last_warm.get(key, 0), end)
                        self.warmed[f"{g.key} {sym}"] = n
                        log.info("[%s] warm-up: %d history bar(s) of %s", g.key, n, sym)
                if swallowed[0]:
                    log.info("[%s] warm-up: %d order/target call(s) not traded", g.key,
                             swallowed[0])  # fmt: skip
        finally:
            self.feed.release()

    def _close_bars(self, period: int, _name: str, ts: int) -> None:
        self.feed.close_bars(period, ts)

    # -- periodic work -----------------------------------------------------------------------------
    def _housekeeping(self, _name: str, _ts: int) -> None:
        for g in self.groups:
            self._journal_risk(g)
            if g.allocator is not None:  # its sampled marks survive a restart
                st = g.allocator.state()
                if st != g.journaled_alloc:
                    g.journaled_alloc = st
                    assert self.journal is not None
                    self.journal.put_state(f"alloc:{g.key}", st, self.clock.now())
            if g.sim is not None:  # the shadow venue forgets what the journal holds
                g.sim.forget_finished(self.max_finished_orders)

    def _status(self, _name: str, _ts: int) -> None:
        assert self.journal is not None
        for line in status_lines(self):
            log.info("%s", line)
        for g in self.groups:
            self._journal_group(g)
        self._emit("status", self.snapshot())

    # -- stop -------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        for name in ("housekeeping", "status", *(f"bars:{p}" for p in self.feed.periods())):
            self.clock.cancel_timer(name)
        for g in self.groups:
            with contextlib.suppress(Exception):
                g.kernel.stop()
        if self.settings.on_stop == "cancel":
            n = sum(g.kernel.oms.cancel_all() for g in self.groups)
            if n:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10.0
                while loop.time() < deadline and any(g.kernel.oms.open_orders
                                                     for g in self.groups):  # fmt: skip
                    await asyncio.sleep(0.05)
                log.info("stop: %d working order(s) canceled", n)
        else:
            log.info("stop: working orders left at the venues (on_stop = leave)")
        for line in status_lines(self):
            log.info("stop: %s", line)
        if self.journal is not None:
            for g in self.groups:
                self._journal_group(g)
        for gw in reversed(self.started):
            with contextlib.suppress(Exception):
                await gw.stop()
        self.started.clear()
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    async def run(self, stop: asyncio.Event | None = None, duration_s: float | None = None) -> None:
        """Start, trade until ``stop`` is set or ``duration_s`` passes, stop gracefully."""
        stop = stop or asyncio.Event()
        try:
            await self.start()
            for hook in self.start_hooks:
                self.hooked.append(await hook(self))
            self.restore()
            await self.reconcile()
            await self.go_live()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
        finally:
            try:
                await self.shutdown()
            finally:
                for h in reversed(self.hooked):
                    with contextlib.suppress(Exception):
                        await h.stop()
                self.hooked.clear()
