r"""The generic annealing loop: AIS for any energy model through its contract.

For an :class:`~inference.partition.path.AnnealingPath` the loop accumulates, per chain,

.. math::

    \log w = \sum_{k=1}^{K} \log p^*_{\beta_k}(x_k) - \log p^*_{\beta_{k-1}}(x_k),
    \qquad x_{k+1} \sim T_{\beta_k}(\cdot \mid x_k),

with the increments in float64 on a float64 copy of the model:

* marginal form: −(β_k − β_{k−1}) log p̃_A(v) − F_{β_k}(v) + F_{β_{k−1}}(v);
* joint form: −(β_k − β_{k−1}) (log p̃_A(x) + E(x));

and T_β one sweep of :func:`~inference.partition.path.sweep_blocks`, each group drawn
from ``model.conditional(g, state, β)`` combined with its base factor to the power 1 − β.
Sampling runs on the model itself, in its dtype.
"""

from __future__ import annotations

import torch

from pgm.checks import validation_disabled

from ..mcmc import gibbs
from .path import AnnealingPath, _float64_copy, kept_groups, n_rows, sweep_blocks

__all__ = ["TorchAnnealer", "progress_bar", "REFRESH"]

_F64 = torch.float64
#: Progress-bar refresh period, in annealing steps.
REFRESH = 100


def progress_bar(total, desc, enabled):
    """A tqdm bar of ``total`` annealing steps, or ``None`` when not ``enabled``."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="β", mininterval=0.5)


class TorchAnnealer:
    """Runs AIS chains along an :class:`AnnealingPath` with torch operations only.

    Parameters
    ----------
    path : AnnealingPath
    model64 : EnergyModel, optional
        A float64 copy of ``path.model`` (made here when not given).
    """

    def __init__(self, path: AnnealingPath, model64=None):
        self.path = path
        model = path.model
        self.model = model
        self.model64 = model64 if model64 is not None else _float64_copy(model)
        self.blocks = sweep_blocks(path)
        self.visible = model.visible_name
        self.marginal = path.form == "marginal"
        self.kept = kept_groups(path) if path.form == "summed" else None
        self.base = path.base.cast(model.dtype, model.device)  # for the sampler
        self.base64 = path.base.cast(_F64, model.device)  # for the weights

    def increment(self, values: dict, b0: float, b1: float) -> torch.Tensor:
        """log p*_{b1}(x) − log p*_{b0}(x) for each chain, float64 of shape (n_chains,)."""
        if self.marginal:
            v = {self.visible: values[self.visible].to(_F64)}
            fe = self.model64.free_energy
            inc = (fe(v[self.visible], b0) - fe(v[self.visible], b1)).to(_F64)
            return inc.sub_(self.base64.log_density(v), alpha=b1 - b0)
        if self.kept is not None:
            x = {k: values[k].to(_F64) for k in self.kept}
            fg = self.model64.free_energy_given
            return (fg(x, b0) - fg(x, b1)).to(_F64).sub_(self.base64.log_density(x), alpha=b1 - b0)
        x = {k: t.to(_F64) for k, t in values.items()}
        return (self.base64.log_density(x) + self.model64.energy(x).to(_F64)).mul_(-(b1 - b0))

    def sweep(self, values: dict, beta: float, generator: torch.Generator) -> dict:
        """One Gibbs sweep of p_A^(1−β) exp(−β E) over :attr:`blocks`; a new dict."""
        values = dict(values)
        gibbs.sweep(self.model, values, beta, generator, blocks=self.blocks, temper=self.base.temper)
        return values

    def run(self, state, betas: list, generator: torch.Generator, pbar=None):
        """Run the chains from ``state`` ~ p_{betas[0]} through ``betas`` (any order).

        Parameters
        ----------
        state : Tensor (n_chains, n_visible) in the marginal form, dict of every group in
            the joint form
        betas : list of float
        generator : torch.Generator
        pbar : tqdm bar, optional
            Advanced by ``len(betas) - 1`` and closed.

        Returns
        -------
        log_w : Tensor, shape (n_chains,), float64
        state : the final state, of the same form as ``state``
        """
        values = {self.visible: state} if self.marginal else dict(state)
        n = n_rows(state)
        log_w = torch.zeros(n, dtype=_F64, device=self.model.device)
        n_steps = len(betas) - 1
        with torch.no_grad(), validation_disabled():
            for k in range(1, n_steps + 1):
                b0, b1 = betas[k - 1], betas[k]
                if b1 != b0:
                    log_w.add_(self.increment(values, b0, b1))
                if k == n_steps:
                    break
                values = self.sweep(values, b1, generator)
                if pbar is not None and k % REFRESH == 0:
                    pbar.update(REFRESH)
        if pbar is not None:
            pbar.update(n_steps - pbar.n)
            pbar.close()
        if self.marginal:
            return log_w, values[self.visible]
        if self.kept is not None:
            return log_w, {k: values[k] for k in self.kept}
        return log_w, values
