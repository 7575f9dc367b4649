"""Thread counts chosen by problem size.

Small tensor operations gain nothing from a second thread and lose several times over
when another process holds a core (threads that wait at barriers for a descheduled
peer). Loops of small operations (AIS chains, Gibbs sweeps, training steps of a small
model) run inside :func:`threads_for`, which uses one thread below a size threshold and
restores torch's setting afterwards.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["SMALL_WORK", "threads_for", "n_threads_for"]

#: Multiply-adds of a loop's largest matrix product below which one thread is used
#: (a 100 x 64 x 20 product is 1.3e5; a 100 x 784 x 500 one is 3.9e7).
SMALL_WORK = 2_000_000


def n_threads_for(work: int) -> int:
    """The thread count for a loop whose largest operation costs ``work`` multiply-adds:
    1 below :data:`SMALL_WORK`, else torch's current setting."""
    return 1 if work < SMALL_WORK else torch.get_num_threads()


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
