r"""Training stacked autoencoders: greedy layer-wise, then fine-tuning end to end or with labels.

* ``fit_stacked(stack, data, method="greedy")`` trains layer l by
  :func:`~inference.autoencoders.fit_autoencoder` on the clean codes of the layers below
  (the data for l = 1), each in its variant (denoising, sparse, contractive);
* ``method="finetune"`` trains every layer at once on the deep reconstruction loss
  −log P(x | g_1(… g_L(h_L(x̃)))) with the bottom layer's corruption of x;
* :func:`stacked_classifier` puts the encoder stack under a softmax layer, a
  :class:`~inference.dbn.DBNClassifier` of the same shape (sigmoid layers), for
  :func:`~inference.dbn.discriminative_finetune` on labels — the same recipe as the DBN's
  discriminative fine-tuning, so the two initialisations compare directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import torch

from pgm.checks import check_bool, check_capable, check_choice, check_int

from ..dbn.classifier import DBNClassifier
from ..distributed import joined, map_rows
from ..mcmc.sampling import make_generator
from ..training import OptimizerTrainer, check_callbacks, monitor_subset, run_epochs
from ..training.options import as_checkpoint
from .train import AutoencoderHistory, fit_autoencoder

__all__ = ["StackedHistory", "fit_stacked", "stacked_classifier"]


class StackedHistory(NamedTuple):
    """What :func:`fit_stacked` did: ``layers``, the history of each layer (greedy), or
    ``finetune``, the end-to-end history."""

    layers: list
    finetune: AutoencoderHistory | None = None

    def as_dict(self) -> dict:
        return {"layers": [h.as_dict() for h in self.layers],
                "finetune": None if self.finetune is None else self.finetune.as_dict()}

    def last(self) -> dict:
        return (self.finetune or self.layers[-1]).last()

    @property
    def epoch(self) -> list:
        return (self.finetune or self.layers[-1]).epoch


def _layer_path(checkpoint, l):
    path = Path(os.fspath(checkpoint))
    return path.with_name(f"{path.stem}.layer{l}{path.suffix}")


def fit_stacked(stack, data: torch.Tensor, *, method: str = "greedy", epochs: int = 50, batch_size: int = 20,
                lr: float = 1e-3, seed: int | None = 0, checkpoint=None, checkpoint_every: int = 1, resume=False,
                callbacks=(), progress: bool = True, distributed=None, **options) -> StackedHistory:
    """Train a :class:`~models.autoencoders.StackedAutoencoder`.

    Parameters
    ----------
    stack : StackedAutoencoder
        Trained in place.
    data : Tensor, shape (n, n_0)
    method : {"greedy", "finetune"}, default "greedy"
    epochs, batch_size, lr : per layer (greedy) or for the whole stack (finetune)
    seed : int or None, default 0
        Layer l is trained with ``seed + l - 1``.
    checkpoint : path, optional
        Greedy: layer l to ``<stem>.layer<l><suffix>`` (a finished layer is not trained
        again on resume); finetune: the path itself.
    distributed : bool or None, default None
        Each layer's fit (greedy) or the end-to-end one (finetune) data-parallel:
        training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`); ``None`` joins one when a launcher such as
        ``torchrun`` set the environment.
    **options
        Greedy: further keywords of :func:`fit_autoencoder` (``method`` of each layer as
        ``layer_method``, ``walkback``, ``sparsity_decay``, ``monitor``...). Finetune:
        ``monitor`` alone, the rows of the fixed subset whose reconstruction error each
        epoch records ("auto", the default: n / 20, 100 to 1000; 0: none).

    Returns
    -------
    StackedHistory
    """
    check_capable(stack, ("check_data", "layers", "encode", "decode", "log_prob", "decode_to_first"), "fit",
                  "a stack of autoencoders such as a models.StackedAutoencoder")
    check_choice(method, "method", ("greedy", "finetune"), "fit")
    if seed is not None:
        check_int(seed, "seed", 0, "fit")
    data = stack.check_data(data, "data")
    if method == "finetune":
        unknown = sorted(set(options) - {"monitor"})
        if unknown:
            raise TypeError(f"fit: method 'finetune' of a stacked autoencoder does not take {unknown}")
        check_int(epochs, "epochs", 1, "fit"), check_int(batch_size, "batch_size", 1, "fit")
        check_bool(progress, "progress", "fit")
        monitor = options.get("monitor", "auto")
        if monitor != "auto":
            check_int(monitor, "monitor", 0, "fit")
        with joined(distributed, stack.device, "fit") as replicas:  # the process group, closed at the end
            trainer = _FineTuner(stack, data, batch_size, lr, seed, monitor).distribute(replicas)
            history = run_epochs(trainer, epochs, checkpoint=as_checkpoint(checkpoint, checkpoint_every, resume),
                                 callbacks=check_callbacks(callbacks), progress=progress)
        return StackedHistory([], history)
    layer_method = options.pop("layer_method", None)
    as_checkpoint(checkpoint, checkpoint_every, resume)  # refuse resume without a checkpoint up front
    layers, x = [], data
    with joined(distributed, stack.device, "fit") as replicas:  # one process group for all the layers' fits
        for l, layer in enumerate(stack.layers, 1):
            ckpt = {} if checkpoint is None else {"checkpoint": _layer_path(checkpoint, l), "resume": resume,
                                                  "checkpoint_every": checkpoint_every}
            layers.append(fit_autoencoder(layer, x, method=layer_method, epochs=epochs, batch_size=batch_size, lr=lr,
                                          seed=None if seed is None else seed + l - 1, callbacks=callbacks,
                                          progress=progress, distributed=replicas is not None, **ckpt, **options))
            with torch.no_grad():
                x = layer.encode(x)
    return StackedHistory(layers)


class _FineTuner(OptimizerTrainer):
    """End-to-end training of a stack on the deep reconstruction loss."""

    desc = "fit finetune"
    postfix = {"loss": "loss", "recon_error": "recon"}

    def __init__(self, stack, data, batch_size, lr, seed, monitor="auto"):
        super().__init__(stack, data, torch.optim.Adam(stack.parameters(), lr=lr), make_generator(seed, stack.device),
                         {"method": "finetune", "batch_size": batch_size, "lr": lr, "seed": seed})
        self.batch_size, self._lr = batch_size, lr
        self.subset = monitor_subset(data, monitor)
        self.history = AutoencoderHistory()

    def train_epoch(self, epoch: int) -> dict:
        stack, data, total, perm = self.model, self.data, 0.0, self.order(epoch)
        corrupt = stack.layers[0].corruption
        for batch in perm.split(self.batch_size):
            x = data[batch]
            x_in = x if corrupt is None else corrupt.sample(x, self.gen)
            self.opt.zero_grad(set_to_none=True)
            loss = -stack.log_prob(x, stack.encode(x_in)).mean()
            loss.backward()
            self.opt.step()
            total += float(loss.detach()) * x.shape[0]
        return {"loss": total / perm.shape[0], "lr": self._lr}

    @torch.no_grad()
    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        def errors(x):  # in a data-parallel run each rank reconstructs its rows r, r + W, ...
            return (self.model.decode(self.model.encode(x)) - x).double().square().sum(-1)

        err = None if self.subset is None else float(map_rows(errors, self.subset, self.replicas).mean())
        return {"recon_error": err, "denoise_error": None, "mean_activation": None, "contraction": None,
                "eval_recon_error": None, "eval_denoise_error": None}


def stacked_classifier(stack, n_classes: int, *, seed: int | None = None) -> DBNClassifier:
    """A sigmoid MLP with a softmax output layer whose hidden layers are ``stack``'s
    encoders (W_l, b_l), ready for :func:`~inference.dbn.discriminative_finetune`; the
    output layer is drawn from ``seed`` as :class:`~inference.dbn.DBNClassifier` draws it."""
    if any(layer.activation != "sigmoid" for layer in stack.layers):
        raise ValueError("stacked_classifier: the classifier's hidden layers are sigmoid units; the stack has "
                         f"{[layer.activation for layer in stack.layers]} layers")
    clf = DBNClassifier(stack.sizes, n_classes, seed=seed).to(dtype=stack.dtype, device=stack.device)
    with torch.no_grad():
        for mine, layer in zip(clf.hidden_layers, stack.layers):
            mine.weight.copy_(layer.W)
            mine.bias.copy_(layer.b)
    return clf

