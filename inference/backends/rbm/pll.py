r"""The binary RBM's pseudo-log-likelihood: unit flips from the hidden pre-activations.

Taken through :func:`inference.backends.fast_path` by :func:`pll_runner` for a
:class:`~inference.evaluation.pseudo_likelihood.PseudoLikelihood` on the RBM's visible
group. With x = c + vW (one matrix product per batch) and s_i = 1 − 2 v_i the change of
unit i when it flips,

.. math::

    F(v) - F(v^{(i)}) = s_i b_i + \sum_j \operatorname{softplus}(x_j + s_i W_{ij})
                        - \operatorname{softplus}(x_j),

so every flip costs O(n_h) instead of a free energy's O(n_v n_h). Float64 throughout;
equal to the generic :class:`~inference.evaluation.pseudo_likelihood.FlipPseudoLikelihood`
to float64 rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["pll_runner", "RBMPseudoLikelihood"]

_F64 = torch.float64
#: Elements per (examples × flipped units × hidden units) block.
_BLOCK = 2**21


def pll_runner(model, description):
    """An :class:`RBMPseudoLikelihood` for ``description`` on a recognised binary RBM, or
    ``None`` (another group, or parameters that are not float32/float64)."""
    if description.group != model.visible_name or description.kind != "bernoulli":
        return None
    W = getattr(model, "W", None)
    if not isinstance(W, torch.Tensor) or W.dtype not in (torch.float32, torch.float64):
        return None
    return RBMPseudoLikelihood(model)


class RBMPseudoLikelihood:
    """Σ_i log p(v_i | v_−i) of a binary RBM for chosen units, in float64.

    Parameters
    ----------
    model : RBM
        Read once: float64 copies of W, b and c are kept.
    """

    def __init__(self, model):
        self.W = model.W.detach().to(_F64)
        self.b = model.b.detach().to(_F64)
        self.c = model.c.detach().to(_F64)

    def run(self, v: torch.Tensor, units: torch.Tensor | None) -> torch.Tensor:
        """Per-example sums over ``units`` (n, k) int64, or all units if ``None``, for
        float64 binary rows ``v`` (n, n_visible); shape (n,), float64."""
        W, b, c = self.W, self.b, self.c
        nv, nh = W.shape
        k = nv if units is None else units.shape[1]
        rows = max(1, _BLOCK // (k * nh))
        out = []
        with torch.no_grad():
            for start in range(0, v.shape[0], rows):
                x_v = v[start:start + rows].to(device=W.device, dtype=_F64)
                m = x_v.shape[0]
                x = torch.addmm(c, x_v, W)  # (m, n_h)
                if units is None:
                    idx = torch.arange(nv, device=W.device).expand(m, nv)
                else:
                    idx = units[start:start + rows]
                s = 1 - 2 * x_v.gather(1, idx)  # (m, k): change of each flipped unit
                flipped = x.unsqueeze(1) + s.unsqueeze(2) * W[idx]  # (m, k, n_h)
                diff = s * b[idx] + (F.softplus(flipped) - F.softplus(x).unsqueeze(1)).sum(2)
                out.append(-F.softplus(diff).sum(1))
        return torch.cat(out)
