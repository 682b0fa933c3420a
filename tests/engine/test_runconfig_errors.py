"""Every run-config mistake is one ConfigError line naming the file, the table and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.engine.runconfig import load_run_config, parse_run_config

BASE: dict[str, Any] = {
    "instrument": [{"symbol": "BTC-USDT", "data": "btc.csv"}],
    "strategy": [{"file": "s.py"}],
}


def with_(**tables: Any) -> dict[str, Any]:
    d = {k: [dict(x) for x in v] if isinstance(v, list) else dict(v) for k, v in BASE.items()}
    for k, v in tables.items():
        if k in ("instrument", "strategy") and isinstance(v, dict):
            d[k] = [{**d[k][0], **v}]
        else:
            d[k] = v
    return d


CASES = [
    ({"run": {"cash": 0}}, "[run]: cash must be > 0, got 0.0"),
    ({"run": {"cash": -5}}, "[run]: cash must be > 0, got -5.0"),
    ({"run": {"cash": "lots"}}, "[run]: cash must be a number, got 'lots'"),
    ({"run": {"cahs": 1}}, "[run]: unknown key 'cahs'"),
    ({"instrument": []}, "no [[instrument]]"),
    ({"strategy": []}, "no [[strategy]]"),
    ({"instrument": {"symbol": ""}}, "[[instrument]] #1: symbol is required"),
    ({"instrument": {"kind": "option"}}, "kind = 'option': expected one of spot, swap, future"),
    ({"instrument": {"tick": 0.0}}, "[[instrument]] 'BTC-USDT': tick must be > 0"),
    ({"instrument": {"leverage": True}}, "leverage must be a number, got True"),
    ({"instrument": {"margin": "both"}}, "margin = 'both': expected one of cross, isolated"),
    ({"instrument": {"funding": 3.0}}, "funding 3.0 is not a rate"),
    ({"instrument": {"interval": "7x"}}, "[[instrument]] 'BTC-USDT': interval:"),
    ({"instrument": {"dta": "x"}}, "[[instrument]] 'BTC-USDT': unknown key 'dta'"),
    ({"strategy": {"file": ""}}, "[[strategy]] #1: file is required"),
    ({"strategy": {"bar": ["15m", "zz"]}}, "[[strategy]] #1: bar:"),
    ({"strategy": {"bar": [1]}}, "bar must be a string or a list of strings"),
    ({"strategy": {"algo": "sniper"}}, "algo = 'sniper': expected one of market, limit_chase"),
    ({"strategy": {"params": 3}}, "params must be a table, got 3"),
    ({"strategy": {"weigth": 1}}, "[[strategy]] #1: unknown key 'weigth'"),
    ({"execution": {"max_volume_share": 2.0}}, "max_volume_share must be in (0, 1]"),
    ({"execution": {"latency": "soon"}}, "[execution]: latency:"),
    ({"allocation": {"method": "magic"}}, "method = 'magic': expected one of weights, equal"),
    ({"allocation": {"lookback": 1}}, "[allocation]: lookback must be >= 2"),
    ({"risk": {"daily_loss_limit": -1}}, "[risk]: daily_loss_limit must be >= 0"),
    ({"risky": {}}, "unknown key 'risky'"),
]


@pytest.mark.parametrize(("change", "message"), CASES)
def test_error_messages(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_run_config(with_(**change), "run.toml")
    text = str(err.value)
    assert text.startswith("run.toml")
    assert message in text
    assert "\n" not in text


def test_duplicates_are_refused() -> None:
    two = [{"symbol": "BTC-USDT"}, {"symbol": "btc-usdt"}]
    with pytest.raises(ConfigError, match="'btc-usdt' is listed twice"):
        parse_run_config({**BASE, "instrument": two}, "run.toml")
    strats = [{"file": "a.py", "id": "x"}, {"file": "b.py", "id": "x"}]
    with pytest.raises(ConfigError, match="strategy id 'x' is used twice"):
        parse_run_config({**BASE, "strategy": strats}, "run.toml")


def test_live_tables_are_skipped_by_a_backtest() -> None:
    cfg = parse_run_config({**BASE, "live": {"x": 1}, "account": [{}], "filter": {}})
    assert cfg.instruments[0].symbol == "BTC-USDT"


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_run_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\ncash = 1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_run_config(bad)


def test_a_good_file_parses_with_paths_relative_to_it(tmp_path: Path) -> None:
    f = tmp_path / "run.toml"
    f.write_text(
        '[run]\ncash = 5000\n[[instrument]]\nsymbol = "ETH-USDT"\ndata = "eth.csv"\nfee = 0.0005\n'
        '[[strategy]]\nfile = "s.py"\nbar = ["15m", "1h"]\nweight = 2\n'
        'params = { fast = 3 }\n[allocation]\nmethod = "equal"\n'
    )
    cfg = load_run_config(f)
    inst, strat = cfg.instruments[0], cfg.strategies[0]
    assert cfg.cash == 5000.0 and cfg.allocation.method == "equal"
    assert inst.maker_fee == inst.taker_fee == 0.0005
    assert strat.bars == ("15m", "1h") and strat.weight == 2.0 and strat.params == {"fast": 3}
    assert cfg.path(inst.data or "") == tmp_path / "eth.csv"
