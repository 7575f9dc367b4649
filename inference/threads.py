"""Thread counts chosen by problem size and by the cores that are free.

Small tensor operations gain nothing from a second thread and lose several times over
when another process holds a core: every parallel region ends at a barrier that waits
for the descheduled peer. Loops of operations (AIS chains, Gibbs sweeps, training steps)
run inside :func:`threads_for`, which

* uses one thread when the loop's largest product is below :data:`SMALL_WORK`
  multiply-adds;
* otherwise uses torch's thread count, capped by the number of cores found idle
  (:func:`idle_cores`, Linux ``/proc/stat``: over the time since the previous reading
  when that is between 20 ms and 10 s old, else from the count of runnable threads at this
  instant; it never waits), so that a loop does not start more threads than there are
  free cores;

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
_MIN_SPAN, _MAX_SPAN = 0.02, 10.0  # a previous reading this old (seconds) gives an average over the span
_last: list = [None, -1.0, 0.0]  # ((idle, total) CPU times, when read, this process's CPU seconds then)


def _read_stat():
    """(idle + iowait, total) CPU times and the count of runnable threads, from /proc/stat."""
    with open("/proc/stat") as f:
        lines = f.read().splitlines()
    values = [int(x) for x in lines[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    running = next(int(line.split()[1]) for line in lines if line.startswith("procs_running"))
    return (idle, sum(values[:8])), running


def idle_cores() -> float | None:
    """Cores left idle by all processes, or ``None`` where this cannot be read (not Linux).

    Cores not used by other processes: averaged over the time since the previous call when
    that lies between 20 ms and 10 s (the idle share of all cores, plus what this process
    itself used meanwhile), otherwise the cores minus the threads runnable now (less this
    one). Never sleeps."""
    now, own = time.monotonic(), time.process_time()
    try:
        times, running = _read_stat()
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    cores = os.cpu_count() or 1
    before, when, own_before = _last
    _last[:] = [times, now, own]
    if before is not None and _MIN_SPAN <= now - when <= _MAX_SPAN and times[1] > before[1]:
        idle = cores * (times[0] - before[0]) / (times[1] - before[1])
        return min(float(cores), idle + (own - own_before) / (now - when))
    return float(min(cores, max(0, cores - (running - 1))))


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
