"""Outside data sources named in a config, run beside a recorder or a live runtime.

Why one runner for both: ``tradeloop record`` stores custom events and ``tradeloop live`` /
``paper`` hands them to strategies; both only need "start these sources, send every event to
this sink, stop them cleanly". The sink is the :class:`~tradeloop.store.recorder.Recorder`
when recording and :class:`KernelFanOut` (every kernel's bus) when trading. A source that
fails is logged and restarted after a pause; it never stops the run.

Config: ``[[source]]`` tables in a TOML file (the run config itself, or a file of its own)::

    [[source]]
    type = "http"                  # http | ws | file
    url = "http://127.0.0.1:8080/news"
    parse = "signals.py:parse"     # FILE.py:function (relative to this file) or module:function
    every = "5s"                   # http: poll period (default 5s)

    [[source]]
    type = "ws"
    url = "ws://127.0.0.1:9000/feed"
    parse = "signals.py:parse_ws"
    subscribe = [{ op = "subscribe", channel = "news" }]   # sent on every connect

    [[source]]
    type = "file"
    path = "events.jsonl"          # JSON lines, replayed once
    parse = "signals.py:parse_line"

``parse(data, ts_ns)`` returns the events (``CustomData`` subclasses, which the parse module
defines, so importing it registers the kinds). Entry points: :func:`read_sources`,
:class:`SourceRunner`, and :func:`live_hook` for ``LiveRuntime.start_hooks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError, UserError
from tradeloop.data.intervals import parse_interval
from tradeloop.model import Event
from tradeloop.store.custom import (
    FileSource,
    HttpPollSource,
    Parse,
    Sink,
    WebSocketSource,
    redact,
    safe_url,
)

log = logging.getLogger(__name__)

_KEYS = {
    "http": {"type", "url", "parse", "every", "timeout"},
    "ws": {"type", "url", "parse", "subscribe", "reconnect"},
    "file": {"type", "path", "parse"},
}


class Source(Protocol):
    async def run(self, sink: Sink) -> Any: ...


def load_parse(ref: str, base: Path, where: str) -> Parse:
    """``FILE.py:function`` (relative to ``base``) or ``package.module:function`` (a module
    beside the config is found too).

    A file is imported as the module named by its stem with its folder on ``sys.path`` (as a
    strategy's helper modules are), so a strategy beside it that does ``from signals import
    Headline`` gets the very class the source's events are made of: the bus matches types."""
    target, _, fn = ref.rpartition(":")
    if not target or not fn:
        raise ConfigError(f"{where}: parse = {ref!r} must be FILE.py:function or module:function")
    name, folder = target, base.resolve()  # a module may also sit beside the config
    if target.endswith(".py"):
        path = Path(target)
        path = (path if path.is_absolute() else base / path).resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: parse file {path}: no such file")
        name, folder = path.stem, path.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # user code: one line, never a traceback
        raise ConfigError(f"{where}: parse module {name!r}: {type(exc).__name__}: {exc}") from None
    func = getattr(module, fn, None)
    if not callable(func):
        raise ConfigError(f"{where}: parse: {target} has no function {fn!r}")
    return func


def _seconds(value: Any, where: str, key: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"{where}: {key} must be > 0")
        return float(value)
    if isinstance(value, str):
        try:
            return parse_interval(value) / 1e9
        except ConfigError as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from None
    raise ConfigError(f"{where}: {key} must be seconds or an interval like '5s'")


def _text(t: dict[str, Any], key: str, where: str) -> str:
    v = t.get(key)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: {key} is required (text)")
    return v


def build_source(t: dict[str, Any], base: Path, where: str) -> Source:
    """One ``[[source]]`` table as a source (one-line errors naming the key)."""
    kind = t.get("type")
    if kind not in _KEYS:
        raise ConfigError(f"{where}: type must be one of {', '.join(_KEYS)} (got {kind!r})")
    unknown = sorted(set(t) - _KEYS[kind])
    if unknown:
        known = ", ".join(sorted(_KEYS[kind]))
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {known})")
    parse = load_parse(_text(t, "parse", where), base, where)
    if kind == "http":
        every = _seconds(t.get("every", 5.0), where, "every")
        timeout = _seconds(t.get("timeout", 10.0), where, "timeout")
        return HttpPollSource(_text(t, "url", where), parse, every, timeout)
    if kind == "ws":
        sub = t.get("subscribe", [])
        if not isinstance(sub, list):
            raise ConfigError(f"{where}: subscribe must be a list of messages")
        again = _seconds(t.get("reconnect", 1.0), where, "reconnect")
        return WebSocketSource(_text(t, "url", where), parse, sub, again)
    path = Path(_text(t, "path", where))
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"{where}: path {path}: no such file")
    return FileSource(path, parse)


def read_sources(config: str | Path) -> list[Source]:
    """The ``[[source]]`` tables of a TOML file (other tables are ignored, so this reads the
    run config as well as a file of its own)."""
    p = Path(config)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise UserError(f"{p}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    tables = data.get("source", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{p}: source must be [[source]] tables")
    return [build_source(t, p.parent, f"{p}: [[source]] #{i}") for i, t in enumerate(tables, 1)]


class SourceRunner:
    """Runs sources as tasks into one sink. A source that raises is logged and started again
    after ``restart_s``; one that returns (a file read to its end) is done."""

    def __init__(self, sources: Iterable[Source], restart_s: float = 5.0) -> None:
        self.sources = list(sources)
        self.restart_s = restart_s
        self.tasks: list[asyncio.Task[None]] = []
        self.errors = 0

    def start(self, sink: Sink) -> SourceRunner:
        for src in self.sources:
            self.tasks.append(asyncio.create_task(self._keep(src, sink), name=_name(src)))
        return self

    async def _keep(self, src: Source, sink: Sink) -> None:
        while True:
            try:
                await src.run(sink)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # outside data must never stop trading or recording
                self.errors += 1
                url = getattr(src, "url", None)
                why = redact(str(exc), url) if isinstance(url, str) else str(exc)
                log.warning("source %s failed: %s: %s; restarting in %.0fs", _name(src),
                            type(exc).__name__, why, self.restart_s)  # fmt: skip
                await asyncio.sleep(self.restart_s)

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.tasks.clear()


def _name(src: Any) -> str:
    url = getattr(src, "url", None)
    if isinstance(url, str) and url:
        return safe_url(url)  # a feed's token never in a log line or a task name
    return str(getattr(src, "path", None) or type(src).__name__)


class KernelFanOut:
    """A sink publishing every event on the bus of each kernel of a live runtime (custom
    events name no instrument, so they go to every strategy that subscribed to their type)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.events = 0

    def on_market_data(self, ev: Event) -> None:
        self.events += 1
        for g in self.runtime.groups:
            g.kernel.on_market_data(ev)


def live_hook(sources: list[Source]) -> Callable[[Any], Awaitable[SourceRunner]]:
    """For ``LiveRuntime.start_hooks``: once the kernels exist, run ``sources`` into them;
    the runtime calls the returned runner's ``stop()`` after shutdown."""

    async def start(runtime: Any) -> SourceRunner:
        return SourceRunner(sources).start(KernelFanOut(runtime))

    return start
