"""Running a sweep on Ray: a local Ray runtime or an existing cluster.

Ray is an optional extra (``pip install 'tradeloop[ray]'``) and only imported here.

Runs go out as plain Ray *tasks* on Ray's own pool of worker processes, not as actors: an
actor's process lives and dies with one sweep, so every sweep paid a Python start, Ray's and
tradeloop's imports (0.5-1.2 s per worker, measured) on the cores its runs need, while a task
worker is kept by Ray between tasks and sweeps. :func:`start_ray` — called by the CLI before
it loads the data, as the local pool's fork server is — connects and has Ray's pooled workers
import the runner while the data loads; the run context is put into the object store once per
sweep and each worker process fetches it once (:func:`_context`), so data is neither reloaded
nor re-sent per run.

A Ray task costs ~3 ms of CPU to dispatch (measured, driver and raylet together), 5 % of a
60 ms backtest; so runs travel in chunks sized to about :data:`CHUNK_S` of work, shrinking
towards the end so no worker idles while another finishes a long chunk. Results still arrive
chunk by chunk (a fraction of a second apart), and Ctrl-C keeps every finished chunk.

``--ray`` values: ``auto`` joins a running cluster (``RAY_ADDRESS`` or one started with
``ray start`` on this machine) and otherwise starts a local runtime; ``local`` always starts
a local runtime; anything else is a cluster address (``HOST:PORT`` or ``ray://HOST:PORT``).
Worker nodes need tradeloop installed; the strategy file travels with the context.
"""

from __future__ import annotations

import logging
import math
import os
import socket
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
)

log = logging.getLogger(__name__)

CHUNK_S = 0.3  # aim for this much work per Ray task: dispatch < 1 %, results still flow
MAX_CHUNK = 32  # runs per task at most, however fast they are
TAIL_SPLIT = 4  # a chunk is at most 1/(TAIL_SPLIT x workers) of what is left

#: the run context this worker process holds: (object id, context); only the latest is kept
_HELD: tuple[str, RunContext] | None = None


def _context(box: list[Any]) -> RunContext:
    """The sweep's context in this worker process, fetched from the object store the first
    time this process serves the sweep. ``box`` holds the ObjectRef inside a list so Ray does
    not resolve (and unpickle) it again for every task."""
    global _HELD
    ref = box[0]
    if _HELD is None or _HELD[0] != ref.hex():
        import ray

        _HELD = None  # drop the previous sweep's data before fetching this one's
        _HELD = (ref.hex(), ray.get(ref))
    return _HELD[1]


def _run_chunk(box: list[Any], tasks: list[Task]) -> list[TaskResult]:
    """Ray task body: run each task with the shared context (a failing run is a row)."""
    ctx = _context(box)
    return [execute(ctx, t) for t in tasks]


def _warm() -> int:
    """Nothing to do: deserialising this function imported this module, hence the runner,
    the engine and numpy, in one of Ray's pooled worker processes."""
    return os.getpid()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs the ray package: pip install 'tradeloop[ray]'") from None
    return ray


def _connect(ray: Any, address: str, workers: int | None) -> bool:
    """Join or start a runtime; True when this started a local one (ours to shut down)."""
    # Ray starts workers at nice 15 so its own daemons stay responsive; on a machine shared
    # with other work that makes a sweep yield every core to everything else (measured: runs
    # 1.5-2x slower under load). The workers *are* the job here. An explicit setting wins.
    os.environ.setdefault("RAY_worker_niceness", "0")
    opts: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    local = {"num_cpus": workers or default_workers(), "include_dashboard": False}
    if address == "auto":
        try:
            ray.init(address="auto", **opts)
            return False
        except ConnectionError:
            log.info("no running Ray cluster found; starting a local Ray runtime")
        ray.init(**opts, **local)
        return True
    if address == "local":
        ray.init(address="local", **opts, **local)
        return True
    _reachable(address)
    try:
        ray.init(address=address, **opts)
    except (ConnectionError, ValueError) as exc:
        raise ConfigError(f"--ray {address}: cannot connect: {exc}") from None
    return False


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a cluster address nothing answers at, in one line: Ray itself retries such an
    address for minutes with only its own warnings to show for it."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return  # no port said: Ray's default applies, let Ray find it
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout_s).close()
    except (OSError, OverflowError) as exc:
        raise ConfigError(f"--ray {address}: nothing answers there "
                          f"({getattr(exc, 'strerror', None) or exc})") from None  # fmt: skip


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def start_ray(address: str, workers: int | None = None) -> bool:
    """Connect (or start a local runtime) and have Ray's pooled worker processes import the
    runner now, without waiting: the CLI calls this before it loads the data, so those
    imports overlap with the loading instead of delaying the first runs. True when this
    started the runtime (the caller then shuts it down with :func:`stop_ray`)."""
    ray = _import_ray()
    started = False if ray.is_initialized() else _connect(ray, address, workers)
    cpus = _cluster_cpus(ray)
    warm = ray.remote(num_cpus=1, max_retries=0)(_warm)
    for _ in range(max(1, min(workers or cpus, cpus))):
        warm.remote()  # fire and forget: a dropped ref does not cancel a Ray task
    return started


def stop_ray() -> None:
    ray = _import_ray()
    if ray.is_initialized():
        ray.shutdown()


class RayExecutor:
    name = "ray"

    def __init__(
        self, ctx: RunContext, address: str, workers: int | None = None, chunk: int | None = None
    ) -> None:
        """``chunk``: runs per Ray task, fixed (None: sized from the run times seen)."""
        ray = self._ray = _import_ray()
        self._started = not ray.is_initialized() and _connect(ray, address, workers)
        cpus = _cluster_cpus(ray)
        if workers and workers > cpus:
            log.warning(
                "--workers %d but the Ray cluster has %d CPUs; using %d", workers, cpus, cpus
            )
        self.workers = max(1, min(workers or cpus, cpus))
        # Ray itself caps concurrency at one task per CPU; below that, so must we
        self._limit = self.workers * (IN_FLIGHT_PER_WORKER if self.workers >= cpus else 1)
        self._box = [ray.put(ctx)]
        self._fn = ray.remote(num_cpus=1, max_retries=0)(_run_chunk)
        self._run_s: float | None = None  # mean run time seen so far: sizes the chunks
        self._fixed_chunk = chunk

    def _chunk(self, left: int) -> int:
        if self._fixed_chunk is not None:
            return max(1, self._fixed_chunk)
        if self._run_s is None:  # nothing measured yet: one run per task
            return 1
        by_time = int(CHUNK_S / max(self._run_s, 1e-6))
        by_tail = left // (TAIL_SPLIT * self.workers)
        return max(1, min(MAX_CHUNK, by_time, by_tail))

    def _learn(self, results: list[TaskResult]) -> None:
        if not results:
            return
        times = [float(r.row.get("run_s") or 0.0) for r in results]
        mean = sum(times) / len(times)
        if math.isfinite(mean) and mean > 0:
            self._run_s = mean if self._run_s is None else 0.7 * self._run_s + 0.3 * mean

    def results(self, tasks: Iterable[Task]) -> Iterator[TaskResult]:
        ray = self._ray
        # (task, suspect): a suspect was in a chunk whose worker died and now runs alone
        pending: deque[tuple[Task, bool]] = deque((t, False) for t in tasks)
        inflight: dict[Any, tuple[list[Task], bool]] = {}
        try:
            while pending or inflight:
                while pending and len(inflight) < self._limit:
                    if pending[0][1]:  # a suspect: alone, with nothing else in flight
                        if inflight:
                            break
                        chunk, suspect = [pending.popleft()[0]], True
                    else:
                        chunk, suspect = [], False
                        size = self._chunk(len(pending))
                        while pending and not pending[0][1] and len(chunk) < size:
                            chunk.append(pending.popleft()[0])
                    inflight[self._fn.remote(self._box, chunk)] = (chunk, suspect)
                    if suspect:
                        break
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    chunk, suspect = inflight.pop(ref)
                    try:
                        done: list[TaskResult] = ray.get(ref)
                    except ray.exceptions.WorkerCrashedError:
                        if suspect:
                            yield crash_result(chunk[0], "while running it")
                        else:
                            log.warning("a Ray worker died; retrying its runs one at a time")
                            pending.extendleft((t, True) for t in reversed(chunk))
                        continue
                    except ray.exceptions.RayError as exc:  # e.g. a result that won't unpickle
                        msg = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
                        for t in chunk:
                            yield TaskResult(t.run, t.key, error_row(msg))
                        continue
                    self._learn(done)
                    yield from done
        except BaseException:  # Ctrl-C or the consumer stopped: stop the running chunks now
            for ref in inflight:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # already finished or gone
                    log.debug("ray.cancel failed", exc_info=True)
            raise

    def close(self) -> None:
        """Let go of the context (Ray frees it once no worker holds it). Ray's pooled worker
        processes stay for the next sweep on the same runtime; a runtime this executor
        started is shut down."""
        self._box = []
        if self._started:
            self._started = False
            stop_ray()
