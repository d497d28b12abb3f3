"""Tests for dropout_kit.course.worker: where the grading child processes come from."""

import multiprocessing

import torch

from dropout_kit.course import worker

WAIT = 60  # seconds; the child starts and computes in a few


def _parallel_sum(queue) -> None:
    """In the child: one torch operation big enough to run on an OpenMP thread team."""
    torch.set_num_threads(2)
    queue.put(float(torch.ones(4_000_000, dtype=torch.float32).double().sum()))


def _run_in_child(context) -> tuple[bool, object]:
    torch.set_num_threads(2)
    torch.ones(4_000_000, dtype=torch.float32).double().sum()  # this process's OpenMP team is now started
    queue = context.SimpleQueue()
    child = context.Process(target=_parallel_sum, args=(queue,))
    child.start()
    child.join(WAIT)
    hung = child.is_alive()
    if hung:
        child.kill()
        child.join()
    return hung, (None if hung or queue.empty() else queue.get())


def test_a_child_computes_in_parallel_after_the_caller_did():
    """Does a grading child run a parallel torch operation after its caller ran one (lesson 05's judge trains)?

    A plain fork hangs there (GNU OpenMP is not fork-safe): with ``multiprocessing.get_context("fork")``
    in place of ``worker.context()`` this test fails on the course's machines, and a whole lesson
    once failed as a timeout because tests had used torch before grading.
    """
    hung, total = _run_in_child(worker.context())
    assert not hung, "the grading child hung at its first parallel torch operation"
    assert total == 4_000_000.0


def test_the_context_is_never_a_plain_fork():
    """Is the start method a forkserver (or spawn where there is none), never fork?"""
    method = worker.context().get_start_method()
    assert method == ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
