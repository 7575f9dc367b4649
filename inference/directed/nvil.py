r"""Neural variational inference and learning (NVIL; Mnih & Gregor 2014).

The score-function (REINFORCE, Williams 1992) gradient of the ELBO with the control
variates of NVIL. With one draw h ~ q(· | x) per example and the learning signal
l(x, h) = log p(x, h) − log q(h | x):

.. math::

    \Delta\theta \propto \nabla_\theta \log p_\theta(x, h), \qquad
    \Delta\phi \propto \frac{l(x, h) - b_\psi(x) - c}{\max(1, \sqrt{v})}
                       \nabla_\phi \log q_\phi(h \mid x),

where c is a running average of l (the input-independent baseline), b_ψ(x) an MLP
(the input-dependent baseline) fitted by least squares to l − c, and v a running
average of the variance of l − b_ψ(x) − c (variance normalisation). Since
E_q[∇_φ log q] = 0, neither baseline biases the gradient; the normalisation only rescales
the recognition step. Pyro's ``TraceGraph_ELBO`` offers the baselines (its
``nn_baseline`` and decaying-average options) but not the variance normalisation, so
the estimator is written here.
"""

from __future__ import annotations

import torch
from torch import nn

from pgm.checks import check_int

from ..evaluation.weights import log_weights

__all__ = ["NVIL"]


class NVIL(nn.Module):
    r"""The NVIL estimator: its baseline network and running statistics are its state.

    Parameters
    ----------
    n_visible : int
        Input size of the baseline network b_ψ(x).
    n_hidden : int, default 100
        Tanh hidden units of b_ψ (the paper's 100); 0 drops the input-dependent baseline.
    alpha : float, default 0.8
        Decay of the running mean c and variance v per update (the paper's 0.8); 1 keeps
        them at their current values.
    running_baseline, normalise : bool, default True
        Use c, and divide by max(1, √v).

    Attributes
    ----------
    baseline : nn.Module or None
        b_ψ: ``Linear(n_visible, n_hidden) → tanh → Linear(n_hidden, 1)``.
    mean, var : Tensor (buffers)
        c and v.
    """

    def __init__(self, n_visible: int, n_hidden: int = 100, alpha: float = 0.8, *,
                 running_baseline: bool = True, normalise: bool = True):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="NVIL")
        n_hidden = check_int(n_hidden, "n_hidden", 0, where="NVIL")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f"NVIL: alpha must be a number in [0, 1], got {alpha!r}")
        self.alpha, self.running_baseline, self.normalise = float(alpha), bool(running_baseline), bool(normalise)
        self.baseline = nn.Sequential(nn.Linear(n_visible, n_hidden), nn.Tanh(), nn.Linear(n_hidden, 1)) \
            if n_hidden else None
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("var", torch.ones(()))

    def loss(self, model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""(surrogate, ELBO): ``surrogate.backward()`` writes minus the updates above
        (averaged over the rows of ``x``) into the model's parameters and the baseline's
        least-squares gradient into ψ; updates c and v; the ELBO estimate is detached.

        .. math::

            \text{surrogate} = -\frac{1}{B}\sum_b \Big(\log p(x_b, h_b)
              + \operatorname{sg}(s_b) \log q(h_b \mid x_b)\Big)
              + \frac{1}{B}\sum_b \big(l_b - c - b_\psi(x_b)\big)^2
        """
        _, log_p, log_q, _ = log_weights(model, x, 1, return_parts=True, detach_samples=True)
        log_p, log_q = log_p[0], log_q[0]
        signal = (log_p - log_q).detach()
        c = self.mean if self.running_baseline else torch.zeros_like(self.mean)
        b = self.baseline(x).squeeze(-1) if self.baseline is not None else torch.zeros_like(signal)
        centred = signal - c - b.detach()
        scale = torch.clamp(self.var.sqrt(), min=1.0) if self.normalise else 1.0
        surrogate = -(log_p + (centred / scale) * log_q).mean()
        if self.baseline is not None:
            surrogate = surrogate + ((signal - c - b) ** 2).mean()
        with torch.no_grad():
            a = self.alpha
            self.mean.mul_(a).add_((1 - a) * signal.mean())
            if x.shape[0] > 1:
                self.var.mul_(a).add_((1 - a) * centred.var())
        return surrogate, signal.mean()
