r"""Batched Hamiltonian Monte Carlo: many independent chains, a step size per chain.

A sampler as ``init`` / ``step`` over an :class:`HMCState` with an explicit generator,
like :mod:`inference.mcmc.gibbs`. The target is given as a function ``log_prob(z) ->
Tensor (C,)``, differentiable in z of shape (C, d), one unnormalised log-density per
chain (chains may target different densities: AIS anneals one posterior per data point).

One step draws momenta p ~ N(0, I), runs ``n_leapfrog`` leapfrog steps of size ε_c,

.. math::

    p \leftarrow p + \tfrac{\varepsilon}{2} \nabla \log \pi(z), \quad
    z \leftarrow z + \varepsilon p, \quad
    p \leftarrow p + \tfrac{\varepsilon}{2} \nabla \log \pi(z),

and accepts the end point with probability min(1, exp(H₀ − H₁)), H = −log π(z) + ½‖p‖²,
which leaves π invariant for any fixed ε. With ``adapt`` the step size of each chain then
moves toward the ``target_accept`` rate, log ε ← log ε + κ (α − target): the kernel of
the next step depends only on the chain's past, as in the decoder AIS of Wu et al. (2017).
A non-finite energy (a leapfrog path that diverged) is a rejection.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from pgm.checks import check_float, check_int

__all__ = ["HMCState", "init", "step", "run"]


class HMCState(NamedTuple):
    """``z`` (C, d) positions; ``log_prob`` (C,) and ``grad`` (C, d) of the target there;
    ``step_size`` (C,) per chain; ``accept`` (C,) the last step's acceptance probability;
    ``accepted`` (C,) how many proposals each chain accepted; ``steps`` taken."""

    z: torch.Tensor
    log_prob: torch.Tensor
    grad: torch.Tensor
    step_size: torch.Tensor
    accept: torch.Tensor
    accepted: torch.Tensor
    steps: int


def _value_and_grad(log_prob: Callable, z: torch.Tensor):
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        lp = log_prob(z)
        if not isinstance(lp, torch.Tensor) or lp.shape != z.shape[:1]:
            raise ValueError(f"hmc: log_prob(z) must return one value per chain, shape ({z.shape[0]},), got "
                             f"{tuple(getattr(lp, 'shape', ())) or type(lp).__name__}")
        (grad,) = torch.autograd.grad(lp.sum(), z)
    return lp.detach(), grad.detach()


def init(log_prob: Callable, z0: torch.Tensor, step_size=0.1) -> HMCState:
    """The state at ``z0`` (C, d): the target's value and gradient there, and the step
    size of every chain (a float or a (C,) tensor)."""
    if not callable(log_prob):
        raise TypeError(f"hmc.init: log_prob must be a callable z -> (C,) log-densities, got {log_prob!r}")
    if not isinstance(z0, torch.Tensor) or z0.dim() != 2 or not z0.is_floating_point():
        raise ValueError(f"hmc.init: z0 must be a floating tensor of shape (chains, d), got "
                         f"{getattr(z0, 'shape', type(z0).__name__)}")
    if not bool(torch.isfinite(z0).all()):
        raise ValueError("hmc.init: z0 contains NaN or infinite values")
    C = z0.shape[0]
    if isinstance(step_size, torch.Tensor):
        eps = step_size.to(dtype=z0.dtype, device=z0.device).expand(C).clone()
    else:
        eps = torch.full((C,), check_float(step_size, "step_size", 0.0, low_open=True, where="hmc.init"),
                         dtype=z0.dtype, device=z0.device)
    if not bool(((eps > 0) & torch.isfinite(eps)).all()):
        raise ValueError("hmc.init: step_size must be finite and > 0 for every chain")
    lp, grad = _value_and_grad(log_prob, z0)
    zeros = torch.zeros(C, dtype=z0.dtype, device=z0.device)
    return HMCState(z0.detach(), lp, grad, eps, zeros, zeros.clone(), 0)


def step(log_prob: Callable, state: HMCState, generator: torch.Generator, n_leapfrog: int = 10, adapt: bool = False,
         target_accept: float = 0.65, adapt_rate: float = 0.05) -> HMCState:
    """One HMC transition of every chain (module docstring); with ``adapt`` each chain's
    step size then moves toward ``target_accept``."""
    n_leapfrog = check_int(n_leapfrog, "n_leapfrog", 1, "hmc.step")
    z, lp, grad, eps = state.z, state.log_prob, state.grad, state.step_size
    e = eps[:, None]
    p0 = torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)
    p = p0 + 0.5 * e * grad
    z1, lp1, grad1 = z, lp, grad
    for i in range(n_leapfrog):
        z1 = z1 + e * p
        lp1, grad1 = _value_and_grad(log_prob, z1)
        p = p + (e if i < n_leapfrog - 1 else 0.5 * e) * grad1
    h0 = -lp + 0.5 * p0.square().sum(-1)
    h1 = -lp1 + 0.5 * p.square().sum(-1)
    log_alpha = torch.where(torch.isfinite(h1), (h0 - h1).clamp(max=0.0), torch.full_like(h1, -torch.inf))
    alpha = log_alpha.exp()
    u = torch.rand(alpha.shape, generator=generator, dtype=z.dtype, device=z.device)
    take = u < alpha
    new_z = torch.where(take[:, None], z1, z)
    new_lp = torch.where(take, lp1, lp)
    new_grad = torch.where(take[:, None], grad1, grad)
    if adapt:
        eps = eps * torch.exp(adapt_rate * (alpha - target_accept))
    return HMCState(new_z, new_lp, new_grad, eps, alpha, state.accepted + take.to(z.dtype), state.steps + 1)


def run(log_prob: Callable, state: HMCState, n_steps: int, generator: torch.Generator, **kw) -> HMCState:
    """``n_steps`` calls of :func:`step` with the same options."""
    for _ in range(check_int(n_steps, "n_steps", 0, "hmc.run")):
        state = step(log_prob, state, generator, **kw)
    return state
