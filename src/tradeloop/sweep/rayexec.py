"""Running a sweep on Ray: a local Ray runtime or an existing cluster.

Ray is an optional extra (``pip install 'tradeloop[ray]'``) and only imported here. The run
context is put into the object store once; one actor per worker CPU receives that single
object when it starts and keeps it, so data is neither reloaded nor re-sent per run — the same
shape as the local pool's initializer. Each actor holds at most two calls (one running, one
queued) so results stream back as they finish and Ctrl-C loses little work.

``--ray`` values: ``auto`` joins a running cluster (``RAY_ADDRESS`` or one started with
``ray start`` on this machine) and otherwise starts a local runtime; ``local`` always starts
a local runtime; anything else is a cluster address (``HOST:PORT`` or ``ray://HOST:PORT``).
Worker nodes need tradeloop installed; the strategy file travels with the context.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.sweep.executors import IN_FLIGHT_PER_WORKER, POLL_S, crash_result
from tradeloop.sweep.runner import (
    RunContext,
    Task,
    TaskResult,
    default_workers,
    error_row,
    execute,
    init_worker,
)

log = logging.getLogger(__name__)


class _Worker:
    """Ray actor body: the context arrives once, at construction."""

    def __init__(self, ctx: RunContext) -> None:
        init_worker(ctx, ignore_sigint=False)  # Ray manages its workers' signals
        self.ctx = ctx

    def run(self, task: Task) -> TaskResult:
        return execute(self.ctx, task)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs the ray package: pip install 'tradeloop[ray]'") from None
    return ray


def _connect(ray: Any, address: str, workers: int | None) -> None:
    # Ray starts workers at nice 15 so its own daemons stay responsive; on a machine shared
    # with other work that makes a sweep yield every core to everything else (measured: runs
    # 1.5-2x slower under load). The workers *are* the job here. An explicit setting wins.
    os.environ.setdefault("RAY_worker_niceness", "0")
    opts: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    local = {"num_cpus": workers or default_workers(), "include_dashboard": False}
    if address == "auto":
        try:
            ray.init(address="auto", **opts)
            return
        except ConnectionError:
            log.info("no running Ray cluster found; starting a local Ray runtime")
        ray.init(**opts, **local)
    elif address == "local":
        ray.init(address="local", **opts, **local)
    else:
        try:
            ray.init(address=address, **opts)
        except (ConnectionError, ValueError) as exc:
            raise ConfigError(f"--ray {address}: cannot connect: {exc}") from None


class RayExecutor:
    name = "ray"

    def __init__(self, ctx: RunContext, address: str, workers: int | None = None) -> None:
        ray = self._ray = _import_ray()
        self._started = not ray.is_initialized()
        if self._started:
            _connect(ray, address, workers)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        if workers and workers > cpus:
            log.warning(
                "--workers %d but the Ray cluster has %d CPUs; using %d", workers, cpus, cpus
            )
        self.workers = max(1, min(workers or cpus, cpus))
        self._ctx_ref = ray.put(ctx)
        self._cls = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self._actors: list[Any] = []

    def _spawn(self) -> Any:
        return self._cls.remote(self._ctx_ref)

    def results(self, tasks: Iterable[Task]) -> Iterator[TaskResult]:
        ray = self._ray
        pending: deque[tuple[Task, bool]] = deque((t, False) for t in tasks)
        if not self._actors:
            self._actors = [self._spawn() for _ in range(self.workers)]
        load: list[list[Any]] = [[] for _ in self._actors]  # refs in flight per actor
        solo: list[bool] = [False] * len(self._actors)  # actor is running a suspect alone
        where: dict[Any, tuple[Task, bool, int]] = {}
        try:
            while pending or where:
                for i in range(len(self._actors)):
                    while pending and not solo[i] and len(load[i]) < IN_FLIGHT_PER_WORKER:
                        task, suspect = pending[0]
                        if suspect and load[i]:
                            break
                        pending.popleft()
                        ref = self._actors[i].run.remote(task)
                        load[i].append(ref)
                        where[ref] = (task, suspect, i)
                        solo[i] = suspect
                ready, _ = ray.wait(list(where), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    if ref not in where:  # dropped with its dead actor below
                        continue
                    task, suspect, i = where.pop(ref)
                    load[i].remove(ref)
                    solo[i] = False
                    try:
                        yield ray.get(ref)
                    except ray.exceptions.RayActorError:
                        log.warning("a Ray worker died; replacing it and retrying its tasks")
                        if suspect:
                            yield crash_result(task, "while running it")
                        else:
                            pending.appendleft((task, True))
                        for other in load[i]:
                            pending.appendleft((where.pop(other)[0], True))
                        load[i] = []
                        ray.kill(self._actors[i], no_restart=True)
                        self._actors[i] = self._spawn()
                    except ray.exceptions.RayError as exc:  # e.g. a result that won't unpickle
                        msg = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
                        yield TaskResult(task.run, task.key, error_row(msg))
        except BaseException:  # Ctrl-C or the consumer stopped: stop the workers now
            self._kill_actors()
            raise

    def _kill_actors(self) -> None:
        for actor in self._actors:
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                log.debug("ray.kill failed", exc_info=True)
        self._actors = []

    def close(self) -> None:
        self._kill_actors()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False
