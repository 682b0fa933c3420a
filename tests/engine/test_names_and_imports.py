"""What a run infers from names, and where a strategy file may import from (issue 15):
a data file's name gives the pair when it names one, and a strategy file imports helper
modules kept beside it, as a script would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.engine.loader import build_strategies
from tradeloop.engine.symbols import pair_from_filename


@pytest.mark.parametrize(
    ("stem", "pair"),
    [("XRP_ETH", "XRP-ETH"), ("ETH_BTC", "ETH-BTC"), ("BTC-USDT", "BTC-USDT"),
     ("BTC_USDT_USDT", "BTC-USDT-SWAP"), ("BTC-USDT-SWAP", "BTC-USDT-SWAP"),
     ("UNITTEST", None), ("prices", None)],
)  # fmt: skip
def test_a_file_name_gives_the_pair_when_it_names_one(stem: str, pair: str | None) -> None:
    assert pair_from_filename(stem) == pair


def test_a_strategy_imports_a_module_beside_it(tmp_path: Path) -> None:
    (tmp_path / "mysignals_tl_test.py").write_text("def threshold():\n    return 7\n")
    (tmp_path / "strat.py").write_text(
        "from mysignals_tl_test import threshold\n"
        "from tradeloop.engine.strategy import Strategy\n\n"
        "class S(Strategy):\n"
        "    params = {'k': 1}\n\n"
        "    def on_start(self):\n"
        "        self.level = threshold() * self.p.k\n"
    )
    (s,) = build_strategies(tmp_path / "strat.py", {"k": 3})
    s.on_start()
    assert s.level == 21  # type: ignore[attr-defined]
