"""Where runs execute: in this process, on a local process pool, or on Ray.

All executors share one contract, :meth:`Executor.results`: take tasks, yield each
:class:`~tradeloop.sweep.runner.TaskResult` as soon as it is done (in completion order; the
store sorts by run number), and on exit — normal, Ctrl-C or error — stop every worker they
started. Results never depend on the executor: each run is a pure function of the shared
context and its task, which the tests check (pool == Ray == one worker).

A worker that *dies* (segfault, out of memory, ``os._exit``) is not a run that raised: the
tasks that were in flight are retried on a fresh pool, each alone, and one that kills its
worker alone becomes an error row — so one poisonous point can neither stall a sweep nor take
innocent neighbours down with it.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from tradeloop.sweep.runner import (
    RunContext,
    Task,
    TaskResult,
    default_workers,
    error_row,
    execute,
    init_worker,
    run_task,
)

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 2  # one running, one queued: no idle gap while a result travels back
POLL_S = 0.5  # wake this often so Ctrl-C is handled promptly on every platform


class Executor(Protocol):
    name: str
    workers: int

    def results(self, tasks: Iterable[Task]) -> Iterator[TaskResult]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Runs tasks one after another in this process: for debugging (a breakpoint in a
    strategy works) and as the reference the other executors are compared with."""

    name = "inline"
    workers = 1

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def results(self, tasks: Iterable[Task]) -> Iterator[TaskResult]:
        for task in tasks:
            yield execute(self.ctx, task)

    def close(self) -> None:
        pass


def crash_result(task: Task, why: str) -> TaskResult:
    return TaskResult(task.run, task.key, error_row(f"worker process died {why}"))


#: what the fork server imports once, so that each worker it forks starts with them loaded
PRELOAD = ["tradeloop.sweep.runner"]


def pool_context() -> multiprocessing.context.BaseContext:
    """How pool workers start. Never by forking the driver: it runs a progress thread, and
    forking a threaded process can deadlock a child. Where it exists (Linux, macOS) a *fork
    server* — a clean single-threaded process that has imported :data:`PRELOAD` once —
    forks each worker in milliseconds; a spawned worker pays the interpreter start and the
    imports itself (~0.4 s of CPU each, on the same cores the runs need)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def start_pool_server() -> None:
    """Start the fork server now (idempotent): the CLI calls this before it loads the data,
    so the server's imports overlap with that instead of delaying the first run."""
    ctx = pool_context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class PoolExecutor:
    """A local process pool; each worker receives the context once, through the pool's
    initializer, and starts as :func:`pool_context` says."""

    name = "pool"

    def __init__(self, ctx: RunContext, workers: int | None = None) -> None:
        self.ctx = ctx
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=pool_context(),
            initializer=init_worker,
            initargs=(self.ctx,),
        )

    def results(self, tasks: Iterable[Task]) -> Iterator[TaskResult]:
        # (task, suspect): a suspect was in flight when a worker died and now runs alone
        pending: deque[tuple[Task, bool]] = deque((t, False) for t in tasks)
        inflight: dict[Future[TaskResult], tuple[Task, bool]] = {}
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            while pending or inflight:
                if self._pool is None:
                    self._pool = self._new_pool()
                refused = False  # a worker died since the last wait: its futures say which
                while pending and len(inflight) < limit:
                    task, suspect = pending[0]
                    if suspect and inflight:
                        break
                    try:
                        fut = self._pool.submit(run_task, task)
                    except BrokenProcessPool:
                        refused = True  # the task stays pending; the pool restarts below
                        break
                    pending.popleft()
                    inflight[fut] = (task, suspect)
                    if suspect:
                        break
                done, _ = wait(list(inflight), timeout=POLL_S, return_when=FIRST_COMPLETED)
                broken = refused and len(done) == len(inflight)
                for fut in done:
                    task, suspect = inflight.pop(fut)
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if suspect:  # it ran alone: it killed the worker
                            yield crash_result(task, "while running it")
                        else:
                            pending.appendleft((task, True))
                if broken:
                    log.warning("a worker process died; restarting the pool, retrying its tasks")
                    for fut, (task, _) in inflight.items():
                        fut.cancel()
                        pending.appendleft((task, True))
                    inflight.clear()
                    self._kill()
        except BaseException:  # Ctrl-C, or the consumer stopped early: stop the workers now
            self._kill()
            raise

    def _kill(self) -> None:
        """Stop now, even mid-run: on Ctrl-C the user wants the prompt back, and unfinished
        runs are simply not in the table (``--resume`` runs them)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list(getattr(pool, "_processes", {}).values())  # no public way to kill
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)

    def close(self) -> None:
        self._kill()
