"""Thread counts chosen by problem size and by the cores that are free.

Small tensor operations gain nothing from a second thread and lose several times over
when another process holds a core: every parallel region ends at a barrier that waits
for the descheduled peer. Loops of operations (AIS chains, Gibbs sweeps, training steps)
run inside :func:`threads_for`, which

* uses one thread when the loop's largest product is below :data:`SMALL_WORK`
  multiply-adds;
* otherwise uses torch's thread count, capped by the number of cores found idle over a
  short sample (:func:`idle_cores`, Linux ``/proc/stat``; 50 ms, at most once a second),
  so that a loop does not start more threads than there are free cores;

and restores torch's setting afterwards.
"""

from __future__ import annotations

import contextlib
import os
import time

import torch

__all__ = ["SMALL_WORK", "threads_for", "n_threads_for", "idle_cores", "graph_work"]

#: Multiply-adds of a loop's largest matrix product below which one thread is used
#: (a 100 x 64 x 20 product is 1.3e5; a 100 x 784 x 500 one is 3.9e7).
SMALL_WORK = 2_000_000
_SAMPLE_SECONDS = 0.05
_REUSE_SECONDS = 1.0
_last: list = [None, -1.0]  # (idle cores, when measured)


def _cpu_times():
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    values = [int(x) for x in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return idle, sum(values[:8])


def idle_cores() -> float | None:
    """Cores left idle by all processes over the last ~50 ms, or ``None`` where this
    cannot be read (not Linux). Measured at most once a second."""
    now = time.monotonic()
    if _last[0] is not None and now - _last[1] < _REUSE_SECONDS:
        return _last[0]
    try:
        idle0, total0 = _cpu_times()
        time.sleep(_SAMPLE_SECONDS)
        idle1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    cores = os.cpu_count() or 1
    value = cores * (idle1 - idle0) / (total1 - total0)
    _last[:] = [value, time.monotonic()]
    return value


def graph_work(graph, rows: int) -> int:
    """Multiply-adds of the largest product in a sweep over ``graph`` for ``rows`` chains or
    examples: ``rows`` × the largest product of two coupled groups' sizes (or of a
    group's own size)."""
    sizes = [graph[e.src].n_units * graph[e.dst].n_units for e in graph.edges]
    sizes += [g.n_units for g in graph.groups]
    return rows * max(sizes)


def n_threads_for(work: int) -> int:
    """The thread count for a loop whose largest operation costs ``work`` multiply-adds:
    1 below :data:`SMALL_WORK`, else torch's setting capped by the idle cores (at least 1)."""
    threads = torch.get_num_threads()
    if work < SMALL_WORK or threads == 1:
        return 1
    idle = idle_cores()
    if idle is None:
        return threads
    return max(1, min(threads, int(idle + 0.5)))


@contextlib.contextmanager
def threads_for(work: int):
    """Run the block with :func:`n_threads_for` ``(work)`` torch threads, then restore."""
    before = torch.get_num_threads()
    wanted = n_threads_for(work)
    if wanted == before:
        yield before
        return
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(before)
