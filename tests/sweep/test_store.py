"""The results journal: exact round trips, torn last rows, and the folder rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.sweep.store import ResultStore, prepare_folder, read_csv

COLS = {"run": int, "fast": float, "name": str, "ok": bool, "sharpe": float, "error": str}


def test_rows_survive_the_csv_exactly(tmp_path: Path) -> None:
    rows = [
        {"run": 0, "fast": 0.1 + 0.2, "name": 'a,"b"', "ok": True, "sharpe": None, "error": ""},
        {"run": 1, "fast": 1e-300, "name": "", "ok": False, "sharpe": -0.0, "error": "x\ny"},
    ]
    store = ResultStore(tmp_path, COLS, ["fast"])
    store.open()
    for r in rows:
        store.add(r)
    assert read_csv(tmp_path / "results.csv", COLS) == rows  # appended journal
    store.close()
    assert read_csv(tmp_path / "results.csv", COLS) == rows  # final sorted table
    assert store.load() == {store.key(r): r for r in rows}


def test_a_torn_last_row_is_ignored_but_not_a_torn_middle(tmp_path: Path) -> None:
    p = tmp_path / "results.csv"
    p.write_text("run,fast,name,ok,sharpe,error\n0,1.0,a,true,,\n1,2.0,b,tr")
    assert [r["run"] for r in read_csv(p, COLS)] == [0]
    p.write_text("run,fast,name,ok,sharpe,error\n0,x,a,true,,\n1,2.0,b,true,,\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_csv(p, COLS)


def test_folder_rules(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert prepare_folder(out, {"a": 1}, resume=True, overwrite=False) is False  # nothing yet
    (out / "results.csv").write_text("run\n")
    with pytest.raises(ConfigError, match="already holds results"):
        prepare_folder(out, {"a": 1}, resume=False, overwrite=False)
    assert prepare_folder(out, {"a": 1}, resume=True, overwrite=False) is True
    with pytest.raises(ConfigError, match=r"different inputs \(a\)"):
        prepare_folder(out, {"a": 2}, resume=True, overwrite=False)
    assert prepare_folder(out, {"a": 2}, resume=False, overwrite=True) is False
    assert not (out / "results.csv").exists()
