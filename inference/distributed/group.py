r"""The process group a data-parallel run trains in: :class:`Replicas` and :func:`joined`.

A data-parallel run starts one process per replica of the model (``torchrun
--nproc_per_node N``, or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``
and ``MASTER_PORT``). Each process holds a full copy of the model and trains it on its own
shard of the data; after every backward pass the gradients are averaged across the
processes, so every replica takes the same optimizer step

.. math:: g = \frac{1}{W} \sum_{r=0}^{W-1} g_r ,

which, for losses that are means over equally sized per-process batches, is the gradient
of the mean over the concatenated batch. :class:`Replicas` is this process's view of the
group (its rank, the group's size) with the few collectives the trainers need, all from
``torch.distributed``; :func:`joined` opens the group from the launcher's environment and
destroys it when the run ends, also on an error.

The CPU uses the ``gloo`` backend; CUDA models ``nccl`` (written, not exercised by the
tests, which run on CPUs only).
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["Replicas", "joined", "launched", "launch_rank", "resolve"]

_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _dist():
    import torch.distributed as dist

    return dist


def launched() -> bool:
    """Whether a launcher started this process as one of several (``WORLD_SIZE`` > 1 in the
    environment, as ``torchrun`` sets it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def launch_rank() -> int:
    """This process's rank as the launcher's environment gives it (``RANK``; 0 when not
    launched as one of several): which process of ``pgm fit`` under ``torchrun`` writes."""
    return int(os.environ.get("RANK", "0")) if launched() else 0


class Replicas:
    """This process's place among the replicas of a data-parallel run.

    Parameters
    ----------
    group : torch.distributed.ProcessGroup, optional
        Default: the default group (``init_process_group`` must have run).

    Attributes
    ----------
    rank : int
        This process's rank in the group, 0 … ``world_size`` − 1.
    world_size : int
    is_main : bool
        Rank 0: the process that writes history, checkpoints and outputs.
    """

    def __init__(self, group=None):
        dist = _dist()
        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError("Replicas: no process group: call torch.distributed.init_process_group first "
                             "(or launch with torchrun, which fit joins by itself)")
        self.group = group
        self.rank, self.world_size = dist.get_rank(group), dist.get_world_size(group)
        self.is_main = self.rank == 0
        self._src = dist.get_global_rank(group, 0) if group is not None else 0

    def __repr__(self):
        return f"Replicas(rank={self.rank}, world_size={self.world_size})"

    def seed(self, seed: int | None) -> int | None:
        """This rank's seed: ``seed + rank`` (``None`` stays ``None``: each rank draws its own)."""
        return None if seed is None else seed + self.rank

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and floating-point buffers into every rank's ``module``,
        in place (integer and boolean buffers, masks and counters, are set by construction)."""
        self.broadcast(module.state_dict().values())

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Copy rank 0's floating-point buffers (running statistics) into every rank's
        ``module``, in place, as ``DistributedDataParallel`` does before each forward."""
        self.broadcast(module.buffers())

    def broadcast(self, tensors) -> None:
        """Rank 0's values of the floating-point ``tensors`` on every rank, in place."""
        dist = _dist()
        with torch.no_grad():
            for tensor in tensors:
                if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                    dist.broadcast(tensor, self._src, group=self.group)

    def average_grads(self, params) -> None:
        """Replace each parameter's ``.grad`` by its mean over the ranks, one ``all_reduce``
        per dtype and device. A parameter without a gradient counts as zero on that rank,
        and receives the mean where any rank has one."""
        dist, by_kind = _dist(), {}
        for p in params:
            if p.grad is not None and p.grad.layout != torch.strided:
                raise TypeError(f"average_grads: only dense gradients are averaged, got a {p.grad.layout} one")
            by_kind.setdefault((p.dtype, p.device), []).append(p)
        for (dtype, device), ps in by_kind.items():
            flags = torch.tensor([p.grad is not None for p in ps], dtype=dtype, device=device)
            flat = torch.cat([*(p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in ps),
                              flags])
            dist.all_reduce(flat, group=self.group)
            flat.div_(self.world_size)
            offset, had = 0, flat[-len(ps):].tolist()
            for p, share in zip(ps, had):
                mean = flat[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
                if share > 0:
                    if p.grad is None:
                        p.grad = mean.clone()
                    else:
                        p.grad.copy_(mean)

    def average(self, tensors: list) -> list:
        """The element-wise means over the ranks of ``tensors`` (same shapes, dtype and
        device on every rank), as new tensors, in one ``all_reduce``."""
        if not tensors:
            return []
        flat = torch.cat([t.reshape(-1) for t in tensors])
        _dist().all_reduce(flat, group=self.group)
        flat.div_(self.world_size)
        return [part.view_as(t) for part, t in zip(flat.split([t.numel() for t in tensors]), tensors)]

    def mean(self, values: dict) -> dict:
        """``values`` with each float entry replaced by its mean over the ranks (other
        entries, the same on every rank, as they are)."""
        keys = [k for k, v in values.items() if isinstance(v, float)]
        if not keys:
            return dict(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self._device())
        _dist().all_reduce(t, group=self.group)
        return {**values, **dict(zip(keys, (t / self.world_size).tolist()))}

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank."""
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        _dist().all_reduce(t, group=self.group)
        return bool(t.item() > 0)

    def gather(self, obj) -> list:
        """``obj`` of every rank, in rank order (pickled: for small state such as chains)."""
        out = [None] * self.world_size
        _dist().all_gather_object(out, obj, group=self.group)
        return out

    def barrier(self) -> None:
        _dist().barrier(group=self.group)

    def _device(self):
        return torch.device("cuda", torch.cuda.current_device()) if _dist().get_backend(self.group) == "nccl" \
            else torch.device("cpu")


def rank_seed(seed: int | None, replicas) -> int | None:
    """This process's seed for its own draws: ``seed`` on one process (``replicas`` None),
    ``seed + rank`` in a group (:meth:`Replicas.seed`)."""
    return seed if replicas is None else replicas.seed(seed)


def resolve(distributed, where: str = "fit") -> bool:
    """Whether a run is data-parallel: ``distributed`` as given (True/False), or for
    ``None`` whether a process group of several ranks is open or a launcher's environment
    says so (:func:`launched`)."""
    if distributed is not None and not isinstance(distributed, bool):
        raise TypeError(f"{where}: distributed must be None (detect a launcher such as torchrun), True or False, "
                        f"got {type(distributed).__name__} {distributed!r}")
    if distributed is False:
        return False
    dist = _dist()
    if distributed is None:
        if not dist.is_available():
            return False
        return (dist.is_initialized() and dist.get_world_size() > 1) or launched()
    if not dist.is_available():
        raise ValueError(f"{where}: distributed=True but this torch has no torch.distributed; install a build "
                         "with it or pass distributed=False")
    if not dist.is_initialized():
        missing = [name for name in _ENV if name not in os.environ]
        if missing:
            raise ValueError(f"{where}: distributed=True needs a process group, but none is open and the "
                             f"environment lacks {missing}; launch with `torchrun --nproc_per_node N ...` (which "
                             "sets RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or call "
                             "torch.distributed.init_process_group first")
    return True


@contextlib.contextmanager
def joined(distributed, device, where: str = "fit"):
    """The run's :class:`Replicas` inside the block, or ``None`` for a single-process run.

    A group that is not open yet is opened from the environment (``gloo`` on the CPU,
    ``nccl`` for a CUDA ``device``: that one untested here) and destroyed when the block
    ends, also on an error; a group the caller opened is left open.
    """
    if not resolve(distributed, where):
        yield None
        return
    dist = _dist()
    opened = False
    if not dist.is_initialized():
        device = torch.device(device)
        backend = "gloo"
        if device.type == "cuda":  # untested: CI has no GPU
            backend = "nccl"
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", device.index or 0)))
        dist.init_process_group(backend=backend, init_method="env://")
        opened = True
    try:
        yield Replicas()
    finally:
        if opened:
            dist.destroy_process_group()
