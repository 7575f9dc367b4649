r"""Exact log Z with the enumerated states split across the ranks: :func:`split_exact_log_partition`.

:func:`~inference.partition.exact_log_partition` sums e^{−F(x_S)} over the T states of its
enumeration set S in chunks. Here rank r of W takes the contiguous range of states
[⌊rT / W⌋, ⌊(r + 1)T / W⌋), reduces it to one ``logsumexp``, and the ranks' partial sums are
gathered and combined,

.. math:: \log Z = \operatorname{logsumexp}_r \, \operatorname{logsumexp}_{x_S \in \text{range}_r} (-F(x_S)),

so every rank returns the same exact value (up to the order of the float64 additions).
"""

from __future__ import annotations

import math

import torch

from pgm.checks import validation_disabled

from ..distributed import Replicas
from .estimate import LogZEstimate
from .exact import MAX_EXACT_UNITS, _float64_copy, _slots, check_enumerable, enumerate_states

__all__ = ["split_exact_log_partition", "state_range"]


def state_range(total: int, rank: int, world_size: int) -> tuple[int, int]:
    """``(start, stop)``: the states of rank ``rank``, ⌊rT / W⌋ to ⌊(r + 1)T / W⌋."""
    return total * rank // world_size, total * (rank + 1) // world_size


def split_exact_log_partition(model, chunk_size: int = 2**16, *, max_units: int = MAX_EXACT_UNITS,
                              replicas=None) -> LogZEstimate:
    """Exact log Z of ``model``, each rank enumerating its range of the states.

    Every rank of the group calls it with the same arguments and receives the same
    estimate. Arguments as :func:`~inference.partition.exact_log_partition`; ``replicas``
    (:class:`~inference.distributed.Replicas`) defaults to the open default group.

    Returns
    -------
    LogZEstimate
        ``log_z = lower = upper``, ``method = "exact"``.
    """
    func = "split_exact_log_partition"
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"{func}: chunk_size must be a positive int, got {chunk_size!r}")
    replicas = Replicas() if replicas is None else replicas
    chosen, _ = check_enumerable(model, max_units, func)
    model64 = _float64_copy(model)
    total = math.prod(r for g in chosen for r in _slots(model, g))
    first, last = state_range(total, replicas.rank, replicas.world_size)
    parts = [torch.tensor(-math.inf, dtype=torch.float64)]  # an empty range adds nothing
    with torch.no_grad(), validation_disabled():
        for start in range(first, last, chunk_size):
            state = enumerate_states(model, chosen, start, min(start + chunk_size, last), model64.device)
            parts.append(torch.logsumexp(-model64.free_energy_given(state).to(torch.float64), 0).cpu())
        mine = torch.logsumexp(torch.stack(parts), 0)
    log_z = float(torch.logsumexp(torch.stack(replicas.gather(mine)), 0))
    return LogZEstimate(log_z, log_z, log_z, math.inf, 0, "exact")
