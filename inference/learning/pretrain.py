r"""Greedy layer-wise pre-training of a deep Boltzmann machine (Salakhutdinov & Hinton 2009).

Each pair of adjacent layers (x_{l−1}, x_l) is trained as an RBM by CD-1 on the layer
below's mean activities, with the inputs a DBM layer receives from two sides made up for
by doubling:

* the first RBM doubles its bottom-up input, p(h1 | v) = σ(c + 2 W_1ᵀ v), p(v | h1) =
  σ(b + W_1 h1) — an RBM with two tied copies of v, since in the DBM h1 also hears h2;
* the last RBM doubles its top-down input, p(h_{L−1} | h_L) = σ(b + 2 W_L h_L);
* the RBMs in between double both directions, i.e. their weights are halved when they
  enter the DBM (trained as RBMs of weight 2 W_l).

The DBM then gets W_l, the visible bias of the first RBM, the top RBM's hidden bias, and
for each layer in between the mean of the hidden bias of the RBM below and the visible
bias of the RBM above. Joint training (``fit(dbm, data, method="sml")``) follows. A DBM
with one hidden layer is an RBM and is trained as one (no doubling).

With CD-1 each update of the doubled RBM is the gradient estimate of the tied-copy RBM,

.. math::

    \Delta W \propto \langle x_{l-1} h^\top \rangle_0 - \langle \hat x_{l-1} \hat h^\top \rangle_1,
    \quad h \sim \sigma(c + s_\uparrow W^\top x), \ \hat x = \sigma(b + s_\downarrow W h),

s↑, s↓ ∈ {1, 2} the up and down multipliers.

References
----------
R. Salakhutdinov and G. Hinton, "Deep Boltzmann machines", AISTATS 2009, §3.1.
R. Salakhutdinov and G. Hinton, "An efficient learning procedure for deep Boltzmann
machines", Neural Computation 24, 2012.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import DBM
from pgm.checks import check_int, check_model, check_units

from ..mcmc.sampling import make_generator
from ..training.loop import epoch_rows
from .options import check_float

__all__ = ["pretrain_dbm", "PretrainedLayer"]


class PretrainedLayer(NamedTuple):
    """One pre-trained RBM.

    Attributes
    ----------
    W : Tensor, shape (sizes[l-1], sizes[l])
        The RBM's weights (before halving).
    b, c : Tensor
        Its visible and hidden biases.
    up, down : int
        Multipliers of the bottom-up and top-down inputs (1 or 2).
    recon_error : list[float]
        Mean squared reconstruction error per epoch.
    """

    W: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    up: int
    down: int
    recon_error: list


def _scales(l: int, n_layers: int) -> tuple[int, int]:
    """(up, down) multipliers of the RBM between layers l−1 and l (l = 1 … L)."""
    if n_layers == 1:
        return 1, 1
    return (2 if l < n_layers else 1), (2 if l > 1 else 1)


def _train_rbm(x, n_hidden, up, down, epochs, batch_size, lr, momentum, weight_std, gen, bar, replicas=None,
               draws=None, shard=None, first_epoch=0):
    """CD-1 on the rows of ``x``; in a data-parallel run (``replicas``) each rank steps on
    its :class:`~inference.distributed.Shard` of them with its own ``draws`` and the
    gradients averaged over the ranks, so every rank holds the same weights."""
    n, n_vis = x.shape
    W = torch.randn(n_vis, n_hidden, generator=gen, dtype=x.dtype, device=x.device) * weight_std
    if replicas is not None:  # rank 0's draw (the same draw on every rank unless seed is None)
        replicas.broadcast([W])
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    b, c = torch.logit(p), torch.zeros(n_hidden, dtype=x.dtype, device=x.device)
    vel = [torch.zeros_like(t) for t in (W, b, c)]
    draws = gen if draws is None else draws
    errors = []
    for epoch in range(epochs):
        # in a data-parallel run the ranks share one permutation (seeded seed + epoch), each its every W-th row
        perm = epoch_rows(x, gen, shard, first_epoch + epoch)
        total = 0.0
        for idx in perm.split(batch_size):
            v0 = x[idx]
            h0 = torch.sigmoid(c + up * v0 @ W)
            h0s = torch.bernoulli(h0, generator=draws)
            v1 = torch.sigmoid(b + down * h0s @ W.t())
            h1 = torch.sigmoid(c + up * v1 @ W)
            m = v0.shape[0]
            grads = ((v0.t() @ h0 - v1.t() @ h1) / m, (v0 - v1).mean(0), (h0 - h1).mean(0))
            if replicas is not None:  # every rank takes the same number of steps (the sampler pads)
                grads = replicas.average(list(grads))
            mom = momentum if epoch >= min(5, epochs // 2) else 0.5 * momentum
            for t, g, vv in zip((W, b, c), grads, vel):
                vv.mul_(mom).add_(g, alpha=lr)
                t.add_(vv)
            total += float((v0 - v1).pow(2).sum())
        if replicas is None:
            errors.append(total / n)
        else:  # the ranks' shards hold the same number of rows
            errors.append(replicas.mean({"e": total / perm.shape[0]})["e"])
        bar.update(1)
    return W, b, c, errors


@torch.no_grad()
def pretrain_dbm(dbm: DBM, data: torch.Tensor, *, epochs: int = 20, batch_size: int = 20, lr: float = 0.05,
                 momentum: float = 0.9, seed: int | None = 0, progress: bool = True,
                 distributed=None) -> list[PretrainedLayer]:
    r"""Initialise ``dbm`` in place by greedy layer-wise RBM training (see the module docstring).

    Parameters
    ----------
    dbm : DBM
        Its weights and biases are overwritten; a centred model also gets offsets set to
        the mean activities of each layer (the data mean for v), with its biases
        re-parameterised to represent the same distribution.
    data : Tensor, shape (n, sizes[0])
        Training data in [0, 1].
    epochs : int, default 20
        CD-1 epochs per RBM.
    batch_size : int, default 20
    lr : float, default 0.05
    momentum : float in [0, 1), default 0.9
        Half of it for the first epochs (up to 5).
    seed : int or None, default 0
        Seeds the weight initialisation, shuffling and sampling.
    progress : bool, default True
        A bar over the RBMs' epochs (on rank 0 of a data-parallel run).
    distributed : bool or None, default None
        Train each RBM data-parallel across the ranks of a ``torch.distributed`` group
        (``None``: when a group of several ranks is open or a launcher such as
        ``torchrun`` set the environment). Every rank starts from rank 0's weights,
        steps on its share of each epoch's permutation
        (:class:`~inference.distributed.Shard`, ``batch_size`` rows per rank) with its
        own draws (seeded ``seed`` + rank), and the gradients are averaged over the
        ranks. Every rank holds all rows and propagates them up alike, so the layer
        means and the DBM's parameters come out the same on every rank. The
        reconstruction errors are the ranks' means.

    Returns
    -------
    list[PretrainedLayer]
        One per RBM, bottom first.

    Examples
    --------
    >>> data = torch.bernoulli(torch.full((50, 6), 0.3), generator=torch.Generator().manual_seed(0))
    >>> dbm = DBM([6, 4, 3], seed=0)
    >>> [(layer.up, layer.down) for layer in pretrain_dbm(dbm, data, epochs=2, progress=False)]
    [(2, 1), (1, 2)]
    """
    func = "pretrain_dbm"
    check_model(dbm, DBM, func, "dbm", what="a models.DBM")
    data = check_units(data, "data", dbm.sizes[0], unit_interval=True, dtype=dbm.dtype, device=dbm.device)
    if data.shape[0] == 0:
        raise ValueError(f"{func}: data has no rows")
    epochs = check_int(epochs, "epochs", 1, func)
    batch_size = check_int(batch_size, "batch_size", 1, func)
    lr = check_float(lr, "lr", 0.0, float("inf"), low_open=True, where=func)
    momentum = check_float(momentum, "momentum", 0.0, 1.0, high_open=True, where=func)
    if not isinstance(progress, bool):
        raise TypeError(f"{func}: progress must be a bool, got {progress!r}")
    from tqdm.auto import tqdm

    from ..distributed import Shard, joined

    L = dbm.n_layers
    with joined(distributed, dbm.device, func) as replicas:
        gen = make_generator(seed, dbm.device)  # the weights' draws, the same on every rank
        draws = shard = None
        if replicas is not None:
            draws, shard = make_generator(replicas.seed(seed), dbm.device), Shard(data.shape[0], replicas, seed or 0)
            progress = progress and replicas.is_main
        bar = tqdm(total=epochs * L, desc="pretrain dbm", unit="epoch", disable=not progress)
        layers, x, means = [], data, [data.mean(0)]
        try:
            for l in range(1, L + 1):
                up, down = _scales(l, L)
                W, b, c, err = _train_rbm(x, dbm.sizes[l], up, down, epochs, batch_size, lr, momentum,
                                          max(dbm.weight_std, 0.01), gen, bar, replicas, draws, shard,
                                          (l - 1) * epochs)
                layers.append(PretrainedLayer(W, b, c, up, down, err))
                if l < L or dbm.centered:  # the top layer's activities only give a centred model its offset
                    # σ(c + (up x) W) in one buffer of the data set's size (scaling by up ∈ {1, 2} is exact)
                    x = torch.mm(x, W).mul_(up).add_(c).sigmoid_()
                    means.append(x.mean(0))
        finally:
            bar.close()
    weights = [layer.W / (2 if layer.up == layer.down == 2 else 1) for layer in layers]
    biases = [layers[0].b]
    for l in range(1, L):
        biases.append((layers[l - 1].c + layers[l].b) / 2)
    biases.append(layers[-1].c)
    if dbm.centered:  # express the uncentred biases a_l in the centred form b_l = a_l + W_lᵀμ_{l−1} + W_{l+1}μ_{l+1}
        mus = [m.clamp(0, 1) for m in means]
        for l in range(L + 1):
            if l >= 1:
                biases[l] = biases[l] + mus[l - 1] @ weights[l - 1]
            if l < L:
                biases[l] = biases[l] + weights[l] @ mus[l + 1]
        for mu, m in zip(dbm.offsets(), mus):
            mu.copy_(m)
    for p, w in zip(dbm.weights, weights):
        p.copy_(w)
    for p, bias in zip(dbm.biases, biases):
        p.copy_(bias)
    return layers
