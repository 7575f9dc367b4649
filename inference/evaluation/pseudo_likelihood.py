r"""Besag's pseudo-log-likelihood of binary data, from free energies of unit-flipped copies.

.. math::

    \mathrm{PLL}(v) = \sum_{i=1}^{n_v} \log p(v_i \mid v_{-i})
    = -\sum_i \operatorname{softplus}\big(F(v) - F(v^{(i)})\big),

where v^(i) is v with unit i flipped (1 − v_i for {0, 1} units, −v_i for {−1, +1} ones)
and F the free energy of the visible group. No log Z is needed. The generic path
evaluates F on every flipped copy (:class:`FlipPseudoLikelihood`); a backend may compute
the same differences faster (the binary RBM: :mod:`inference.backends.rbm.pll`), chosen
by :func:`inference.backends.fast_path` from a :class:`PseudoLikelihood` description.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F

from pgm.checks import validation_disabled

from ..backends import check_backend, fast_path
from ..backends.requests import PseudoLikelihood
from ..distributed import joined, map_rows, rank_seed
from ..mcmc.sampling import make_generator
from pgm import SPIN_KINDS

from ..partition.exact import _float64_copy
from ..partition.visible import BINARY_KINDS, check_visible, free_energy_plan, visible_free_energy, visible_group

__all__ = ["PseudoLikelihood", "FlipPseudoLikelihood", "pseudo_log_likelihood"]

_F64 = torch.float64
#: Elements per (examples × flipped units × units) block.
_BLOCK = 2**21


class FlipPseudoLikelihood:
    """The generic runner: F(v) − F(v^(i)) from free energies of flipped copies.

    Cost O(n · k) free-energy evaluations, in blocks of about 2²¹ elements.

    Parameters
    ----------
    model64 : EnergyModel
        A float64 copy of the model (it is only read).
    description : PseudoLikelihood
    plan : tuple of str
        From :func:`inference.partition.visible.free_energy_plan`.
    """

    def __init__(self, model64, description: PseudoLikelihood, plan=()):
        self.model, self.plan = model64, plan
        self.spin = description.kind in SPIN_KINDS
        self.width = sum(g.n_units for g in model64.graph.groups)

    def _free_energy(self, v):
        return visible_free_energy(self.model, v, self.plan).to(_F64)

    def run(self, v: torch.Tensor, units: torch.Tensor | None) -> torch.Tensor:
        n, nv = v.shape
        k = nv if units is None else units.shape[1]
        rows = max(1, _BLOCK // (k * self.width))
        out = []
        with torch.no_grad(), validation_disabled():
            for start in range(0, n, rows):
                x = v[start:start + rows]
                m = x.shape[0]
                if units is None:
                    idx = torch.arange(nv, device=x.device).expand(m, nv)
                else:
                    idx = units[start:start + rows]
                old = x.gather(1, idx)
                new = -old if self.spin else 1 - old
                flipped = x.unsqueeze(1).expand(m, k, nv).clone()
                flipped.scatter_(2, idx.unsqueeze(2), new.unsqueeze(2))
                f_here = self._free_energy(x)
                f_flip = self._free_energy(flipped.reshape(m * k, nv)).reshape(m, k)
                out.append(-F.softplus(f_here.unsqueeze(1) - f_flip).sum(1))
        return torch.cat(out)


def pseudo_log_likelihood(model, data: torch.Tensor, generator: torch.Generator | None = None,
                          n_units: int | None = None, *, backend: str = "auto", distributed=None) -> float:
    r"""Mean pseudo-log-likelihood (Besag, 1975) of binary data, in nats per example.

    .. math::

        \mathrm{PLL}(v) = \sum_{i=1}^{n_v} \log p(v_i \mid v_{-i})
        = -\sum_i \operatorname{softplus}\big(F(v) - F(v^{(i)})\big),

    where v^(i) is v with unit i flipped and F the free energy of the visible group. The
    generic path evaluates F on all n_v flipped copies of each example, batched, in
    float64 on a copy of the model: O(n · n_v) free energies. For a binary RBM the fast
    path (:mod:`inference.backends.rbm.pll`) computes the differences from the hidden
    pre-activations x = c + vW, with s_i = 1 − 2 v_i,

    .. math::

        F(v) - F(v^{(i)}) = s_i b_i + \sum_j \operatorname{softplus}(x_j + s_i W_{ij})
                            - \operatorname{softplus}(x_j),

    in O(n · n_v · n_h); both agree to float64 rounding.

    With ``n_units = k`` each example instead uses k distinct units drawn uniformly at
    random (independently per example) and scales their sum by n_v / k, an unbiased
    estimate of the same quantity. ``n_units=1`` is the estimator of scikit-learn's
    ``BernoulliRBM.score_samples`` (one random flip per example, times n_features).

    Parameters
    ----------
    model : EnergyModel
        A model with binary visible units (``bernoulli``, ``binary_pm1`` or ``spin``) and
        a free energy (``free_energy``, or an enumeration hook that sums out a few binary
        latent units, see :mod:`inference.partition.visible`). It is not modified.
    data : Tensor, shape (n, n_visible)
        Outcomes of the visible units ({0, 1}, or {−1, +1} for spins).
    generator : torch.Generator, optional
        Draws the units when ``n_units`` is set; default a generator seeded with 0.
    n_units : int, optional
        Number of units per example, 1 ≤ n_units ≤ n_visible; None (default) uses all
        units and the result is exact.
    backend : {"auto", "torch"}, default "auto"
        ``"auto"``: a fast path where one applies (the binary RBM); ``"torch"``: always
        the generic flips.
    distributed : bool or None, default None
        Split the rows across the ranks of a ``torch.distributed`` group: rank r scores
        the rows r, r + W, ... (:func:`~inference.distributed.map_rows`), drawing their
        units from ``generator`` (default: seeded with the rank), and the per-row sums are
        gathered in the rows' order before the mean, so every rank returns the mean over
        all n rows. Pass each rank a generator of its own (seeded ``seed + rank``) for
        independent draws. ``None`` joins a group that is open or that a launcher
        (``torchrun``) describes; ``False`` scores every row on each process.

    Returns
    -------
    float
        Mean over examples of PLL(v), ≤ 0.

    Raises
    ------
    TypeError
        The visible units are not binary, or the model has no tractable free energy.
    ValueError
        Bad data (shape, values) or ``n_units``.

    References
    ----------
    J. Besag, "Statistical analysis of non-lattice data", The Statistician 24, 1975.

    Examples
    --------
    >>> from models.energy import RBM
    >>> v = torch.tensor([[1., 0., 1., 1., 0., 0.]])
    >>> round(pseudo_log_likelihood(RBM(6, 4, seed=0), v), 4)  # near 6 log(1/2) = -4.1589
    -4.1606
    """
    func = "pseudo_log_likelihood"
    check_backend(backend, func)
    grp = visible_group(model, func)
    if grp.kind not in BINARY_KINDS:
        raise TypeError(f"{func}: needs binary visible units (kinds {list(BINARY_KINDS)}), but group "
                        f"{grp.name!r} of {type(model).__name__} has kind {grp.kind!r}; the pseudo-likelihood "
                        "of real-valued units is a different estimator")
    if len(model.data_groups) > 1:
        raise TypeError(f"{func}: {type(model).__name__}'s data rows hold the groups {list(model.data_groups)}; "
                        "the pseudo-likelihood flips binary units of one visible group only")
    free_energy_plan(model, func)  # refuses a model without a tractable free energy
    data = check_visible(model, data, func)
    nv = grp.n_units
    if n_units is not None and (not isinstance(n_units, int) or isinstance(n_units, bool)
                                or not 1 <= n_units <= nv):
        raise ValueError(f"{func}: n_units must be None or an int in [1, {nv}], got {n_units!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{func}: generator must be a torch.Generator or None, got {type(generator).__name__}")
    dev = model.device
    data = data.to(device=dev, dtype=_F64)
    with joined(distributed, dev, func) as replicas:
        if generator is None and n_units is not None:
            generator = make_generator(rank_seed(0, replicas), dev)
        per_row = map_rows(lambda rows: _pll_rows(model, rows, generator, n_units, backend), data, replicas)
    k = nv if n_units is None else n_units
    return float(per_row.sum()) * (nv / k) / data.shape[0]


def _pll_rows(model, data: torch.Tensor, generator: torch.Generator | None, n_units: int | None,
             backend: str = "auto") -> torch.Tensor:
    r"""Per row of checked float64 ``data`` (n, n_visible) on the model's device, shape (n,):
    the sum over the units scored of log p(v_i | v_{-i}), all units (``n_units`` None) or
    ``n_units`` drawn per row from ``generator`` (not yet scaled by n_v / k); no checks."""
    grp = visible_group(model, "pseudo_log_likelihood")
    description = PseudoLikelihood(grp.name, grp.kind, n_units)
    runner = fast_path(model, description, backend=backend)
    if runner is None:
        runner = FlipPseudoLikelihood(_float64_copy(model), description,
                                      free_energy_plan(model, "pseudo_log_likelihood"))
    units = None
    if n_units is not None:
        units = torch.rand(data.shape, generator=generator, device=data.device).topk(n_units, dim=1,
                                                                                    largest=False).indices
    with torch.no_grad():
        return runner.run(data, units)
