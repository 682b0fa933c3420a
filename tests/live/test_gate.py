"""A strategy paused (or set reduce-only) from the dashboard stays so across a restart: the
gate is journaled with the control event and restored, its standing targets held at its
position; ``--resume`` clears it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradeloop.dashboard.controls import apply

from .helpers import account_block, emulator, strategy_block, write_config
from .helpers import started as _started

K, S, P = "gk", "gate-secret", "gate-pass"
SYM = "BTC-USDT.OKX"


class _Model:
    """The dashboard model's one method controls use."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def control(self, row: dict[str, Any]) -> None:
        self.rows.append(row)


async def test_strategy_gate_survives_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in (("G_KEY", K), ("G_SECRET", S), ("G_PASS", P)):
        monkeypatch.setenv(k, v)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    body = (account_block("okx-a", url, "G") + strategy_block("Flip", "flip", None)
            + strategy_block("Flip", "other", None))  # fmt: skip
    cfg = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite", body, deployment="gate")
    try:
        rt = await _started(cfg)
        (g,) = rt.groups
        g.kernel.portfolio.set_target("flip", SYM, 0.02)  # a standing target the pause freezes
        req = {"action": "halt", "scope": "strategy", "target": "flip", "confirm": True}
        assert apply(rt, _Model(), req, "op", "127.0.0.1") == "strategy flip: halted"
        await rt.shutdown()  # no other journal write after the control: the gate is already in

        rt2 = await _started(cfg)
        gates = {s.id: s.gate for s in rt2.groups[0].strategies}
        books = rt2.groups[0].kernel.portfolio.books
        await rt2.shutdown()
        assert gates == {"flip": "halted", "other": ""}
        # held at its position (the 0.02 order may have filled before the stop; after the
        # stop nothing is sent to pursue a target, so the position is what it was then)
        held = books["flip"].positions.get(SYM)
        assert books["flip"].targets.get(SYM, 0.0) == (held.qty if held is not None else 0.0)

        rt3 = await _started(cfg)
        req = {"action": "reduce", "scope": "strategy", "target": "other", "confirm": True}
        apply(rt3, _Model(), req, "op", "127.0.0.1")
        req = {"action": "resume", "scope": "strategy", "target": "flip", "confirm": True}
        apply(rt3, _Model(), req, "op", "127.0.0.1")
        await rt3.shutdown()
        rt4 = await _started(cfg)
        assert {s.id: s.gate for s in rt4.groups[0].strategies} == {"flip": "", "other": "reducing"}
        await rt4.shutdown()

        rt5 = await _started(cfg, resume=True)  # --resume clears it (and journals that)
        await rt5.shutdown()
        rt6 = await _started(cfg)
        assert {s.id: s.gate for s in rt6.groups[0].strategies} == {"flip": "", "other": ""}
        await rt6.shutdown()
    finally:
        await emu.stop()
