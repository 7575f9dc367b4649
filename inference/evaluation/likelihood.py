r"""Evaluating energy models on data: log-likelihood, pseudo-log-likelihood, reconstruction.

* :func:`log_likelihood` — mean log p(v) = mean(−F(v)) − log Z, with the bracket of the
  log Z estimate carried through;
* :func:`pseudo_log_likelihood` — Besag's Σ_i log p(v_i | v_−i), exact, no log Z needed;
* :func:`reconstruction_error` — squared error of the mean-field one-step reconstruction,
  a cheap training monitor that is *not* a likelihood.

All log quantities are computed in float64 on a copy of the model.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from models.energy import EnergyModel
from models.energy.validation import check_units

from ..partition.ais import _rbm_tensors
from ..partition.exact import LogZEstimate, _float64_copy
from ..mcmc.sampling import make_generator

__all__ = ["LogLikelihood", "log_likelihood", "pseudo_log_likelihood", "reconstruction_error"]

_F64 = torch.float64
#: Rows of data per free-energy evaluation.
_ROWS = 8192
#: Elements per (examples × flipped units × hidden units) block of the PLL.
_PLL_BLOCK = 2**21


class LogLikelihood(NamedTuple):
    """Average log-likelihood of a data set, in nats per example (Python floats).

    Attributes
    ----------
    mean : float
        (1/n) Σ_n log p(v_n) with the point estimate of log Z.
    lower, upper : float
        The same with log Z at the upper and at the lower end of its bracket (a lower
        bound of log Z gives an upper bound of the log-likelihood). Equal to ``mean``
        when log Z was given as a plain number.
    sem : float
        Standard error of ``mean`` over examples, std(log p(v_n)) / √n (ddof = 1); NaN
        for a single example. It measures the spread of the data, not the error of log Z.
    n : int
        Number of examples.
    """

    mean: float
    lower: float
    upper: float
    sem: float
    n: int


def _visible_width(model, func):
    if not isinstance(model, EnergyModel):
        raise TypeError(f"{func}: model must be an EnergyModel, got {type(model).__name__}")
    return model.graph[model.visible_name].n_units


def _log_z_triple(log_z):
    if isinstance(log_z, LogZEstimate):
        values = (log_z.log_z, log_z.lower, log_z.upper)
    elif isinstance(log_z, (int, float)) and not isinstance(log_z, bool):
        values = (float(log_z),) * 3
    elif isinstance(log_z, torch.Tensor) and log_z.numel() == 1 and torch.is_floating_point(log_z):
        values = (float(log_z),) * 3
    else:
        raise TypeError(
            "log_likelihood: log_z must be a LogZEstimate (from exact_log_partition or "
            f"ais_log_partition) or a float, got {type(log_z).__name__}"
        )
    if not math.isfinite(values[0]) or math.isnan(values[1]) or math.isnan(values[2]):
        raise ValueError(f"log_likelihood: log_z must be finite, got {log_z!r}")
    return values


def log_likelihood(model: EnergyModel, data: torch.Tensor, log_z) -> LogLikelihood:
    r"""Mean log-likelihood of binary data, in nats per example.

    .. math::

        \frac{1}{n} \sum_{n} \log p(v_n) = \frac{1}{n} \sum_n -F(v_n) - \log Z ,

    with F the free energy (``model.free_energy``). If ``log_z`` is a
    :class:`~inference.partition.LogZEstimate` its bracket is carried through: ``lower``
    uses ``log_z.upper`` and ``upper`` uses ``log_z.lower``.

    Parameters
    ----------
    model : EnergyModel
        A model with a tractable free energy (e.g. an RBM). It is not modified.
    data : Tensor, shape (n, n_visible)
        Binary examples (values exactly 0 or 1, floating dtype). Probabilities (grey
        levels) are refused: they are not outcomes of the model.
    log_z : LogZEstimate or float
        log Z of ``model``, e.g. from :func:`~inference.partition.exact_log_partition` or
        :func:`~inference.partition.ais.ais_log_partition`.

    Returns
    -------
    LogLikelihood

    Raises
    ------
    TypeError
        ``data`` is not a floating tensor, or ``log_z`` has the wrong type.
    ValueError
        ``data`` has the wrong shape, NaN/inf or non-binary values, or no rows.

    Examples
    --------
    >>> from models.energy import RBM
    >>> from inference.partition import exact_log_partition
    >>> rbm = RBM(6, 4, seed=0)
    >>> v = torch.tensor([[1., 0., 1., 1., 0., 0.]])
    >>> ll = log_likelihood(rbm, v, exact_log_partition(rbm))
    >>> round(ll.mean, 4)
    -4.1606
    """
    func = "log_likelihood"
    nv = _visible_width(model, func)
    data = check_units(data, "data", nv, binary=True)
    if data.shape[0] == 0:
        raise ValueError(f"{func}: data has no rows; pass at least one example")
    lz, lz_lower, lz_upper = _log_z_triple(log_z)
    model64 = _float64_copy(model)
    with torch.no_grad():
        neg_f = torch.cat([
            -model64.free_energy(chunk.to(device=model64.device, dtype=_F64)).to(_F64)
            for chunk in data.split(_ROWS)
        ])
    n = neg_f.shape[0]
    mean_neg_f = float(neg_f.mean())
    sem = float(neg_f.std() / math.sqrt(n)) if n > 1 else math.nan
    return LogLikelihood(mean_neg_f - lz, mean_neg_f - lz_upper, mean_neg_f - lz_lower, sem, n)


def pseudo_log_likelihood(model, data: torch.Tensor, generator: torch.Generator | None = None,
                          n_units: int | None = None) -> float:
    r"""Mean pseudo-log-likelihood (Besag, 1975) of binary data, in nats per example.

    .. math::

        \mathrm{PLL}(v) = \sum_{i=1}^{n_v} \log p(v_i \mid v_{-i})
        = -\sum_i \operatorname{softplus}\big(F(v) - F(v^{(i)})\big),

    where v^(i) is v with unit i flipped. For an RBM the free-energy difference is
    computed from the hidden pre-activations x = c + vW, with s_i = 1 − 2 v_i:

    .. math::

        F(v) - F(v^{(i)}) = s_i b_i + \sum_j \operatorname{softplus}(x_j + s_i W_{ij})
                            - \operatorname{softplus}(x_j),

    all units at once, in float64; cost O(n · n_v · n_h).

    With ``n_units = k`` each example instead uses k distinct units drawn uniformly at
    random (independently per example) and scales their sum by n_v / k, an unbiased
    estimate of the same quantity. ``n_units=1`` is the estimator of scikit-learn's
    ``BernoulliRBM.score_samples`` (one random flip per example, times n_features).

    Parameters
    ----------
    model : RBM
        Binary RBM (``W``, ``b``, ``hidden_logits``). It is not modified.
    data : Tensor, shape (n, n_visible), binary
    generator : torch.Generator, optional
        Draws the units when ``n_units`` is set; default a generator seeded with 0.
    n_units : int, optional
        Number of units per example, 1 ≤ n_units ≤ n_visible; None (default) uses all
        units and the result is exact.

    Returns
    -------
    float
        Mean over examples of PLL(v), ≤ 0.

    References
    ----------
    J. Besag, "Statistical analysis of non-lattice data", The Statistician 24, 1975.
    """
    func = "pseudo_log_likelihood"
    W, b, c = _rbm_tensors(model, func)
    nv = W.shape[0]
    data = check_units(data, "data", nv, binary=True)
    if data.shape[0] == 0:
        raise ValueError(f"{func}: data has no rows; pass at least one example")
    if n_units is not None and (not isinstance(n_units, int) or isinstance(n_units, bool)
                                or not 1 <= n_units <= nv):
        raise ValueError(f"{func}: n_units must be None or an int in [1, {nv}], got {n_units!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{func}: generator must be a torch.Generator or None, got {type(generator).__name__}")
    k = nv if n_units is None else n_units
    model64 = _float64_copy(model)
    W64, b64 = model64.W.detach(), model64.b.detach()
    dev = W64.device
    data = data.to(device=dev, dtype=_F64)
    if n_units is not None:
        generator = generator or make_generator(0, dev)
        units = torch.rand(data.shape, generator=generator, device=dev).argsort(1)[:, :k]
    rows = max(1, _PLL_BLOCK // (k * W64.shape[1]))
    total = torch.zeros((), dtype=_F64, device=dev)
    with torch.no_grad():
        for start in range(0, data.shape[0], rows):
            v = data[start:start + rows]
            x = model64.hidden_logits(v)  # (m, n_h)
            if n_units is None:
                idx = torch.arange(nv, device=dev).expand(v.shape[0], nv)
            else:
                idx = units[start:start + rows]
            s = 1 - 2 * v.gather(1, idx)  # (m, k): change of each flipped unit
            flipped = x.unsqueeze(1) + s.unsqueeze(2) * W64[idx]  # (m, k, n_h)
            diff = s * b64[idx] + (F.softplus(flipped) - F.softplus(x).unsqueeze(1)).sum(2)
            total += -F.softplus(diff).sum()
    return float(total) * (nv / k) / data.shape[0]


def reconstruction_error(model, data: torch.Tensor) -> float:
    r"""Mean squared error of the mean-field one-step reconstruction.

    .. math::

        r(v) = \sigma\big(b + W \sigma(c + v W)\big), \qquad
        \mathrm{err} = \frac{1}{n} \sum_n \sum_i (v_{ni} - r_i(v_n))^2 ,

    summed over units and averaged over examples (so it grows with the number of
    visible units). Uses the model's ``hidden_logits`` and ``visible_logits``. A training
    monitor only: it is not a likelihood, and can be small for a poor generative model.

    Parameters
    ----------
    model : RBM
    data : Tensor, shape (n, n_visible), values in [0, 1] (grey levels are accepted)

    Returns
    -------
    float
    """
    func = "reconstruction_error"
    nv = _visible_width(model, func)
    for method in ("hidden_logits", "visible_logits"):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"{func}: model needs a {method}() method (an RBM), got {type(model).__name__}")
    p = next(model.parameters())
    data = check_units(data, "data", nv, unit_interval=True, dtype=p.dtype, device=p.device)
    if data.shape[0] == 0:
        raise ValueError(f"{func}: data has no rows; pass at least one example")
    total = 0.0
    with torch.no_grad():
        for v in data.split(_ROWS):
            r = torch.sigmoid(model.visible_logits(torch.sigmoid(model.hidden_logits(v))))
            total += float((v.to(_F64) - r.to(_F64)).square().sum())
    return total / data.shape[0]
