r"""AIS with its chains split across the ranks of a process group: :func:`split_ais_log_partition`.

The M chains of :func:`~inference.partition.ais_log_partition` are independent, so W
processes can each run a share of them: rank r runs M_r = ⌊M / W⌋ chains (one more for
r < M mod W) from its own generator, seeded ``seed + r``, and the log-weights of all ranks
are gathered in rank order and combined as one estimate,

.. math:: \log \hat Z = \log Z_0 + \operatorname{logsumexp}_m \log w_m - \log M ,

never by averaging the ranks' log Ẑ (that would be a biased, smaller estimate). The result
equals a single process's estimate from the same chains (:func:`ais_chain_weights` of each
share, concatenated): the tests check it.
"""

from __future__ import annotations

import torch

from pgm.checks import check_int

from ..distributed import Replicas
from ..mcmc.sampling import make_generator
from ..threads import graph_work, threads_for
from .ais import _checked, _runner
from .estimate import LogZEstimate, from_log_weights
from .loop import progress_bar
from .path import log_z_start, start_state

__all__ = ["split_ais_log_partition", "ais_chain_weights", "chain_share", "gather_log_weights"]


def chain_share(n_chains: int, rank: int, world_size: int) -> int:
    """Chains of rank ``rank``: ⌊M / W⌋, one more for the first M mod W ranks."""
    return n_chains // world_size + (rank < n_chains % world_size)


def gather_log_weights(log_w: torch.Tensor, replicas) -> torch.Tensor:
    """The log-weights (M_r,) of every rank's chain share as one tensor (M,) on the CPU, in
    rank order (rank 0's chains first), the same on every rank: the weights an estimate
    combines by logsumexp over all M chains."""
    return torch.cat(replicas.gather(log_w.detach().cpu()))


def ais_chain_weights(model, n_chains: int, betas=None, base="data", data=None, seed: int | None = 0,
                      progress: bool = False, backend: str = "auto", func: str = "ais_chain_weights"):
    """``(log_w, log_z_0)``: the float64 log-weights (n_chains,) of ``n_chains`` AIS chains
    seeded ``seed`` and the base's log Z, the raw material of :func:`ais_log_partition`
    (same arguments), before the chains are combined."""
    path, _, betas = _checked(model, max(2, n_chains), betas, base, data, progress, backend, func)
    n_chains = check_int(n_chains, "n_chains", 1, func)
    gen = make_generator(seed, model.device)
    runner, model64 = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_chains)):
        state = start_state(path, n_chains, gen)
        log_z_0 = log_z_start(path, state, func, model64)
        log_w, _ = runner.run(state, betas.tolist(), gen, progress_bar(len(betas) - 1, "ais", progress))
    return log_w.to(torch.float64), log_z_0


def split_ais_log_partition(model, n_chains: int = 100, betas=None, base="data", data=None, seed: int | None = 0,
                            progress: bool = True, backend: str = "auto", replicas=None) -> LogZEstimate:
    """log Z of ``model`` by AIS, its ``n_chains`` chains split across the ranks.

    Every rank of the group calls it with the same arguments and receives the same
    estimate. Arguments as :func:`~inference.partition.ais_log_partition`; ``replicas``
    (:class:`~inference.distributed.Replicas`) defaults to the open default group.

    Returns
    -------
    LogZEstimate
        ``method="ais"``, over all ``n_chains`` chains.
    """
    func = "split_ais_log_partition"
    replicas = Replicas() if replicas is None else replicas
    n_chains = check_int(n_chains, "n_chains", max(2, replicas.world_size), func)
    share = chain_share(n_chains, replicas.rank, replicas.world_size)
    log_w, log_z_0 = ais_chain_weights(model, share, betas, base, data, replicas.seed(seed),
                                       progress and replicas.is_main, backend, func)
    return from_log_weights(gather_log_weights(log_w, replicas), log_z_0, "ais")
