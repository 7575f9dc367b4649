r"""Greedy layer-wise training of a deep belief net (Hinton, Osindero & Teh 2006).

For l = 1, …, L the RBM over (h_{l−1}, h_l) is trained by :func:`inference.fit` (CD-k by
default) on the layer below as the recognition net sees it: the data for l = 1, then the
up-pass of the data through the layers already trained. Once trained, a lower RBM's
weights become both the generative weights W_l and the transposed recognition weights
R_l = W_lᵀ; the last one is the DBN's top RBM. The up-pass propagates either the
posterior means q(h_l = 1 | ·) themselves (``propagate="mean"``, the default: the next RBM
is trained on probabilities) or one binary draw per example and layer
(``propagate="sample"``, drawn once from the run's seed).

Each added layer can only raise the variational bound when the new RBM starts at the
transposed weights of the layer below and models the sampled posterior exactly (Hinton
et al. 2006); ``evaluate`` measures the test bound after every layer to see how far that
holds in practice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import torch

from models.directed import DBN
from models.energy import RBM
from pgm.checks import check_bool, check_choice, check_int, check_model, check_seed

from ..distributed import joined
from ..evaluation import log_likelihood
from ..learning.fit import check_shorthand
from ..mcmc.sampling import make_generator
from ..partition import check_enumerable
from ..partition.exact import enumeration_set
from ..partition.named import split_log_partition
from ..training.options import as_checkpoint
from .likelihood import dbn_log_likelihood, set_dbn_prior, top_log_partition

__all__ = ["GreedyHistory", "fit_greedy"]

_EXACT_PRIOR_UNITS = 20  # after training, dbn.prior gets an exact log Z up to this many enumerated units


class GreedyHistory(NamedTuple):
    """What :func:`fit_greedy` did, layer by layer.

    Attributes
    ----------
    layers : list of History
        The :func:`inference.fit` history of each RBM, bottom-up.
    bounds : list of dict
        With ``evaluate``: after layer l, the test log-likelihood of the model made of the
        first l layers: ``{"layer", "log_z", "log_z_lower", "log_z_upper", "estimate",
        "estimate_lower", "estimate_upper", "bound", "bound_lower", "bound_upper"}``. For
        l = 1 (an RBM) the estimate and the bound are its log-likelihood −F(v) − log Z;
        above, the K-sample importance estimate and the ELBO with the up-pass as
        proposal (:func:`inference.dbn.dbn_log_likelihood`).
    """

    layers: list
    bounds: list

    def as_dict(self) -> dict:
        return {"layers": [h.as_dict() for h in self.layers], "bounds": list(self.bounds)}

    def last(self) -> dict:
        """The last layer's final history row, with its bound when there is one."""
        row = dict(self.layers[-1].last())
        if self.bounds:
            row.update({k: v for k, v in self.bounds[-1].items() if k != "layer"})
        return row

    @property
    def epoch(self) -> list:
        return self.layers[-1].epoch


def _layer_path(checkpoint, l):
    path = Path(os.fspath(checkpoint))
    return path.with_name(f"{path.stem}.layer{l}{path.suffix}")


def _truncated(dbn: DBN, l: int, top: RBM) -> DBN:
    """The DBN of the first l layers, ``top`` as its top RBM (l ≥ 2)."""
    part = DBN(dbn.sizes[:l + 1], weight_std=dbn.weight_std).to(dtype=dbn.dtype, device=dbn.device)
    with torch.no_grad():
        for i in range(l - 1):
            part.generative[i].load_state_dict(dbn.generative[i].state_dict())
            part.recognition[i].load_state_dict(dbn.recognition[i].state_dict())
        part.top.load_state_dict(top.state_dict())
    return part


def fit_greedy(dbn: DBN, data: torch.Tensor, *, method: str | None = "greedy", layer_method: str = "cd",
               epochs: int = 50, batch_size: int = 20, seed: int | None = 0, propagate: str = "mean",
               evaluate: str | None = None, eval_data: torch.Tensor | None = None, n_samples: int = 1000,
               ais_options: dict | None = None, checkpoint=None, resume=False, callbacks=(),
               progress: bool = True, distributed=None, **options) -> GreedyHistory:
    r"""Train a :class:`models.DBN` layer by layer, each RBM by :func:`inference.fit`.

    Parameters
    ----------
    dbn : models.DBN
        Trained in place; ``dbn.prior`` is set at the end (:func:`set_dbn_prior`), with
        the last evaluated log Z, else an exact one when the top RBM has at most 20 units
        on its smaller side, else none (the prior then samples but has no ``log_prob``).
    data : Tensor, shape (n, n_visible)
        Binary (or [0, 1]) training data.
    method : "greedy" or None
        The only method (``inference.fit(dbn, ..., method="greedy")``).
    layer_method : {"cd", "pcd", "pt", "sml"}, default "cd"
        The learning rule of each RBM (``fit``'s ``method``).
    epochs, batch_size : int
        Per layer.
    seed : int or None, default 0
        Layer l is trained with seed ``seed + l - 1``; ``propagate="sample"`` draws from
        ``seed``.
    propagate : {"mean", "sample"}, default "mean"
        What the next RBM is trained on: the up-pass probabilities, or one binary draw of
        them per example.
    evaluate : None, "exact", "ais" or "auto"
        After each layer, the test log-likelihood of the first l layers on ``eval_data``
        (default ``data``; binary; ignored without ``evaluate``), the top RBM's log Z exact or by AIS
        (``ais_options``, keywords of :func:`inference.ais_log_partition`; 100 chains
        on the default 14,500-step schedule unless they say otherwise), or ``"auto"``:
        exact where the layer's RBM enumerates at most 20 units, AIS otherwise. K =
        ``n_samples`` importance draws.
    checkpoint : path, optional
        Layer l is checkpointed by ``fit`` to ``<stem>.layer<l><suffix>``; with ``resume``
        (True or "auto") each layer continues from its file (a finished layer is not
        trained again); ``True`` needs the first layer's file, and a layer above it whose
        file was not written yet (the run stopped between two layers) starts afresh.
    callbacks : callable or sequence
        ``fit``'s callbacks, for every layer.
    progress : bool, default True
        ``fit``'s bar for every layer.
    distributed : bool or None, default None
        Every layer's ``fit`` data-parallel over one ``torch.distributed`` group, opened
        once for the whole stack (:mod:`inference.distributed`); ``None`` joins one when a
        launcher such as ``torchrun`` set the environment. Each rank propagates all rows
        (with the same draws) to the next layer.
    **options
        Further keywords of :func:`inference.fit` (``k``, ``lr``, ``momentum``, ...).

    Returns
    -------
    GreedyHistory

    Examples
    --------
    >>> from models import DBN
    >>> data = torch.bernoulli(torch.full((100, 6), 0.3), generator=torch.Generator().manual_seed(0))
    >>> dbn = DBN([6, 4, 3], seed=0)
    >>> hist = fit_greedy(dbn, data, epochs=2, monitor=0, progress=False, evaluate="exact", n_samples=20)
    >>> [row["layer"] for row in hist.bounds]
    [1, 2]
    """
    from ..learning import fit

    where = "fit(method='greedy')"
    check_model(dbn, DBN, where, what="a models.DBN")
    if method not in (None, "greedy"):
        raise ValueError(f"fit: method must be 'greedy' or 'up_down' for a DBN (each greedy layer's learning "
                         f"rule is layer_method), got {method!r}")
    check_choice(layer_method, "layer_method", ("cd", "pcd", "pt", "sml"), "fit")
    check_choice(propagate, "propagate", ("mean", "sample"), "fit")
    check_choice(evaluate, "evaluate", (None, "exact", "ais", "auto"), "fit")
    epochs, batch_size = check_int(epochs, "epochs"), check_int(batch_size, "batch_size")
    n_samples = check_int(n_samples, "n_samples")
    seed = check_seed(seed, "fit")
    check_bool(progress, "progress", "fit")
    data = _unit_data(dbn, data)
    if data.shape[0] == 0:
        raise ValueError("fit: data has no rows")
    if evaluate is not None:
        eval_data = dbn.check_data(data if eval_data is None else eval_data, "eval_data")
        if evaluate == "exact":
            for l in range(1, dbn.n_layers + 1):
                check_enumerable(RBM(dbn.sizes[l - 1], dbn.sizes[l]),
                                 func=f"{where}: evaluate='exact' for layer {l}: exact_log_partition")
    check_shorthand(options)  # each layer's fit options (lr, eval_every...), refused before the first layer
    if checkpoint is not None:
        checkpoint = as_checkpoint(checkpoint, options.get("checkpoint_every", 1), resume).path
    elif resume:
        raise ValueError("fit: resume needs checkpoint=<path of the checkpoint file>")

    layers, bounds, x, est = [], [], data, None
    gen = make_generator(seed, dbn.device)
    with joined(distributed, dbn.device, "fit") as replicas:  # one process group for all the layers' fits
        for l in range(1, dbn.n_layers + 1):
            rbm = dbn.layer_rbm(l)
            rbm.init_visible_bias(x)
            layer_seed = None if seed is None else seed + l - 1
            ckpt = {} if checkpoint is None else {"checkpoint": _layer_path(checkpoint, l),
                                                  "resume": _resume(resume, l)}
            layers.append(fit(rbm, x, method=layer_method, epochs=epochs, batch_size=batch_size, seed=layer_seed,
                              callbacks=callbacks, progress=progress, distributed=replicas is not None, **ckpt,
                              **options))
            if l < dbn.n_layers:
                dbn.set_layer(l, rbm)
                with torch.no_grad():
                    x = torch.sigmoid(rbm.hidden_logits(x))
                    if propagate == "sample":
                        x = torch.bernoulli(x, generator=gen)
            if evaluate is not None:
                bounds.append(_evaluate(dbn, l, rbm, evaluate, eval_data, data, n_samples, seed, ais_options,
                                        replicas))
                est = bounds[-1]["_log_z"]
                del bounds[-1]["_log_z"]
        if est is None:  # the prior's log Z: the top RBM's states split over the ranks
            _, units = enumeration_set(dbn.top)
            est = split_log_partition(dbn.top, "exact", replicas) if units <= _EXACT_PRIOR_UNITS else None
    set_dbn_prior(dbn, est)
    return GreedyHistory(layers, bounds)


def _resume(resume, l):
    """Layer l's ``resume``: as given for the first layer; ``"auto"`` above it (when
    resuming), so that a run stopped after a finished layer, before the next one wrote its
    checkpoint, keeps the finished layers and starts the next one afresh."""
    return resume if l == 1 or not resume else "auto"


def _unit_data(dbn, data):
    from pgm.checks import check_units

    return check_units(data, "data", dbn.n_visible, unit_interval=True, dtype=dbn.dtype, device=dbn.device)


def _evaluate(dbn, l, rbm, evaluate, eval_data, train_data, n_samples, seed, ais_options, replicas):
    """Layer ``l``'s row of the history: the stack's log-likelihood so far (layer 1: the
    RBM's, exact; above: the importance estimate and its ELBO), log Z split over the ranks
    of a data-parallel run's ``replicas`` (states or chains) and the rows likewise."""
    if evaluate == "auto":
        evaluate = "exact" if enumeration_set(rbm)[1] <= _EXACT_PRIOR_UNITS else "ais"
    if l == 1:
        opts = {} if evaluate == "exact" else {"n_chains": 100, "progress": False, "seed": seed, "data": train_data,
                                              **(ais_options or {})}
        lz = split_log_partition(rbm, evaluate, replicas, **opts)
        ll = log_likelihood(rbm, eval_data, lz, distributed=replicas is not None)
        row = {"estimate": ll.mean, "estimate_lower": ll.lower, "estimate_upper": ll.upper,
               "bound": ll.mean, "bound_lower": ll.lower, "bound_upper": ll.upper}
    else:
        part = _truncated(dbn, l, rbm)
        lz = top_log_partition(part, evaluate, data=train_data, replicas=replicas,
                               ais_options={"seed": seed, **(ais_options or {})} if evaluate == "ais" else None)
        est = dbn_log_likelihood(part, eval_data, lz, n_samples=n_samples, seed=seed,
                                 distributed=replicas is not None)
        row = {"estimate": est.mean, "estimate_lower": est.lower, "estimate_upper": est.upper,
               "bound": est.elbo, "bound_lower": est.elbo_lower, "bound_upper": est.elbo_upper}
    return {"layer": l, "log_z": lz.log_z, "log_z_lower": lz.lower, "log_z_upper": lz.upper, **row, "_log_z": lz}
