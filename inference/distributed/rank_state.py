"""Per-rank state in a data-parallel run's checkpoint: :func:`gather_states`, :func:`scatter_states`.

Most of a run's state is the same on every rank (the parameters, the optimizer's moments,
the schedule, the parameter averages) and is written once, by rank 0, in the single-process
layout, so that one process can resume it. What each rank holds for itself — its random
generators and its persistent chains (PCD, SML, PT) — is gathered, in rank order, into the
checkpoint's ``"ranks"`` entry::

    {"world_size": W, "<part>": [state of rank 0, ..., state of rank W-1], ...}

On resume rank r takes entry r of each list. A run on more ranks than wrote the file gives
the extra ranks fresh state (a reseeded generator; chains started again at their first
batch) and a run on fewer ranks leaves the surplus unused; both warn that the run continues
validly but not as an uninterrupted one would. A single-process checkpoint is a one-rank
run.
"""

from __future__ import annotations

import warnings

__all__ = ["gather_states", "scatter_states"]


def gather_states(trainer, replicas) -> dict:
    """The ``"ranks"`` entry: every rank's state of ``trainer.rank_parts`` (a collective:
    every rank calls it)."""
    parts = trainer.parts()
    mine = {name: parts[name].state() for name in trainer.rank_parts}
    every = replicas.gather(mine)
    return {"world_size": replicas.world_size, **{name: [s[name] for s in every] for name in trainer.rank_parts}}


def scatter_states(saved, trainer, replicas, where: str, bad) -> None:
    """Load this rank's entry of ``saved`` (the ``"ranks"`` entry, or ``None`` for a
    single-process checkpoint, whose own entries are rank 0's and are loaded already).

    ``bad(entry)`` gives the function that raises the file's ValueError for a malformed entry.
    """
    parts, rank = trainer.parts(), replicas.rank
    if saved is None:
        written = 1
    else:
        written = saved.get("world_size") if isinstance(saved, dict) else None
        if type(written) is not int or written < 1 or any(
                not isinstance(saved.get(name), list) or len(saved[name]) != written for name in trainer.rank_parts):
            raise bad("ranks")(f"must hold world_size and one list of that length for each of "
                               f"{list(trainer.rank_parts)}")
    now = replicas.world_size
    if written != now and replicas.is_main:
        what = (f"ranks {written} to {now - 1} start with fresh generators and chains" if now > written else
                f"the generators and chains of ranks {now} to {written - 1} are dropped (each process keeps "
                "its own n_chains)")
        warnings.warn(f"{trainer.where}: {where!r} was written by {written} process(es) and resumes on {now}: "
                      f"{what}; the run continues validly but not as an uninterrupted one would", stacklevel=5)
    if saved is None and rank == 0:
        return
    for name in trainer.rank_parts:
        if rank < written:
            state = saved[name][rank]
            if parts[name].check is not None:
                parts[name].check(state, bad(name))
            parts[name].load(state)
        else:
            trainer.fresh_state(name)
