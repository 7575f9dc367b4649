"""A feature network of our own for sample-quality scores: a small classifier whose
penultimate activations are the features (``inference.evaluation.quality``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_int, check_units

from .parameters import ParameterInfo

__all__ = ["FeatureNet"]


class FeatureNet(ParameterInfo, nn.Module):
    """An MLP classifier x → ReLU layers → K logits; :meth:`features` is its last hidden layer.

    Parameters
    ----------
    n_inputs : int, default 64
    n_classes : int, default 10
    hidden : sequence of int, default (128, 64)
    seed : int, optional
        Seed of the initialisation (torch's default for ``nn.Linear``).
    """

    def __init__(self, n_inputs: int = 64, n_classes: int = 10, hidden=(128, 64), seed: int | None = None):
        super().__init__()
        n_inputs = check_int(n_inputs, "n_inputs", 1, "FeatureNet")
        n_classes = check_int(n_classes, "n_classes", 2, "FeatureNet")
        hidden = [check_int(h, f"hidden[{i}]", 1, "FeatureNet") for i, h in enumerate(hidden)]
        if not hidden:
            raise ValueError("FeatureNet: hidden must list at least one layer size")
        self.n_inputs, self.n_classes, self.hidden, self.seed = n_inputs, n_classes, hidden, seed
        gen_state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(check_int(seed, "seed", 0, "FeatureNet"))
        try:
            sizes = [n_inputs, *hidden]
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
            self.output = nn.Linear(sizes[-1], n_classes)
        finally:
            if seed is not None:
                torch.random.set_rng_state(gen_state)

    def config(self) -> dict:
        return {"n_inputs": self.n_inputs, "n_classes": self.n_classes, "hidden": self.hidden, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        return check_units(x, name, self.n_inputs, dtype=self.dtype, device=self.device)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, shape (n, hidden[-1])."""
        h = x
        for layer in self.layers:
            h = F.relu(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each row, shape (n,)."""
        return self(self.check_data(x)).argmax(-1)
