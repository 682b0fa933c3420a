"""Which executor a sweep runs on: the local process pool by default, Ray when asked. Kept
apart from ``executors`` so that module and ``rayexec`` (which builds on it) never import each
other."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tradeloop.core.errors import ConfigError
from tradeloop.sweep.executors import Executor, PoolExecutor, default_workers, start_pool_server
from tradeloop.sweep.runner import RunContext


def _check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")


@contextlib.contextmanager
def workers_warming(workers: int | None = None, ray: str | None = None) -> Iterator[None]:
    """Start what the executor will need — the pool's fork server, or Ray (runtime and its
    pooled workers' imports) — before the command loads its data, so that start-up overlaps
    with the loading; a local Ray runtime started here is shut down on exit."""
    _check_workers(workers)
    if not ray:
        start_pool_server()
        yield
        return
    from tradeloop.sweep.rayexec import start_ray, stop_ray

    started = start_ray(ray, workers)
    try:
        yield
    finally:
        if started:
            stop_ray()


def make_executor(ctx: RunContext, workers: int | None = None, ray: str | None = None) -> Executor:
    """``ray`` None -> a local process pool (``workers``, default all cores); ``"auto"``,
    ``"local"`` or an address -> Ray.

    Even one worker runs in a pool process rather than in the command's own: a run there is
    measurably faster (every backtest starts with a full garbage collection, whose cost grows
    with the heap, and the driver's heap holds pyarrow, the results and more), and a strategy
    that crashes its process cannot take the sweep down. :class:`InlineExecutor` remains for
    debugging and as the tests' reference.
    """
    _check_workers(workers)
    if ray:
        from tradeloop.sweep.rayexec import RayExecutor  # Ray is an optional extra

        return RayExecutor(ctx, ray, workers)
    return PoolExecutor(ctx, workers or default_workers())
