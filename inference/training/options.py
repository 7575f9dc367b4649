"""Where and how often a run is checkpointed: :class:`Checkpoint`."""

from __future__ import annotations

from dataclasses import dataclass

from pgm.checks import check_choice, check_int, check_output_file

__all__ = ["Checkpoint", "as_checkpoint"]


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
