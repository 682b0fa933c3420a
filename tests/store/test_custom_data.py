"""Custom data: a user-defined event type from a file, an HTTP poll and a WebSocket (loopback
servers), recorded into the store and replayed to a strategy interleaved with trades."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web

from tradeloop.core.errors import UserError
from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.model import Instrument, Side, TradeTick
from tradeloop.store import schema as S
from tradeloop.store.custom import (
    CustomData,
    FileSource,
    HttpPollSource,
    WebSocketSource,
    decode,
    subscribe,
)
from tradeloop.store.reader import merged
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter

SYM = "BTC-USDT.OKX"
T0 = 1_700_000_000 * 10**9


class Sentiment(CustomData, frozen=True, gc=False):
    """A text signal with a score (what seed 003 calls outside data)."""

    kind: ClassVar[str] = "sentiment"
    source: str
    text: str
    score: float


def parse(data: Any, ts: int) -> Iterable[Sentiment]:
    items = data if isinstance(data, list) else [data]
    for d in items:
        yield Sentiment(int(d.get("ts", ts)), d["source"], d["text"], float(d["score"]))


class Collect:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_market_data(self, ev: Any) -> None:
        self.events.append(ev)


async def test_file_http_and_websocket_sources(tmp_path: Path) -> None:
    f = tmp_path / "signals.jsonl"
    f.write_text(
        "\n".join(
            json.dumps({"ts": T0 + k, "source": "file", "text": f"f{k}", "score": k})
            for k in range(3)
        )
        + "\n"
    )
    got = Collect()
    assert await FileSource(f, parse).run(got) == 3
    assert [e.text for e in got.events] == ["f0", "f1", "f2"] and got.events[0].ts == T0

    polls = 0

    async def poll(_req: web.Request) -> web.Response:
        nonlocal polls
        polls += 1
        if polls == 2:
            return web.Response(status=503)  # one failed poll: logged, retried next period
        return web.json_response([{"source": "http", "text": f"p{polls}", "score": 0.5}])

    async def ws(req: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(req)
        sub = await sock.receive_json()
        for k in range(3):
            await sock.send_json({"source": sub["channel"], "text": f"w{k}", "score": -1})
        await sock.close()  # a drop: the source reconnects
        return sock

    app = web.Application()
    app.router.add_get("/poll", poll)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        http_got, ws_got = Collect(), Collect()
        hp = HttpPollSource(f"http://127.0.0.1:{port}/poll", parse, every_s=0.02)
        await asyncio.wait_for(hp.run(http_got, polls=3), 10)
        assert hp.failures == 1 and [e.text for e in http_got.events] == ["p1", "p3"]
        wsrc = WebSocketSource(f"ws://127.0.0.1:{port}/ws", parse, [{"channel": "news"}], 0.01)
        await asyncio.wait_for(wsrc.run(ws_got, connects=2), 10)
        assert [e.text for e in ws_got.events] == ["w0", "w1", "w2"] * 2
        assert {e.source for e in ws_got.events} == {"news"}
    finally:
        await runner.cleanup()


class Reacts(Strategy):
    symbols = (SYM,)

    def on_start(self) -> None:
        self.seen: list[tuple[str, int, Any]] = []
        subscribe(self, Sentiment, self.on_sentiment)

    def on_sentiment(self, ev: Sentiment) -> None:
        self.seen.append(("sentiment", ev.ts, ev.score))

    def on_trade(self, t: TradeTick) -> None:
        self.seen.append(("trade", t.ts, t.price))


def test_recorded_custom_data_replays_in_time_order(tmp_path: Path) -> None:
    clock = [T0]
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0, now_ns=lambda: clock[0])
    want: list[tuple[str, int, Any]] = []
    for k in range(20):
        clock[0] = T0 + k * 10**9
        if k % 3 == 0:
            ev = Sentiment(clock[0], "x", f"s{k}", k / 10)
            rec.on_market_data(ev)
            want.append(("sentiment", clock[0], k / 10))
        rec.on_market_data(TradeTick(clock[0], SYM, 100.0 + k, 1.0, Side.BUY, str(k)))
        want.append(("trade", clock[0], 100.0 + k))
    rec.roll()
    assert (tmp_path / "venue=CUSTOM" / "channel=custom" / "instrument=sentiment").is_dir()
    st = Reacts()
    events = merged(tmp_path, [("sentiment.CUSTOM", S.CUSTOM), (SYM, S.TRADES)])
    inst = Instrument(SYM, "BTC", "USDT", tick_size=0.1, lot_size=0.001)
    run_tick_backtest([st], [inst], events, {"USDT": 1e5}, bar_interval=None)
    assert st.seen == want


def test_unknown_kind_is_a_user_error() -> None:
    with pytest.raises(UserError, match="not registered"):
        decode("nope", 1, "{}")
    with pytest.raises(TypeError, match="kind"):

        class NoKind(CustomData, frozen=True):
            x: int
