"""What every trainer shares: the one epoch loop (:func:`run_epochs` over a
:class:`Trainer`), the one training checkpointer, the per-epoch record and the
:class:`Checkpoint` option."""

from . import checkpointer
from .checkpointer import Part, fingerprint
from .history import EpochTable
from .loop import OptimizerTrainer, Trainer, check_callbacks, monitor_subset, run_epochs, training_data
from .options import Checkpoint

__all__ = ["Checkpoint", "EpochTable", "OptimizerTrainer", "Part", "Trainer", "check_callbacks", "checkpointer",
           "fingerprint", "monitor_subset", "run_epochs", "training_data"]
