"""Where and how often a run is checkpointed: :class:`Checkpoint`."""

from __future__ import annotations

from dataclasses import dataclass

from pgm.checks import check_choice, check_int, check_output_file

__all__ = ["Checkpoint", "as_checkpoint", "check_run_options", "make_optimizer"]


@dataclass(frozen=True)
class Checkpoint:
    """Atomic, resumable checkpoints of a run.

    Parameters
    ----------
    path : str or PathLike
        File rewritten atomically every ``every`` epochs and at the end.
    every : int, default 1
    resume : bool or "auto", default False
        Continue from ``path``: ``True`` requires it to exist, ``"auto"`` starts afresh
        when it does not. The run must use the same data and settings (checked;
        ``epochs`` may grow). A resumed run ends with the same parameters as an
        uninterrupted one on the same backend; resuming on another backend continues
        validly, with a warning that it is no longer bit-identical.
    """

    path: object
    every: int = 1
    resume: object = False

    def __post_init__(self):
        check_output_file(self.path, "checkpoint", "fit")  # before any training: a folder that exists or can be made
        object.__setattr__(self, "every", check_int(self.every, "checkpoint_every", 1, "fit"))
        check_choice(self.resume, "resume", (False, True, "auto"), "fit")


def as_checkpoint(checkpoint, every: int = 1, resume=False, where: str = "fit") -> Checkpoint | None:
    """A trainer's ``checkpoint``, ``checkpoint_every`` and ``resume`` keywords as one
    :class:`Checkpoint` (or ``None``); ``resume`` without a checkpoint is a ValueError."""
    if checkpoint is None:
        if resume:
            raise ValueError(f"{where}: resume needs checkpoint=<path of the checkpoint file>")
        return None
    return checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint, every, resume)


def check_run_options(*, epochs, batch_size, eval_every, lr, weight_decay, seed, monitor, progress,
                      where: str = "fit") -> tuple[float, float]:
    """The options every minibatch trainer shares, checked before anything changes:
    ``epochs``, ``batch_size``, ``eval_every`` positive ints, ``lr`` > 0, ``weight_decay``,
    ``seed`` (None or an int ≥ 0), ``monitor`` ("auto" or an int ≥ 0), ``progress`` a bool;
    returns ``(lr, weight_decay)`` as floats."""
    from pgm.checks import check_bool, check_float

    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("eval_every", eval_every)):
        check_int(value, name, 1, where)
    lr = check_float(lr, "lr", 0.0, low_open=True, where=where)
    weight_decay = check_float(weight_decay, "weight_decay", where=where)
    if seed is not None:
        check_int(seed, "seed", 0, where)
    if monitor != "auto":
        check_int(monitor, "monitor", 0, where)
    check_bool(progress, "progress", where)
    return lr, weight_decay


def make_optimizer(params, optimizer, lr: float, weight_decay: float, where: str = "fit"):
    """``(optimizer, name)``: ``optimizer(params, lr=lr, weight_decay=weight_decay)`` (Adam by
    default) and its class's name for the run's settings; TypeError for anything that is
    not a torch optimizer class."""
    import torch

    cls = torch.optim.Adam if optimizer is None else optimizer
    if not callable(cls):
        raise TypeError(f"{where}: optimizer must be a torch.optim.Optimizer class, got {optimizer!r}")
    opt = cls(params, lr=lr, weight_decay=weight_decay)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"{where}: optimizer(params, lr=..., weight_decay=...) must return a torch.optim.Optimizer, "
                        f"got {type(opt).__name__}")
    return opt, getattr(cls, "__qualname__", type(opt).__qualname__)
