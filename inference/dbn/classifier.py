r"""The multilayer perceptron a deep belief net initialises (Goodfellow et al. 2016, §20.3).

The up-pass of a :class:`models.DBN` is a feed-forward net of logistic units. With a
softmax output layer on top it is a classifier:

.. math::

    h^{(1)} = \sigma(c^{(1)} + R_1 v), \quad
    h^{(l)} = \sigma(c^{(l)} + R_l h^{(l-1)}), \quad
    p(y = k \mid v) = \mathrm{softmax}(d + U h^{(L)})_k,

(Goodfellow et al. eqs. 20.22–20.23 with the softmax layer), where R_l, c^{(l)} are the
DBN's recognition weights and hidden biases for l < L (R_l = W_lᵀ after greedy
training) and R_L = Wᵀ, c^{(L)} = c those of the top RBM. Discriminative fine-tuning
(:func:`inference.dbn.discriminative_finetune`) trains all of it by cross-entropy.

The class lives beside the DBN's training code in ``inference/programs/`` rather than in
``models/``: it is not a generative model (no graph, no energy, no Pyro program), only the
DBN's recognition weights reused as a discriminative net, and it is made and trained only
here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.directed import DBN
from models.energy.class_rbm import _check_labels
from pgm.checks import check_int, check_model, check_seed, check_sizes, check_units

__all__ = ["DBNClassifier"]


class DBNClassifier(nn.Module):
    r"""A sigmoid MLP with a softmax output layer, of a DBN's shape.

    ``DBNClassifier(sizes, n_classes, seed=...)`` is randomly initialised;
    :meth:`from_dbn` copies a trained DBN's up-pass into the hidden layers. Both draw the
    output layer the same way from ``seed``, so a DBN-initialised net and a random one
    of the same seed differ only in their hidden layers.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the input up, ``[n_0, n_1, …, n_L]`` (L ≥ 1 hidden layers).
    n_classes : int
        Number of classes K ≥ 2 of the softmax output.
    seed : int, optional
        Seed of the initialisation: every layer (weights and biases) uniform in
        ±1/√fan_in, torch's default for ``nn.Linear``, drawn in order from the bottom;
        ``None`` draws from torch's global generator.

    Attributes
    ----------
    hidden_layers : nn.ModuleList
        ``hidden_layers[l - 1]`` maps h^{(l−1)} to the logits of h^{(l)} (h^{(0)} = v).
    output : nn.Linear
        h^{(L)} → the K class logits d + U h^{(L)}.

    Examples
    --------
    >>> clf = DBNClassifier([6, 4, 3], n_classes=2, seed=0)
    >>> clf.predict_proba(torch.ones(5, 6)).shape
    torch.Size([5, 2])
    """

    def __init__(self, sizes, n_classes: int, *, seed: int | None = None):
        super().__init__()
        sizes = check_sizes(sizes, "DBNClassifier", 2, "input and at least one hidden")
        self.n_classes = check_int(n_classes, "n_classes", 2, "DBNClassifier")
        seed = check_seed(seed, "DBNClassifier")
        self.sizes, self.seed, self.n_inputs = list(sizes), seed, sizes[0]
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.output = nn.Linear(sizes[-1], self.n_classes)
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for layer in [*self.hidden_layers, self.output]:
                bound = 1.0 / math.sqrt(layer.in_features)
                for p in (layer.weight, layer.bias):
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)

    @classmethod
    def from_dbn(cls, dbn: DBN, n_classes: int, *, seed: int | None = None) -> "DBNClassifier":
        """The MLP whose hidden layers are ``dbn``'s up-pass: R_l, c_l for l < L, then the
        top RBM's Wᵀ and c; the output layer drawn from ``seed`` (as in the constructor).
        ``dbn`` is not changed; the classifier has its own copy of the weights, on the
        DBN's dtype and device."""
        check_model(dbn, DBN, "DBNClassifier.from_dbn", "dbn", what="a models.DBN")
        clf = cls(dbn.sizes, n_classes, seed=seed).to(dtype=dbn.dtype, device=dbn.device)
        with torch.no_grad():
            for mine, up in zip(clf.hidden_layers, dbn.recognition):
                mine.weight.copy_(up.weight)
                mine.bias.copy_(up.bias)
            clf.hidden_layers[-1].weight.copy_(dbn.top.W.t())
            clf.hidden_layers[-1].bias.copy_(dbn.top.c)
        return clf

    def config(self) -> dict:
        return {"sizes": list(self.sizes), "n_classes": self.n_classes, "seed": self.seed}

    @property
    def dtype(self) -> torch.dtype:
        return self.output.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.output.weight.device

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` (n, n_inputs) with values in [0, 1] (binary pixels or probabilities), as a
        tensor of the classifier's dtype and device."""
        return check_units(x, name, self.n_inputs, unit_interval=True, dtype=self.dtype, device=self.device)

    def check_labels(self, labels, n: int, name: str = "labels", where: str = "DBNClassifier") -> torch.Tensor:
        """``labels``: an integer tensor (n,) of class indices in {0, …, n_classes − 1}."""
        return _check_labels(labels, name, self.n_classes, n, where).to(self.device)

    def hidden(self, x: torch.Tensor) -> list:
        """The hidden layers' probabilities ``[h1, …, hL]``, each (batch, n_l), from
        inputs ``x`` (batch, n_inputs); differentiable."""
        out, h = [], x
        for layer in self.hidden_layers:
            h = torch.sigmoid(layer(h))
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits d + U h^{(L)}, shape (batch, n_classes) (``x`` not checked)."""
        return self.output(self.hidden(x)[-1])

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy −(1/n) Σ log p(y_i | v_i), nats, differentiable."""
        x = self.check_data(x)
        return F.cross_entropy(self(x), self.check_labels(labels, x.shape[0], where="DBNClassifier.loss"))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """p(y = k | v), shape (batch, n_classes), rows summing to one."""
        return torch.softmax(self(self.check_data(x)), -1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each row, shape (batch,), int64."""
        return self(self.check_data(x)).argmax(-1)

    @torch.no_grad()
    def score(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        """Accuracy of :meth:`predict` against class indices ``labels`` (n,), in [0, 1]."""
        x = self.check_data(x)
        labels = self.check_labels(labels, x.shape[0], where="DBNClassifier.score")
        return float((self(x).argmax(-1) == labels).double().mean())
