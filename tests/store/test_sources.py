"""Custom data sources named in a config: ``[[source]]`` tables run by ``tradeloop record``
into the store, and by a live runtime (``live_hook``) into its strategies, over loopback."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tradeloop.cli import main
from tradeloop.store import schema as S
from tradeloop.store.cli_record import record
from tradeloop.store.custom import decode
from tradeloop.store.reader import read_stream
from tradeloop.store.recorder import Recorder
from tradeloop.store.sources import live_hook, read_sources
from tradeloop.store.writer import StoreWriter

SIGNALS = """
from typing import ClassVar

from tradeloop.store.custom import CustomData


class Headline(CustomData, frozen=True, gc=False):
    kind: ClassVar[str] = "headline"
    text: str


def parse(data, ts):
    items = data if isinstance(data, list) else [data]
    return [Headline(int(d.get("ts", ts)), d["text"]) for d in items]
"""


def _signals(folder: Path) -> str:
    """A parse module with a name of its own per test (modules are cached by name)."""
    stem = "signals_" + folder.name.replace("-", "_")
    (folder / f"{stem}.py").write_text(SIGNALS)
    return stem


async def _news_server() -> tuple[web.AppRunner, str, list[int]]:
    """``/news`` answers one headline per poll; ``/ws`` pushes two after a subscribe."""
    polls = [0]

    async def news(_req: web.Request) -> web.Response:
        polls[0] += 1
        return web.json_response([{"text": f"h{polls[0]}"}])

    async def ws(req: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(req)
        first = await sock.receive_json()
        if first == {"op": "subscribe", "channel": "headlines"}:
            await sock.send_json({"text": "w1"})
            await sock.send_json([{"text": "w2"}])
        async for _msg in sock:  # hold the connection until the client leaves
            pass
        return sock

    app = web.Application()
    app.router.add_get("/news", news)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/news", polls


def _file(folder: Path) -> Path:
    f = folder / "events.jsonl"
    f.write_text("".join(json.dumps({"ts": 10**18 + k, "text": f"f{k}"}) + "\n" for k in range(3)))
    return f


class _Seen(Recorder):
    """The recorder, remembering which texts went through (to know when to stop)."""

    texts: set[str] = set()

    def on_market_data(self, ev: Any) -> None:
        self.texts = self.texts | {getattr(ev, "text", "")}
        super().on_market_data(ev)


async def test_record_runs_the_configs_sources_into_the_store(tmp_path: Path) -> None:
    stem = _signals(tmp_path)
    _file(tmp_path)
    runner, url, polls = await _news_server()
    cfg = tmp_path / "sources.toml"
    cfg.write_text(textwrap.dedent(f"""
        [[source]]
        type = "http"
        url = "{url}"
        parse = "{stem}.py:parse"
        every = "20ms"

        [[source]]
        type = "file"
        path = "events.jsonl"
        parse = "{stem}.py:parse"

        [[source]]
        type = "ws"
        url = "{url.replace("http:", "ws:").replace("/news", "/ws")}"
        parse = "{stem}.py:parse"
        subscribe = [{{ op = "subscribe", channel = "headlines" }}]
        """))  # fmt: skip
    store = tmp_path / "store"
    rec = _Seen(StoreWriter(store, sync=False), checkpoint_s=0)
    stop = asyncio.Event()
    task = asyncio.create_task(
        record([], rec, (), flush_s=0.05, roll_s=60, stop=stop, sources=read_sources(cfg))
    )
    try:
        for _ in range(500):
            if {"f2", "w2", "h3"} <= rec.texts:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
        await runner.cleanup()
    t = read_stream(store, "CUSTOM", S.CUSTOM, "headline").to_pydict()
    texts = [
        decode(k, ts, p).text  # type: ignore[attr-defined]
        for k, ts, p in zip(t["kind"], t["ts_event"], t["payload"], strict=True)
    ]
    assert {"f0", "f1", "f2", "w1", "w2"} <= set(texts)
    http = [x for x in texts if x.startswith("h")]
    assert len(http) >= 3 and polls[0] >= len(http)


def test_record_cli_sources_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stem = _signals(tmp_path)
    _file(tmp_path)
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        f'[run]\ncash = 1\n\n[[source]]\ntype = "file"\npath = "events.jsonl"\n'
        f'parse = "{stem}:parse"\n'
    )  # other tables (a run config's) are not ours
    argv = ["record", "--sources", str(cfg), "--duration", "0.2", "--flush", "0.05",
            "--store", str(tmp_path / "st")]  # fmt: skip
    assert main(argv) == 0
    assert "recorded 3 messages" in capsys.readouterr().out
    assert read_stream(tmp_path / "st", "CUSTOM", S.CUSTOM, "headline").num_rows == 3


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('type = "rss"\nurl = "x"\nparse = "P:parse"', "type must be one of http, ws, file"),
        ('type = "http"\nurl = "x"\nparse = "P:parse"\nevry = "1s"', "unknown key 'evry'"),
        ('type = "http"\nparse = "P:parse"', "url is required"),
        ('type = "file"\npath = "nope.jsonl"\nparse = "P:parse"', "no such file"),
        ('type = "http"\nurl = "x"\nparse = "P:nothing"', "has no function 'nothing'"),
        ('type = "http"\nurl = "x"\nparse = "missing.py:parse"', "no such file"),
        ('type = "http"\nurl = "x"\nparse = "P:parse"\nevery = "soon"', "soon"),
    ],
)  # fmt: skip
def test_bad_source_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, needle: str
) -> None:
    stem = _signals(tmp_path)
    cfg = tmp_path / "s.toml"
    cfg.write_text("[[source]]\n" + body.replace("P:", f"{stem}:") + "\n")
    assert main(["record", "--sources", str(cfg), "--store", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "[[source]] #1" in err and "\n" not in err


STRATEGY = """
from tradeloop.engine.strategy import Strategy
from tradeloop.store.custom import subscribe
from {stem} import Headline


class Listen(Strategy):
    params = {{}}

    def on_start(self):
        self.seen = []
        subscribe(self, Headline, self.on_headline)

    def on_headline(self, ev):
        self.seen.append(ev.text)
"""


async def test_live_hook_delivers_source_events_to_strategies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live runtime against the OKX emulator with the hook the live CLI adds: a strategy
    subscribed to the custom type receives the HTTP source's events."""
    from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
    from tradeloop.live.config import load_live_config
    from tradeloop.live.runtime import LiveRuntime

    stem = _signals(tmp_path)
    (tmp_path / "listen.py").write_text(STRATEGY.format(stem=stem))
    for k, v in (("S_KEY", "k"), ("S_SECRET", "s"), ("S_PASS", "p")):
        monkeypatch.setenv(k, v)
    emu = OkxEmulator(EmulatorConfig(api_key="k", api_secret="s", passphrase="p",
                                     symbols=["BTC-USDT"], seed=4, tick_interval_ms=50,
                                     balances={"USDT": 10_000.0}))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    runner, news, _polls = await _news_server()
    cfg = tmp_path / "live.toml"
    cfg.write_text(textwrap.dedent(f"""
        [run]
        cash = 10000

        [live]
        deployment = "src"
        journal = "{tmp_path / "j.sqlite"}"

        [[instrument]]
        symbol = "BTC-USDT.OKX"

        [[account]]
        name = "okx-a"
        venue = "okx"
        url = "{url}"
        keys = {{ api_key = "S_KEY", secret = "S_SECRET", passphrase = "S_PASS" }}
        capital = 10000

        [[strategy]]
        file = "{tmp_path / "listen.py"}"
        bar = "1s"
        """))  # fmt: skip
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\ntype = "http"\nurl = "{news}"\nparse = "{stem}:parse"\n'
                       'every = "50ms"\n')  # fmt: skip
    try:
        rt = LiveRuntime(load_live_config(cfg))
        rt.start_hooks.append(live_hook(read_sources(sources)))
        await rt.run(duration_s=1.5)
    finally:
        await runner.cleanup()
        await emu.stop()
    seen = vars(rt.groups[0].strategies[0])["seen"]
    assert seen and all(s.startswith("h") for s in seen)
    assert [int(s[1:]) for s in seen] == sorted(int(s[1:]) for s in seen)


async def test_a_feed_token_in_the_url_never_reaches_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A custom source's URL may carry the feed's token (``?apikey=``): a refused poll
    (aiohttp quotes the URL in its error) and a source that fails and is restarted are
    logged with the URL's query masked."""
    from tradeloop.store.custom import HttpPollSource
    from tradeloop.store.sources import SourceRunner

    async def refused(_req: web.Request) -> web.Response:
        return web.Response(status=401, text="no")

    async def ok(_req: web.Request) -> web.Response:
        return web.json_response({"text": "x"})

    app = web.Application()
    app.router.add_get("/refused", refused)
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"

    def broken(_data: Any, _ts: int) -> list[Any]:
        raise ValueError("parse failed")

    class Sink:
        def on_market_data(self, ev: Any) -> None: ...

    try:
        src = HttpPollSource(base + "/refused?apikey=SEKRET1&x=1", broken, every_s=0.01)
        await src.run(Sink(), polls=1)
        assert src.failures == 1
        runner_ = SourceRunner([HttpPollSource(base + "/ok?token=SEKRET2", broken)], 60.0)
        runner_.start(Sink())
        for _ in range(250):
            if runner_.errors:
                break
            await asyncio.sleep(0.02)
        await runner_.stop()
        assert runner_.errors == 1
    finally:
        await runner.cleanup()
    # ours only (the test server's own access log quotes the request line, as any would)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("tradeloop")]
    assert any("401" in m and "/refused?…" in m for m in lines)
    assert any("/ok?… failed: ValueError: parse failed" in m for m in lines)
    assert not [m for m in lines if "SEKRET" in m]


def test_record_channels_are_checked_before_anything_starts() -> None:
    from tradeloop.core.errors import ConfigError
    from tradeloop.store.cli_record import parse_channels

    assert parse_channels("bars:1m, trades ,funding") == (("bars:1m", "trades"), True)
    for text, says in (("bars:7q", "bad interval '7q'"), ("candles", "unknown channel"),
                       (",", "nothing to record")):  # fmt: skip
        with pytest.raises(ConfigError, match=says):
            parse_channels(text)
