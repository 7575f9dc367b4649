r"""Discriminative fine-tuning: a deep belief net's up-pass trained as a classifier.

A DBN's weights initialise a :class:`~inference.dbn.DBNClassifier` (its up-pass
with a softmax layer on top, Goodfellow et al. 2016, eqs. 20.22–20.23), and every layer
is then trained with the labels by minibatch SGD with momentum on the cross-entropy

.. math::

    \ell(\theta) = -\frac1B \sum_{b=1}^{B} \log p_\theta(y_b \mid v_b)
        + \frac{\lambda}{2} \lVert \theta \rVert^2 ,

the gradients by backpropagation (autograd). Given a randomly initialised
``DBNClassifier`` of the same shape instead, the same recipe trains it from scratch,
which is the comparison that says what the generative pre-training bought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F

from models.directed import DBN
from models.energy.class_rbm import _check_labels
from pgm.checks import check_bool, check_float, check_int, check_model, check_seed, check_units

from ..training import Trainer, check_callbacks, run_epochs
from ..training.history import EpochTable
from ..mcmc.sampling import make_generator
from .classifier import DBNClassifier

__all__ = ["DiscriminativeHistory", "FineTuned", "discriminative_finetune"]

_WHERE = "discriminative_finetune"


@dataclass
class DiscriminativeHistory(EpochTable):
    """Per-epoch metrics of :func:`discriminative_finetune`, one list entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean training cross-entropy (nats) over the epoch's updates, as the weights moved.
    eval_loss, eval_accuracy : list[float | None]
        Cross-entropy and accuracy on ``eval_data`` after the epoch; ``None`` without it.
    lr : list[float]
    seconds : list[float]
        Training time of the epoch (without evaluation).
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    eval_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


class FineTuned(NamedTuple):
    """What :func:`discriminative_finetune` returns: the trained ``classifier``
    (:class:`DBNClassifier`) and its ``history`` (:class:`DiscriminativeHistory`)."""

    classifier: DBNClassifier
    history: DiscriminativeHistory


def discriminative_finetune(model, data: torch.Tensor, labels: torch.Tensor, *, n_classes: int | None = None,
                            epochs: int = 50, batch_size: int = 20, lr: float = 0.1, momentum: float = 0.9,
                            weight_decay: float = 0.0, seed: int | None = 0, eval_data: torch.Tensor | None = None,
                            eval_labels: torch.Tensor | None = None, callbacks=(), progress: bool = True) -> FineTuned:
    r"""Train a DBN's up-pass with a softmax output layer by cross-entropy on labelled data.

    Parameters
    ----------
    model : models.DBN or DBNClassifier
        A DBN (not changed): its up-pass initialises a new classifier
        (:meth:`DBNClassifier.from_dbn`, the output layer drawn from ``seed``). A
        ``DBNClassifier`` (e.g. ``DBNClassifier(dbn.sizes, 10, seed=0)``, randomly
        initialised) is trained in place.
    data : Tensor, shape (n, n_inputs)
        Inputs in [0, 1] (binary pixels, as the DBN was trained on).
    labels : integer Tensor, shape (n,)
        Class indices in {0, …, n_classes − 1}.
    n_classes : int, optional
        K, for a DBN; default ``labels.max() + 1``. For a classifier it must be its own
        ``n_classes`` (or ``None``).
    epochs : int, default 50
    batch_size : int, default 20
    lr : float, default 0.1
        SGD step size, constant.
    momentum : float, default 0.9
        SGD momentum in [0, 1).
    weight_decay : float, default 0
        λ, the L2 penalty on every weight and bias (SGD's ``weight_decay``).
    seed : int or None, default 0
        Seeds the output layer of a DBN's new classifier and the shuffling; the same seed
        reproduces a run.
    eval_data, eval_labels : Tensor, optional
        Held-out examples, given together, scored after every epoch.
    callbacks : callable or sequence
        ``callback(epoch, history, classifier)`` after each epoch; returning ``True`` stops.
    progress : bool, default True
        A bar over the epochs.

    Returns
    -------
    FineTuned
        ``(classifier, history)``: the trained :class:`DBNClassifier` (``predict``,
        ``predict_proba``, ``score``) and its :class:`DiscriminativeHistory`.

    Examples
    --------
    >>> from models import DBN
    >>> dbn = DBN([6, 4, 3], seed=0)
    >>> x = torch.bernoulli(torch.full((40, 6), 0.5), generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0).long()
    >>> clf, hist = discriminative_finetune(dbn, x, y, epochs=20, progress=False)
    >>> hist.loss[-1] < hist.loss[0], clf.predict(x).shape
    (True, torch.Size([40]))
    """
    check_model(model, (DBN, DBNClassifier), _WHERE, what="a models.DBN or a DBNClassifier")
    if isinstance(model, DBN):
        if n_classes is not None:
            n_classes = check_int(n_classes, "n_classes", 2, _WHERE)
        width, dtype, device = model.n_visible, model.dtype, model.device
    elif isinstance(model, DBNClassifier):
        if n_classes is not None and n_classes != model.n_classes:
            raise ValueError(f"{_WHERE}: n_classes must be the classifier's own ({model.n_classes}) or None, "
                             f"got {n_classes!r}")
        n_classes, width, dtype, device = model.n_classes, model.n_inputs, model.dtype, model.device
    else:
        raise TypeError(f"{_WHERE}: model must be a models.DBN or a DBNClassifier, got {type(model).__name__}")
    epochs, batch_size = check_int(epochs, "epochs", 1, _WHERE), check_int(batch_size, "batch_size", 1, _WHERE)
    lr = check_float(lr, "lr", 0.0, low_open=True, where=_WHERE)
    momentum = check_float(momentum, "momentum", 0.0, 1.0, high_open=True, where=_WHERE)
    weight_decay = check_float(weight_decay, "weight_decay", 0.0, where=_WHERE)
    seed = check_seed(seed, _WHERE)
    check_bool(progress, "progress", _WHERE)
    callbacks = check_callbacks(callbacks, _WHERE)
    data = check_units(data, "data", width, unit_interval=True, dtype=dtype, device=device)
    if data.shape[0] == 0:
        raise ValueError(f"{_WHERE}: data has no rows")
    if n_classes is None:  # a DBN without n_classes: K from the labels, at least two
        _check_labels(labels, "labels", 2**62, data.shape[0], _WHERE)
        n_classes = max(2, int(labels.max()) + 1)
    labels = _check_labels(labels, "labels", n_classes, data.shape[0], _WHERE).to(device)
    if (eval_data is None) != (eval_labels is None):
        raise ValueError(f"{_WHERE}: eval_data and eval_labels go together; got only "
                         f"{'eval_data' if eval_labels is None else 'eval_labels'}")
    if eval_data is not None:
        eval_data = check_units(eval_data, "eval_data", width, unit_interval=True, dtype=dtype, device=device)
        eval_labels = _check_labels(eval_labels, "eval_labels", n_classes, eval_data.shape[0], _WHERE).to(device)

    clf = DBNClassifier.from_dbn(model, n_classes, seed=seed) if isinstance(model, DBN) else model
    trainer = _FineTuner(clf, data, labels, eval_data, eval_labels, batch_size, lr, momentum, weight_decay,
                         make_generator(None if seed is None else seed + 1, device))
    clf.train()
    try:
        history = run_epochs(trainer, epochs, callbacks=callbacks, progress=progress)
    finally:
        clf.eval()
    return FineTuned(clf, history)


class _FineTuner(Trainer):
    """Discriminative fine-tuning in the epoch loop: SGD with momentum on the cross-entropy."""

    where, desc = _WHERE, "fine-tune"
    postfix = {"loss": "loss", "eval_accuracy": "acc"}

    def __init__(self, clf, data, labels, eval_data, eval_labels, batch_size, lr, momentum, weight_decay, gen):
        self.model, self.data, self.labels, self.eval_data, self.eval_labels = clf, data, labels, eval_data, eval_labels
        self.batch_size, self._lr, self.gen = batch_size, lr, gen
        self.opt = torch.optim.SGD(clf.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.history = DiscriminativeHistory()

    def lr(self) -> float:
        return self._lr

    def train_epoch(self, epoch: int) -> dict:
        clf, data, labels, total = self.model, self.data, self.labels, 0.0
        for batch in torch.randperm(data.shape[0], generator=self.gen, device=data.device).split(self.batch_size):
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(clf(data[batch]), labels[batch])
            loss.backward()
            self.opt.step()
            total += float(loss.detach()) * batch.numel()
        return {"loss": total / data.shape[0], "lr": self._lr}

    @torch.no_grad()
    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        if self.eval_data is None:
            return {"eval_loss": None, "eval_accuracy": None}
        logits = self.model(self.eval_data)
        return {"eval_loss": float(F.cross_entropy(logits, self.eval_labels)),
                "eval_accuracy": float((logits.argmax(-1) == self.eval_labels).double().mean())}
