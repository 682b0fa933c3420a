"""The emulator replays from the store: the OKX capture imported into the store and exported
back (``tradeloop data export``) gives the emulator the same books and trades as the capture
itself, and the OKX emulator started on the export serves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.cli import main
from tradeloop.emulator.okx import server as emulator
from tradeloop.emulator.okx.replay import load_capture
from tradeloop.emulator.replay import BookRecord, Record, ReplayMarket, TradeRecord
from tradeloop.store.emulator_source import store_records
from tradeloop.store.importers import import_capture
from tradeloop.store.writer import StoreWriter

CAPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "captures"
pytestmark = pytest.mark.shared
INSTS = ["BTC-USDT", "UNI-USD-SWAP"]


def need(name: str) -> Path:
    p = CAPS / name
    if not p.exists():
        pytest.skip(f"{p} absent (shared data is not beside the checkout)")
    return p


def numeric(recs: list[Record]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for r in recs:
        if isinstance(r, BookRecord):
            lv = [[(float(p), float(s)) for p, s in side] for side in (r.bids, r.asks)]
            out.append(("book", r.snapshot, *map(tuple, lv)))
        else:
            assert isinstance(r, TradeRecord)
            out.append(("trade", float(r.price), float(r.size), r.side))
    return out


def test_store_export_replays_like_the_capture(tmp_path: Path) -> None:
    cap = need("OKX.ws.1.0")
    store = tmp_path / "store"
    w = StoreWriter(store, sync=False)
    import_capture(cap, w)
    w.roll()
    direct = load_capture(cap, set(INSTS))
    assert set(direct) == set(INSTS)
    for inst in INSTS:
        assert numeric(store_records(store, "OKX", inst)) == numeric(direct[inst]), inst
    out = tmp_path / "okx-replay.ws"
    argv = ["data", "export", "--venue", "okx", "--instruments", ",".join(INSTS), "--out"]
    assert main([*argv, str(out), "--store", str(store)]) == 0
    exported = load_capture(out, set(INSTS))
    for inst in INSTS:
        assert numeric(exported[inst]) == numeric(direct[inst]), inst
    # bad input: nothing stored for the instrument -> one line, exit 2
    assert main([*argv[:4], "--instruments", "NOPE-USDT", "--out", str(out),
                 "--store", str(store)]) == 2  # fmt: skip


async def test_okx_emulator_serves_the_stored_books(tmp_path: Path) -> None:
    cap, instruments = need("OKX.ws.1.0"), need("OKX.0")
    store = tmp_path / "store"
    w = StoreWriter(store, sync=False)
    import_capture(cap, w)
    w.roll()
    out = tmp_path / "okx-replay.ws"
    assert main(["data", "export", "--venue", "OKX", "--instruments", "BTC-USDT", "--out",
                 str(out), "--store", str(store)]) == 0  # fmt: skip
    emu = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            symbols=["BTC-USDT"], seed=1, tick_interval_ms=0, replay_file=str(out),
            instruments_file=str(instruments),
        )
    )  # fmt: skip
    m = emu.driver.markets["BTC-USDT"]
    assert isinstance(m, ReplayMarket)
    recs = store_records(store, "OKX", "BTC-USDT")
    for _ in range(25):
        emu.driver.step_all()
        # the emulator's book equals the stored records applied up to where it is
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for r in recs[: m.pos]:
            if isinstance(r, BookRecord):
                if r.snapshot:
                    bids.clear()
                    asks.clear()
                for side, lv in ((bids, r.bids), (asks, r.asks)):
                    for p, s in lv:
                        if float(s):
                            side[float(p)] = float(s)
                        else:
                            side.pop(float(p), None)
        tick = m.instrument.tick_size
        assert {round(k * tick, 8): float(v) for k, v in m.bids.items()} == {
            round(p, 8): s for p, s in bids.items()
        }
        assert {round(k * tick, 8): float(v) for k, v in m.asks.items()} == {
            round(p, 8): s for p, s in asks.items()
        }
