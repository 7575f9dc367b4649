r"""Greedy layer-wise training of a convolutional DBN (Lee, Grosse, Ranganath & Ng 2009).

The first conv RBM is trained on the images by :func:`inference.learning.fit` (CD-k by
default); the second on the first layer's pooling-unit probabilities P(p1 = 1 | v), which
stay fixed while it trains. Each layer runs in the one epoch loop, with its own checkpoint
``<stem>.layer<l><suffix>`` and bit-identical resume.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from models.directed import ConvDBN
from pgm.checks import check_choice, check_model, check_seed

from ..dbn.greedy import GreedyHistory
from ..distributed import joined
from ..learning.fit import check_shorthand
from ..training.options import as_checkpoint

__all__ = ["fit_conv_dbn"]


def _layer_path(checkpoint, l):
    path = Path(os.fspath(checkpoint))
    return path.with_name(f"{path.stem}.layer{l}{path.suffix}")


def fit_conv_dbn(model: ConvDBN, data: torch.Tensor, *, method: str | None = "greedy", layer_method: str = "cd",
                 epochs: int = 20, batch_size: int = 20, seed: int | None = 0, checkpoint=None, resume=False,
                 callbacks=(), progress: bool = True, distributed=None, **options) -> GreedyHistory:
    r"""Train a :class:`models.ConvDBN` layer by layer, each conv RBM by :func:`inference.learning.fit`.

    Parameters
    ----------
    model : models.ConvDBN
        Trained in place.
    data : Tensor, shape (n, H·W)
        Binary (or [0, 1]) images.
    method : "greedy" or None
        The only method.
    layer_method : {"cd", "pcd"}, default "cd"
        Each layer's learning rule.
    epochs, batch_size : int
        Per layer.
    seed : int or None, default 0
        Layer l is trained with seed ``seed + l − 1``.
    checkpoint : path, optional
        Layer l is checkpointed to ``<stem>.layer<l><suffix>``; with ``resume`` (True or
        "auto") each layer continues from its file (a finished layer is not trained again;
        above the first, a layer whose file was not written yet starts afresh).
    callbacks, progress
        :func:`inference.learning.fit`'s, for every layer.
    distributed : bool or None, default None
        Both layers' fits data-parallel over one ``torch.distributed`` group, opened once
        (:mod:`inference.distributed`); ``None`` joins one when a launcher such as
        ``torchrun`` set the environment.
    **options
        Further keywords of :func:`inference.learning.fit` (``k``, ``lr``, ``momentum``...).

    Returns
    -------
    GreedyHistory
        The two layers' histories (no bounds).
    """
    from ..learning import fit

    check_model(model, ConvDBN, "fit(method='greedy')", what="a models.ConvDBN")
    if method not in (None, "greedy"):
        raise ValueError(f"fit: method must be 'greedy' for a ConvDBN (each layer's learning rule is "
                         f"layer_method), got {method!r}")
    check_choice(layer_method, "layer_method", ("cd", "pcd"), "fit")
    seed = check_seed(seed, "fit")
    data = model.check_data(data, "data", binary=False)
    if data.shape[0] == 0:
        raise ValueError("fit: data has no rows")
    check_shorthand(options)
    if checkpoint is not None:
        checkpoint = as_checkpoint(checkpoint, options.get("checkpoint_every", 1), resume).path
    elif resume:
        raise ValueError("fit: resume needs checkpoint=<path of the checkpoint file>")
    layers, x = [], data
    with joined(distributed, data.device, "fit") as replicas:  # one process group for both layers' fits
        for l, layer in enumerate(model.layers, start=1):
            with torch.no_grad():
                layer.init_visible_bias(x)
            ckpt = {} if checkpoint is None else {
                "checkpoint": _layer_path(checkpoint, l), "resume": resume if l == 1 or not resume else "auto"}
            layers.append(fit(layer, x, method=layer_method, epochs=epochs, batch_size=batch_size,
                              seed=None if seed is None else seed + l - 1, callbacks=callbacks, progress=progress,
                              distributed=replicas is not None, **ckpt, **options))
            if l == 1:
                x = model.up_pass(data)
    return GreedyHistory(layers, [])
