r"""The convolutional DBN's test log-likelihood and its samples, with the top layer's log Z.

With the first layer's exact conditional q(h1 | v) (probabilistic max-pooling) as the
proposal and p1 = pool(h1),

.. math::

    \log w(v, h_1) = -F_2(p_1) - \log Z_2 - |p_1| \log C_1^2 + \log p(v \mid h_1) - \log q(h_1 \mid v),

    \hat{\mathcal L}_K(v) = \log \frac1K \sum_{s=1}^K w(v, h_1^{(s)}), \qquad
    \mathrm{ELBO}(v) = \frac1K \sum_{s=1}^K \log w(v, h_1^{(s)}),

where F2 is the second conv RBM's free energy (h2 summed out exactly) and the terms are
those of :class:`models.ConvDBN`'s generative model. The ELBO is a lower bound of
log p(v) under that model; the K-sample importance estimate is a lower bound in
expectation (it tends to log p(v) as K grows). Both are shifted by −log Z2, so an AIS
bracket [log Z_lo, log Z_hi] moves each to [value − (log Z_hi − log Ẑ), value + (log Ẑ − log Z_lo)].

In a run of W processes (``torchrun``) :func:`conv_dbn_log_likelihood` splits both parts:
log Z2 over ranges of states or shares of AIS chains, the draws over the rows (rank r's
seeded ``seed + r``).
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch

from models.directed import ConvDBN
from pgm.checks import check_int, check_model, check_seed

from ..distributed import joined, map_rows, rank_seed
from ..mcmc import gibbs
from ..mcmc.sampling import make_generator
from ..partition import LogZEstimate, check_enumerable
from ..partition.exact import MAX_EXACT_UNITS, enumeration_set
from ..partition.named import split_log_partition

__all__ = ["ConvDBNEstimate", "conv_dbn_log_likelihood", "top_log_partition", "sample_conv_dbn"]

_F64 = torch.float64
_CHUNK = 2**22  # detection values held at once: draws are batched over examples and samples


class ConvDBNEstimate(NamedTuple):
    """A conv DBN's test log-likelihood, nats per example, with the top layer's log Z bracket.

    Attributes
    ----------
    mean, lower, upper : float
        The K-sample importance estimate and its ends at the ends of the log Z bracket.
    elbo, elbo_lower, elbo_upper : float
        The variational bound, likewise.
    sem, elbo_sem : float
        Standard errors over examples.
    log_z : LogZEstimate
        Of the second conv RBM.
    n_samples : int
        K.
    per_example, per_example_elbo : Tensor, shape (n,), float64
        The K-sample estimate and the ELBO of each example (at the point estimate of log Z).
    """

    mean: float
    lower: float
    upper: float
    elbo: float
    elbo_lower: float
    elbo_upper: float
    sem: float
    elbo_sem: float
    log_z: LogZEstimate
    n_samples: int
    per_example: torch.Tensor
    per_example_elbo: torch.Tensor


def _check(model, where):
    check_model(model, ConvDBN, where, what="a models.ConvDBN")


def top_log_partition(model: ConvDBN, log_z="auto", *, data: torch.Tensor | None = None, ais_options=None,
                      where: str = "top_log_partition", replicas=None) -> LogZEstimate:
    """log Z of ``model.layer2``: ``"exact"`` (enumeration), ``"ais"`` (base fitted to the
    pooling probabilities of ``data``, binary images, when given; uniform otherwise),
    ``"auto"`` (exact up to 25 enumerated units, else AIS) or a given LogZEstimate; with
    ``replicas`` (a data-parallel run's group) the states or chains split across the ranks
    (:func:`~inference.partition.named.split_log_partition`)."""
    _check(model, where)
    if isinstance(log_z, LogZEstimate):
        return log_z.checked(where)
    if log_z == "auto":
        log_z = "exact" if enumeration_set(model.layer2)[1] <= MAX_EXACT_UNITS else "ais"
    if log_z == "exact":
        check_enumerable(model.layer2, func=f"{where}: log_z='exact': exact_log_partition")
        return split_log_partition(model.layer2, "exact", replicas)
    if log_z == "ais":
        if ais_options is not None and not isinstance(ais_options, dict):
            raise TypeError(f"{where}: ais_options must be a dict of ais_log_partition keywords, got {ais_options!r}")
        opts = {"n_chains": 100, "progress": False, **(ais_options or {})}
        if "data" not in opts and opts.get("base", "data") == "data":
            if data is None:
                opts["base"] = "uniform"
            else:
                opts["data"] = model.up_pass(model.check_data(data, "data", binary=False))
        return split_log_partition(model.layer2, "ais", replicas, **opts)
    raise ValueError(f"{where}: log_z must be 'auto', 'exact', 'ais' or a LogZEstimate, got {log_z!r}")


@torch.no_grad()
def conv_dbn_log_likelihood(model: ConvDBN, data: torch.Tensor, log_z="auto", *, n_samples: int = 100,
                            seed: int | None = 0, train_data: torch.Tensor | None = None,
                            ais_options=None, distributed=None) -> ConvDBNEstimate:
    r"""Importance estimate and variational bound of log p(v) under a conv DBN (module docstring).

    Parameters
    ----------
    model : models.ConvDBN
    data : Tensor, shape (n, H·W)
        Binary test images.
    log_z : "auto", "exact", "ais" or LogZEstimate, default "auto"
        log Z of the second layer (:func:`top_log_partition`).
    n_samples : int, default 100
        K, draws of h1 from q(h1 | v) per example.
    seed : int or None, default 0
        Seeds the draws (and AIS).
    train_data : Tensor, optional
        For AIS: images whose pooling probabilities fit its base (default ``data``).
    ais_options : dict, optional
        Keywords of :func:`inference.ais_log_partition`.
    distributed : bool or None, default None
        Split the work across the ranks of a ``torch.distributed`` group: the second
        layer's log Z (ranges of its states, or shares of the AIS chains seeded
        ``seed + r``, :func:`~inference.partition.named.log_partition`) and the rows:
        rank r draws the K samples of the rows r, r + W, ... from a generator seeded
        ``seed + r`` (:func:`~inference.distributed.map_rows`), and the per-example values
        are gathered back in the rows' order, so every rank returns the same estimate.
        ``None`` joins a group that is open or that a launcher (``torchrun``) describes;
        ``True`` requires one; ``False`` runs everything on each process.

    Returns
    -------
    ConvDBNEstimate
    """
    where = "conv_dbn_log_likelihood"
    _check(model, where)
    data = model.check_data(data, "data")
    n_samples = check_int(n_samples, "n_samples", 1, where)
    seed = check_seed(seed, where)
    if log_z == "ais" or log_z == "auto":
        ais_options = {"seed": seed, **(ais_options or {})}
    m = copy.deepcopy(model).to(_F64)
    v = data.to(_F64)
    with joined(distributed, model.device, where) as replicas:
        lz = top_log_partition(model, log_z, data=data if train_data is None else train_data,
                               ais_options=ais_options, where=where, replicas=replicas)
        draws = rank_seed(seed, replicas)  # rank r's draws seeded seed + r
        per_iw, per_elbo = map_rows(lambda rows: _per_example(m, rows, n_samples, lz.log_z, draws), v, replicas)
    n = v.shape[0]
    sem = float(per_iw.std() / math.sqrt(n)) if n > 1 else math.nan
    elbo_sem = float(per_elbo.std() / math.sqrt(n)) if n > 1 else math.nan
    mean, elbo = float(per_iw.mean()), float(per_elbo.mean())
    below, above = lz.upper - lz.log_z, lz.log_z - lz.lower
    return ConvDBNEstimate(mean, mean - below, mean + above, elbo, elbo - below, elbo + above, sem, elbo_sem, lz,
                           n_samples, per_iw, per_elbo)


def _per_example(m: ConvDBN, v: torch.Tensor, n_samples: int, log_z: float, seed: int | None):
    r"""The K-sample estimate and the ELBO of each image of ``v`` (n, H·W), float64 (n,)
    each, under the float64 copy ``m`` with the second layer's log Z ``log_z``; the draws
    h1 ~ q(h1 | v) from one generator seeded ``seed``, in batches of examples."""
    gen = make_generator(seed, m.device)
    rows = max(1, _CHUNK // (n_samples * m.layer1.n_hidden))  # examples per batch of n_samples draws each
    parts = []
    for start in range(0, v.shape[0], rows):
        x = v[start:start + rows].repeat_interleave(n_samples, 0)
        q = m.layer1.conditional("h", {"v": x})
        h1 = q.sample_with(gen)
        lw = -m.layer2.free_energy(m.layer1.pool(h1)) + m.log_p_h1_given_p1(h1) + m.log_p_v_given_h1(x, h1) \
            - q.log_prob(h1)
        parts.append(lw.reshape(-1, n_samples))
    log_w = torch.cat(parts) - log_z
    return torch.logsumexp(log_w, 1) - math.log(n_samples), log_w.mean(1)


@torch.no_grad()
def sample_conv_dbn(model: ConvDBN, n: int, generator: torch.Generator, steps: int = 1000,
                    mean: bool = True) -> torch.Tensor:
    """``n`` images: ``steps`` Gibbs sweeps of the second conv RBM from a uniform start give
    pooling states p1, then h1 ~ p(h1 | p1) and the pixel means (``mean=True``) or a draw.

    Returns
    -------
    Tensor, shape (n, H·W)
    """
    _check(model, "sample_conv_dbn")
    n = check_int(n, "n", 1, "sample_conv_dbn")
    steps = check_int(steps, "steps", 0, "sample_conv_dbn")
    state = gibbs.run(model.layer2, gibbs.init(model.layer2, n, generator), steps, generator)
    return model.sample_down(state.values["v"], generator, mean=mean)
