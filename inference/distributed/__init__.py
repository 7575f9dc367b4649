"""Data-parallel training on ``torch.distributed``: one model replica per process, each
on its own shard of the data, gradients averaged before every optimizer step.

* :class:`Replicas`, :func:`joined` — the process group (gloo on the CPU, nccl on CUDA);
* :func:`average_gradients` — the optimizer's step averages ``.grad`` over the ranks
  first (contrastive rules write it by hand, so DDP's hooks would miss it);
* :class:`Shard` — each rank's rows per epoch, from torch's ``DistributedSampler``;
* :func:`gather_states`, :func:`scatter_states` — per-rank generators and persistent
  chains in checkpoints.

:func:`inference.fit` uses them with ``distributed=True``, or by itself under ``torchrun``.
"""

from .gradients import average_gradients
from .group import Replicas, joined, launch_rank, launched, rank_seed, resolve
from .rank_state import gather_states, scatter_states
from .shard import Shard, map_rows

__all__ = ["Replicas", "Shard", "average_gradients", "gather_states", "joined", "launch_rank", "launched", "map_rows",
           "rank_seed", "resolve", "scatter_states"]
