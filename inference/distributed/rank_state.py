"""Per-rank state in a data-parallel run's checkpoint: :func:`gather_states`, :func:`scatter_states`.

Most of a run's state is the same on every rank (the parameters, the optimizer's moments,
the schedule, the parameter averages) and is written once, by rank 0, in the single-process
layout, so that one process can resume it. What each rank holds for itself — its random
generators and its persistent chains (PCD, SML, PT) — is gathered, in rank order, into the
checkpoint's ``"ranks"`` entry::

    {"world_size": W, "<part>": [state of rank 0, ..., state of rank W-1], ...}

On resume rank r takes entry r of each list. A run on more ranks than wrote the file gives
the extra ranks fresh state (a reseeded generator; chains started again at their first
batch). A run on fewer ranks, W' < W (one process included), folds the surplus ranks'
persistent chains in: rank r takes the chains of the old ranks r, r + W', r + 2W', ...,
concatenated (:attr:`~inference.training.checkpointer.Part.fold`; PT joins them
temperature by temperature, so every chain keeps its ladder). Each rank then runs more
chains than ``n_chains``: its negative phase averages over all of them, an estimate of the
same model expectation with less variance, and none of the chains' progress is lost. The
surplus ranks' other per-rank state (random generators, a sparse autoencoder's running
activation) is dropped: a generator's stream cannot be merged into another's, and each
remaining rank keeps its own. Both cases warn that the run continues validly but not as an
uninterrupted one would. A single-process checkpoint is a one-rank run.
"""

from __future__ import annotations

__all__ = ["gather_states", "scatter_states"]


def gather_states(trainer, replicas) -> dict:
    """The ``"ranks"`` entry: every rank's state of ``trainer.rank_parts`` (a collective:
    every rank calls it)."""
    parts = trainer.parts()
    mine = {name: parts[name].state() for name in trainer.rank_parts}
    every = replicas.gather(mine)
    return {"world_size": replicas.world_size, **{name: [s[name] for s in every] for name in trainer.rank_parts}}


def scatter_states(saved, trainer, replicas, where: str, bad) -> str | None:
    """Load this rank's entry of ``saved`` (the ``"ranks"`` entry, or ``None`` for a
    single-process checkpoint, whose own entries are rank 0's and are loaded already);
    ``replicas=None``: a single process, rank 0 of one.

    A part of ``trainer.rank_parts`` with a :attr:`~inference.training.checkpointer.Part.fold`
    (persistent chains) on rank r of W' < W takes the fold of the entries r, r + W',
    r + 2W', ...; one without (a generator) takes entry r alone.

    ``bad(entry)`` gives the function that raises the file's ValueError for a malformed entry.

    Returns
    -------
    str or None
        On rank 0, when the checkpoint was written by another number of processes: what
        became of the ranks' state, for the caller to warn with; otherwise ``None``.
    """
    parts = trainer.parts()
    rank, now, main = (0, 1, True) if replicas is None else (replicas.rank, replicas.world_size, replicas.is_main)
    if saved is None:
        written = 1
    else:
        written = saved.get("world_size") if isinstance(saved, dict) else None
        if type(written) is not int or written < 1 or any(
                not isinstance(saved.get(name), list) or len(saved[name]) != written for name in trainer.rank_parts):
            raise bad("ranks")(f"must hold world_size and one list of that length for each of "
                               f"{list(trainer.rank_parts)}")
    note = _note(trainer, parts, where, written, now) if written != now and main else None
    if saved is None and rank == 0:
        return note
    for name in trainer.rank_parts:
        if rank >= written:
            trainer.fresh_state(name)
            continue
        part = parts[name]
        own = range(rank, written, now) if part.fold is not None else (rank,)
        states = [saved[name][r] for r in own]
        if part.check is not None:
            for state in states:
                part.check(state, bad(name))
        state = states[0] if len(states) == 1 else part.fold(states)
        if len(states) > 1 and part.check is not None:
            part.check(state, bad(name))
        part.load(state)
    return note


def _note(trainer, parts, where, written, now) -> str:
    """The warning of a resume on another number of processes."""
    procs = f"{written} process{'es' if written > 1 else ''}"
    if now > written:
        what = f"ranks {written} to {now - 1} start with fresh generators and chains"
    else:
        folded = [name for name in trainer.rank_parts if parts[name].fold is not None]
        dropped = [name for name in trainer.rank_parts if parts[name].fold is None]
        surplus = f"rank {now}" if written == now + 1 else f"ranks {now} to {written - 1}"
        what = "; ".join(
            ([f"the {', '.join(folded)} state of {surplus} is folded in (persistent chains: rank r takes those of "
              f"the old ranks r, r + {now}, ..., more chains per process than n_chains)"] if folded else []) +
            ([f"the {', '.join(dropped)} state of {surplus} is dropped (it is not folded: a random generator's "
              "stream cannot be merged into another's, and each remaining rank keeps its own)"] if dropped else []))
    return (f"{trainer.where}: {where!r} was written by {procs} and resumes on {'one' if now == 1 else now}: "
            f"{what}; the run continues validly but not as an uninterrupted one would")
