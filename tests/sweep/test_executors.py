"""Same inputs, same table, whatever runs it: one worker, the local pool, Ray local mode.
A worker process that dies takes only its own point down."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tradeloop.cli import main
from tradeloop.sweep.executors import Executor, InlineExecutor, PoolExecutor
from tradeloop.sweep.runner import Task, TaskResult
from tradeloop.sweep.sweep import SweepOptions, run_sweep

from .helpers import SMA, context, table

PARAMS = ["fast=3:15:4", "slow=20,35"]


def sweep(tmp: Path, name: str, inline: bool = False, **kw: object) -> list[dict[str, object]]:
    ctx = context(SMA, "--bars", "2500")
    opts = SweepOptions(list(PARAMS), ["fast < slow"], report=False, **kw)  # type: ignore[arg-type]
    executor = InlineExecutor(ctx) if inline else None
    return table(run_sweep(ctx, opts, tmp / name, executor=executor).rows)


def stop_after_first_result(executor: Executor) -> TaskResult:
    """What the driver does on Ctrl-C: close the result stream while runs (here slow ones,
    ``nap``) are still going; the executor must stop them and return."""
    tasks = [Task(run=i, key=str(i), params={"fast": "5", "slow": "20", "nap": "0.3"})
             for i in range(8)]  # fmt: skip
    stream = executor.results(tasks)
    try:
        return next(iter(stream))
    finally:
        stream.close()
        executor.close()


def test_pool_equals_one_worker_equals_in_process(tmp_path: Path) -> None:
    ref = sweep(tmp_path, "inline", inline=True)
    assert len(ref) == 8 and all(r["status"] == "ok" for r in ref)
    assert sweep(tmp_path, "one", workers=1) == ref
    assert sweep(tmp_path, "pool", workers=2) == ref


def test_random_search_same_seed_same_table(tmp_path: Path) -> None:
    a = sweep(tmp_path, "a", workers=2, search="random", samples=3, search_seed=5)
    b = sweep(tmp_path, "b", inline=True, search="random", samples=3, search_seed=5)
    assert a == b and len(a) == 3


def test_a_dying_worker_only_costs_its_own_point(tmp_path: Path, misbehaving: Path) -> None:
    ctx = context(misbehaving, "--bars", "400")
    opts = SweepOptions(["fast=5:9", "slow=20"], report=False)
    out = run_sweep(ctx, opts, tmp_path / "crash", executor=PoolExecutor(ctx, 2))
    status = {r["fast"]: (r["status"], r["error"]) for r in out.rows}
    assert status[7] == ("error", "worker process died while running it")
    assert status[8][0] == "error" and "eight is not allowed" in str(status[8][1])
    assert all(status[f] == ("ok", "") for f in (5, 6, 9))


class _LateSubmits(PoolExecutor):
    """A real pool whose fourth submission waits until the pool has broken (the third task,
    ``fast=7``, kills its worker), so it meets the broken pool -- the moment a loaded machine
    can hit between a result and the next submission."""

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = super()._new_pool()
        submit, n = pool.submit, [0]

        def late(*args, **kwargs):  # type: ignore[no-untyped-def]
            n[0] += 1
            deadline = time.monotonic() + 60
            while n[0] == 4 and not pool._broken and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.01)
            return submit(*args, **kwargs)

        pool.submit = late  # type: ignore[method-assign]
        return pool


def test_a_worker_dying_before_a_submission_only_costs_its_own_point(
    tmp_path: Path, misbehaving: Path
) -> None:
    ctx = context(misbehaving, "--bars", "400")
    opts = SweepOptions(["fast=5:9", "slow=20"], report=False)
    out = run_sweep(ctx, opts, tmp_path / "late", executor=_LateSubmits(ctx, 2))
    status = {r["fast"]: (r["status"], r["error"]) for r in out.rows}
    assert status[7] == ("error", "worker process died while running it")
    assert all(status[f] == ("ok", "") for f in (5, 6, 9)) and status[8][0] == "error"


@pytest.mark.ray
def test_ray_local_equals_pool_and_one_worker(tmp_path: Path, misbehaving: Path) -> None:
    if os.environ.get("TRADELOOP_REQUIRE_RAY"):
        import ray  # CI installs the dev extra: a broken Ray install fails here, never skips
    else:
        ray = pytest.importorskip("ray")
    from tradeloop.sweep.rayexec import RayExecutor

    one = sweep(tmp_path, "one", inline=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep(tmp_path, "ray", ray="auto")
        # the command line on the same runtime (it reuses a runtime it did not start)
        out = tmp_path / "cli"
        assert main(["sweep", str(SMA), "--bars", "2500", "--param", PARAMS[0], "--param",
                     PARAMS[1], "--constraint", "fast < slow", "--ray", "auto",
                     "--out", str(out), "--top", "2"]) == 0  # fmt: skip
        assert ray.is_initialized()
        # a dying Ray worker, and a raising run, cost only their own points
        bad = context(misbehaving, "--bars", "400")
        crash = run_sweep(
            bad,
            SweepOptions(["fast=6:8", "slow=20"], report=False),
            tmp_path / "crash",
            executor=RayExecutor(bad, "auto", 2),
        )
        assert [(r["fast"], r["status"]) for r in crash.rows] == [
            (6, "ok"),
            (7, "error"),
            (8, "error"),
        ]
        assert crash.rows[1]["error"] == "worker process died while running it"
        # Ctrl-C while runs are going: they are cancelled, and the runtime serves the next sweep
        first = stop_after_first_result(RayExecutor(bad, "auto", 2))
        assert first.row["status"] == "ok"
        # several runs per Ray task: the same table; a run that kills its worker takes only
        # itself down (its chunk-mates are retried one by one)
        sma = context(SMA, "--bars", "2500")
        chunked = run_sweep(
            sma,
            SweepOptions(list(PARAMS), ["fast < slow"], report=False),
            tmp_path / "chunked",
            executor=RayExecutor(sma, "auto", 2, chunk=3),
        )
        assert table(chunked.rows) == one
        crash3 = run_sweep(
            bad,
            SweepOptions(["fast=5:9", "slow=20"], report=False),
            tmp_path / "crash3",
            executor=RayExecutor(bad, "auto", 2, chunk=3),
        )
        status = {r["fast"]: (r["status"], r["error"]) for r in crash3.rows}
        assert status[7] == ("error", "worker process died while running it")
        assert status[8][0] == "error" and "eight is not allowed" in str(status[8][1])
        assert all(status[f] == ("ok", "") for f in (5, 6, 9))
    finally:
        ray.shutdown()
    assert on_ray == one
    html = (out / "report.html").read_text()
    assert "ray × 2" in html


def test_an_address_nothing_answers_at_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ray retries an address nobody listens on for minutes, printing only its own warnings;
    the sweep refuses it at once."""
    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the sweep looks
    rc = main(["sweep", str(SMA), "--bars", "300", "--param", "fast=5,10",
               "--ray", f"127.0.0.1:{port}", "--out", str(tmp_path / "o")])  # fmt: skip
    assert rc == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert f"--ray 127.0.0.1:{port}: nothing answers there" in err
