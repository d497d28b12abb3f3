"""Running many trainings for ``tuning``: in this process, or in worker processes with one thread each."""

from __future__ import annotations

import functools
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

from dropout_kit.runs import train_runs
from dropout_kit.train import History

_WORKER_DATA = None  # the data of a worker process, sent once by _init_worker


def _portable(data):
    """``Splits`` as plain tuples of tensors for the trip to a worker process.

    Pickling a dataclass makes ``copyreg`` write ``__slotnames__`` onto its class; plain tuples
    leave the caller's classes as they were.
    """
    if hasattr(data, "train") and hasattr(data, "val"):
        test = getattr(data, "test", None)
        return ("splits", tuple(data.train), tuple(data.val), None if test is None else tuple(test))
    return ("plain", data)


def _restore(portable):
    if portable[0] == "plain":
        return portable[1]
    from dropout_kit.data import Split, Splits

    _, train, val, test = portable
    return Splits(train=Split(*train), val=Split(*val), test=Split(*test) if test is not None else None)


def _init_worker(portable) -> None:
    global _WORKER_DATA
    # One thread per process: several small networks in parallel beat one network on many
    # threads, and oversubscribed thread pools slow everything down badly on a busy machine.
    torch.set_num_threads(1)
    _WORKER_DATA = _restore(portable)


def _run_job(job: dict, data=None) -> History:
    """One training run: a fresh model for ``job["p"]``, seeded by ``job["seed"]``."""
    data = _WORKER_DATA if data is None else data
    if job.get("train_idx") is not None:  # a cross-validation fold of one split
        X, y = data
        data = ((X[job["train_idx"]], y[job["train_idx"]]), (X[job["val_idx"]], y[job["val_idx"]]))
    [history] = train_runs(functools.partial(job["make_model"], job["p"]), data, seeds=[job["seed"]],
                           weight_decay=job["weight_decay"], **job["fit_kwargs"])
    return history


def execute(jobs: list[dict], data, workers: int, done: Callable[[int, History], None]) -> list[History]:
    """Run every job, in this process (workers=1) or in ``workers`` processes; histories in job order.

    ``done(i, history)`` is called as each job finishes. Every run is seeded by its job alone,
    and worker processes compute with one thread, so the results do not depend on
    ``workers`` (tested); only the wall time does. Each job's ``fit_kwargs`` carry the device,
    resolved by the caller, so every worker trains where this process would (one GPU is
    shared by all workers).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    results: list = [None] * len(jobs)
    if workers == 1 or len(jobs) < 2:
        for i, job in enumerate(jobs):
            results[i] = _run_job(job, data)
            done(i, results[i])
        return results
    try:
        pickle.dumps(jobs[0]["make_model"])
    except Exception:
        raise ValueError("with workers > 1, make_model must be importable by another process "
                         "(build_mlp, a class, or functools.partial of one), not a lambda or a "
                         "function defined in the notebook; or use workers=1") from None
    context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has started threads
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=_init_worker, initargs=(_portable(data),)) as pool:
        futures = {pool.submit(_run_job, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            done(i, results[i])
    return results
