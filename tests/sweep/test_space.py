"""Parameter specs, constraints and plans: the syntax a user types and the points it means."""

from __future__ import annotations

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.sweep.objective import resolve
from tradeloop.sweep.plan import make_points
from tradeloop.sweep.space import Constraint, parse_spec, parse_specs

from .helpers import SMA, context


def texts(spec: str) -> list[str]:
    return [v.text for v in parse_spec("x", spec).values]


def test_ranges_include_the_end_and_use_exact_decimals() -> None:
    assert texts("5:50:5") == [str(i) for i in range(5, 51, 5)]
    assert texts("1:4") == ["1", "2", "3", "4"]
    assert texts("0.1:0.5:0.1") == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    assert [v.value for v in parse_spec("x", "0.1:0.3:0.1").values] == [0.1, 0.2, 0.3]
    assert texts("5:12:5") == ["5", "10"]  # the end is included only when the step lands on it
    assert texts("20, 50,100") == ["20", "50", "100"]
    assert texts("market,limit") == ["market", "limit"]
    assert texts("7") == ["7"]
    cont = parse_spec("x", "0.5~2")
    assert cont.continuous and (cont.low, cont.high, cont.integer) == (0.5, 2.0, False)
    assert parse_spec("x", "5~50").integer


@pytest.mark.parametrize(
    "item",
    ["fast", "fast=", "fast=5:x", "fast=5:50:0", "fast=50:5", "fast=1:2:3:4", "fast=1,,2",
     "fast=1,1", "fast=2~1", "fast=a~b", "1x=3", "fast=nan:5"],
)  # fmt: skip
def test_bad_specs_are_config_errors(item: str) -> None:
    with pytest.raises(ConfigError):
        parse_specs([item])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        parse_specs(["fast=1", "fast=2"])


def test_grid_order_and_constraints() -> None:
    specs = parse_specs(["fast=5:15:5", "slow=10,20"])
    points = make_points(specs, ["fast < slow"], "grid", 0, 0)
    assert [p.typed() for p in points] == [
        {"fast": 5, "slow": 10},
        {"fast": 5, "slow": 20},
        {"fast": 10, "slow": 20},
        {"fast": 15, "slow": 20},
    ]
    assert [p.index for p in points] == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="meets"):
        make_points(specs, ["fast > 100"], "grid", 0, 0)
    with pytest.raises(ConfigError, match="random"):
        make_points(parse_specs(["fast=1~5"]), [], "grid", 0, 0)


def test_random_search_is_a_function_of_the_seed() -> None:
    specs = parse_specs(["fast=1:30", "slow=10:100:10", "k=0.1~0.9"])
    a = make_points(specs, ["fast < slow"], "random", 25, 42)
    b = make_points(specs, ["fast < slow"], "random", 25, 42)
    c = make_points(specs, ["fast < slow"], "random", 25, 43)
    assert [p.texts() for p in a] == [p.texts() for p in b] != [p.texts() for p in c]
    assert len({p.key() for p in a}) == 25
    assert all(p.typed()["fast"] < p.typed()["slow"] for p in a)  # type: ignore[operator]
    small = make_points(parse_specs(["fast=1,2,3"]), [], "random", 10, 0)
    assert sorted(p.typed()["fast"] for p in small) == [1, 2, 3]  # type: ignore[type-var]


def test_constraints_are_expressions_not_code() -> None:
    c = Constraint("slow >= 2 * fast and abs(fast - 7) != 0", ["fast", "slow"])
    assert c({"fast": 5, "slow": 10}) and not c({"fast": 7, "slow": 20})
    assert not c({"fast": 6, "slow": 11})
    for bad in ("__import__('os').system('true')", "fast.real > 1", "[x for x in y]",
                "open('f')", "fast <"):  # fmt: skip
        with pytest.raises(ConfigError):
            Constraint(bad, ["fast", "slow"])
    with pytest.raises(ConfigError, match="unknown parameter 'slwo'"):
        Constraint("fast < slwo", ["fast", "slow"])


def test_objectives_by_name_alias_or_function(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cols = ["sharpe", "total_return", "max_drawdown", "calmar"]
    assert resolve("return", cols).name == "total_return"
    assert resolve("sharpe", cols).maximize
    assert not resolve("max_drawdown", cols).maximize
    assert resolve("max_drawdown", cols, "max").maximize
    with pytest.raises(ConfigError, match="unknown"):
        resolve("sharp", cols)
    f = tmp_path / "obj.py"
    f.write_text("def score(row):\n    return row['sharpe'] - row['max_drawdown']\n")
    o = resolve(f"{f}:score", cols)
    assert o.score({"sharpe": 2.0, "max_drawdown": 0.5}) == 1.5
    assert o.sort_key(None, 0) > o.sort_key(-1e9, 5) > o.sort_key(1.0, 9) > o.sort_key(1.0, 2)
    with pytest.raises(ConfigError, match="no function"):
        resolve(f"{f}:nope", cols)
    assert resolve("math:fabs", cols).name == "math:fabs"
    (tmp_path / "my_objective_mod.py").write_text("def f(row):\n    return 1\n")
    monkeypatch.chdir(tmp_path)  # a module in the working directory, as a user would have it
    assert resolve("my_objective_mod:f", cols).score({}) == 1.0


def test_params_are_checked_and_typed_by_the_strategy() -> None:
    from tradeloop.sweep.plan import check_specs

    ctx = context(SMA, "--bars", "100")
    (spec,) = check_specs(ctx, parse_specs(["fast=5:10:5"]))
    assert [type(v.value) for v in spec.values] == [int, int]
    with pytest.raises(ConfigError, match=r"unknown parameter of .*known: fast, slow"):
        check_specs(ctx, parse_specs(["fats=5"]))
    with pytest.raises(ConfigError, match="not a valid int"):
        check_specs(ctx, parse_specs(["fast=5,x"]))
    with pytest.raises(ConfigError, match="clashes"):
        check_specs(ctx, parse_specs(["sharpe=1"]))
