"""Running independent tasks in parallel: in this process, on worker processes, or on Dask.

A batch of scenario runs and a sensitivity sweep are both a list of independent
tasks, each a pure function of its arguments (a run's seed is in its arguments),
so the results do not depend on where or in what order the tasks run.  This
module only schedules them:

- ``workers=1`` and no scheduler: one after the other in this process;
- ``workers=N``: ``N`` worker processes (``concurrent.futures`` with *spawn*, so
  no worker inherits a half-made state from this one);
- ``scheduler="local"``: a ``dask.distributed.LocalCluster`` of ``N`` processes;
- ``scheduler="tcp://host:8786"``: the Dask cluster at that address.

A task that raises does not stop the others: its outcome is a :class:`Failed`
with the error.  Progress (tqdm) is shown on a terminal unless ``quiet``.
"""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from simlib.errors import UserError


@dataclass(frozen=True)
class Failed:
    """A task that raised: the error in one line, and the traceback for a log."""

    error: str
    traceback: str = ""


def guarded(fn: Callable[..., Any], item: Any) -> Any:
    """``fn(item)``, or a :class:`Failed` with the error (run on the worker)."""
    try:
        return fn(item)
    except Exception as e:
        return Failed(f"{type(e).__name__}: {e}", traceback.format_exc())


def progress_bar(total: int, desc: str, quiet: bool = False, unit: str = "run") -> Any:
    """A tqdm bar on stderr; silent when ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
    )


def map_tasks(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    desc: str = "",
    quiet: bool = False,
    unit: str = "run",
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, outcome)`` for every item as its task completes.

    ``fn`` must be a module-level function (it is pickled to the workers); an
    outcome is what ``fn`` returned, or a :class:`Failed`.
    """
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    with progress_bar(len(items), desc, quiet, unit) as bar:
        for index, outcome in _schedule(fn, items, workers, scheduler):
            bar.update(1)
            yield index, outcome


def _schedule(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int, scheduler: str | None
) -> Iterator[tuple[int, Any]]:
    if scheduler is not None:
        yield from _on_dask(fn, items, workers, scheduler)
    elif workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, guarded(fn, item)
    else:
        yield from _on_processes(fn, items, workers)


def _on_processes(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int
) -> Iterator[tuple[int, Any]]:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=context)
    try:
        futures: dict[Future, int] = {
            pool.submit(guarded, fn, item): i for i, item in enumerate(items)
        }
        for future in as_completed(futures):
            yield futures[future], _outcome(future)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future) -> Any:
    """The task's result, or a Failed if its worker died (out of memory, killed)."""
    try:
        return future.result()
    except Exception as e:
        return Failed(f"worker failed: {type(e).__name__}: {e}")


def _on_dask(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int, scheduler: str
) -> Iterator[tuple[int, Any]]:
    from distributed import as_completed as dask_completed

    with dask_client(scheduler, workers) as client:
        futures = [client.submit(guarded, fn, item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures):
            try:
                outcome = future.result()
            except Exception as e:  # the worker was lost
                outcome = Failed(f"dask task failed: {type(e).__name__}: {e}")
            yield index[future.key], outcome


@contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a new local cluster for ``"local"``."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=10)
    except OSError as e:
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    with client:
        yield client
