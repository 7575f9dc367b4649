"""Each rank's share of the data: :class:`Shard`, over torch's ``DistributedSampler``.

Every epoch all ranks draw the same permutation of the n rows (the sampler's generator
seeded with ``seed + epoch``, :meth:`~torch.utils.data.DistributedSampler.set_epoch`) and
rank r takes the positions r, r + W, r + 2W, ... of it. When W does not divide n the
sampler repeats the first rows of the permutation so that every rank holds ⌈n / W⌉ rows
and takes the same number of steps (a collective per step needs every rank).
:meth:`Shard.gather` puts per-row results of the ranks back in the rows' order and drops
that padding.
"""

from __future__ import annotations

import torch
from torch.utils.data import DistributedSampler

__all__ = ["Shard", "map_rows"]


class Shard:
    """This rank's rows of an n-row data set.

    Parameters
    ----------
    n : int
        Rows of the (whole) data, the same on every rank.
    replicas : Replicas
    seed : int, default 0
        The permutations' seed, the same on every rank.
    shuffle : bool, default True
        ``False``: rank r takes rows r, r + W, ... in order (evaluation).

    Attributes
    ----------
    size : int
        Rows per rank, ⌈n / W⌉.
    """

    def __init__(self, n: int, replicas, seed: int = 0, shuffle: bool = True):
        if type(n) is not int or n < 1:
            raise ValueError(f"Shard: n must be an int >= 1 (the rows of the data), got {n!r}")
        self.n, self.replicas = n, replicas
        self._sampler = DistributedSampler(range(n), num_replicas=replicas.world_size, rank=replicas.rank,
                                           shuffle=shuffle, seed=seed, drop_last=False)
        self.size = self._sampler.num_samples

    def indices(self, epoch: int = 0, device=None) -> torch.Tensor:
        """This rank's row indices for ``epoch`` (int64, shape (size,))."""
        self._sampler.set_epoch(epoch)
        return torch.tensor(list(self._sampler), dtype=torch.int64, device=device)

    def gather(self, values: torch.Tensor, epoch: int = 0) -> torch.Tensor:
        """The per-row ``values`` (size, ...) of every rank's :meth:`indices` (``epoch``)
        as one tensor (n, ...) in the rows' order, the sampler's padding dropped."""
        if values.shape[0] != self.size:
            raise ValueError(f"Shard.gather: values must have one row per row of this rank ({self.size}), "
                             f"got shape {tuple(values.shape)}")
        world = self.replicas.world_size
        parts = self.replicas.gather(values.detach().cpu())
        rows = self.replicas.gather(self.indices(epoch, "cpu"))
        out = torch.empty((self.n, *values.shape[1:]), dtype=values.dtype)
        for r, (part, index) in enumerate(zip(parts, rows)):
            kept = r + world * torch.arange(self.size) < self.n  # a position past n is the sampler's padding
            out[index[kept]] = part[kept]
        return out.to(values.device)


def map_rows(fn, data: torch.Tensor, replicas):
    """``fn(rows)`` over all rows of ``data``, split across ``replicas``.

    On one process (``replicas`` None) it is ``fn(data)``. In a data-parallel run each rank
    applies ``fn`` to its rows r, r + W, ... (:class:`Shard` without shuffling) and the
    per-row results, a tensor or a tuple of tensors with one entry per row, are gathered back
    in the rows' order without the sampler's padding (:meth:`Shard.gather`): every rank
    returns the whole data set's results.
    """
    if replicas is None:
        return fn(data)
    shard = Shard(data.shape[0], replicas, shuffle=False)
    out = fn(data[shard.indices(0, data.device)])
    return tuple(shard.gather(t) for t in out) if isinstance(out, tuple) else shard.gather(out)
