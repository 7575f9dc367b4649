r"""Learning with a Hamiltonian Monte Carlo negative phase on the free energy.

For a model with real-valued visible units and a free energy F (the mcRBM, the mPoT), the
gradient of the negative log-likelihood is ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_model, as for every
contrastive rule (:mod:`inference.learning.contrastive`). Here the model samples come
from persistent HMC chains on the visible marginal p(v) ∝ exp(−F(v)), the hidden units
summed out (Ranzato & Hinton 2010 draw their negative samples so): each update advances
the chains by ``k`` HMC transitions (:mod:`inference.mcmc.hmc`, ``n_leapfrog`` leapfrog
steps each) with the current parameters, then writes the surrogate's gradient
``F(v_data).mean() − F(v_chains).mean()`` into ``.grad``, so any ``torch.optim``
optimizer applies. Each chain's step size moves toward ``target_accept`` after every
transition (log ε ← log ε + κ(α − target), clipped to [``min_step``, ``max_step``]): the
kernel of a transition depends only on its chain's past, and the chains track a model
that changes under them anyway.
"""

from __future__ import annotations

import torch

from models.energy import EnergyModel, has_free_energy
from pgm import REAL_KINDS
from pgm.checks import check_float, check_int, validation_disabled

from ..mcmc import hmc
from ..mcmc.hmc import HMCState
from .contrastive import GradInfo, _Estimator

__all__ = ["PersistentHMC"]


class PersistentHMC(_Estimator):
    r"""Persistent HMC chains on −F(v) as the negative phase (module docstring).

    Parameters
    ----------
    k : int, default 1
        HMC transitions per update.
    n_chains : int, optional
        Persistent chains; default the size of the first batch. They start at its rows
        (cycled).
    n_leapfrog : int, default 20
        Leapfrog steps per transition (the reference code's 20).
    step_size : float, default 0.01
        Initial step size of every chain (the reference code's).
    target_accept : float, default 0.9
        Acceptance rate the step sizes move toward (the reference code aims at a 10 %
        rejection rate).
    adapt_rate : float, default 0.05
        κ of the adaptation.
    min_step, max_step : float, default 0.001 and 0.25
        Bounds of the step sizes (the reference code's).
    generator : torch.Generator, optional
        Source of all randomness; ``None`` seeds a fresh one.

    Attributes
    ----------
    chains : HMCState or None
        Positions, step sizes and acceptance counts of the chains (the cached log-density
        and gradient are recomputed at each update, the parameters having moved).

    Examples
    --------
    >>> from models.energy import MeanCovarianceRBM
    >>> m = MeanCovarianceRBM(4, 3, n_mean=2, seed=0)
    >>> rule = PersistentHMC(n_leapfrog=5, generator=torch.Generator().manual_seed(0))
    >>> info = rule.grad(m, torch.randn(8, 4, generator=torch.Generator().manual_seed(1)))
    >>> m.C.grad.shape, rule.chains.z.shape
    (torch.Size([4, 3]), torch.Size([8, 4]))
    """

    def __init__(self, k: int = 1, *, n_chains: int | None = None, n_leapfrog: int = 20, step_size: float = 0.01,
                 target_accept: float = 0.9, adapt_rate: float = 0.05, min_step: float = 1e-3, max_step: float = 0.25,
                 generator: torch.Generator | None = None):
        super().__init__(k, generator)
        where = "PersistentHMC"
        self.n_chains = None if n_chains is None else check_int(n_chains, "n_chains", 1, where)
        self.n_leapfrog = check_int(n_leapfrog, "n_leapfrog", 1, where)
        self.min_step = check_float(min_step, "min_step", 0.0, low_open=True, where=where)
        self.max_step = check_float(max_step, "max_step", self.min_step, where=where)
        self.step_size = check_float(step_size, "step_size", self.min_step, self.max_step, where=where)
        self.target_accept = check_float(target_accept, "target_accept", 0.0, 1.0, True, True, where=where)
        self.adapt_rate = check_float(adapt_rate, "adapt_rate", 0.0, where=where)
        self.chains: HMCState | None = None
        self._stats = [0.0, 0]  # acceptance probabilities summed since the last epoch_stats(), transitions

    def __repr__(self):
        return (f"PersistentHMC(k={self.k}, n_chains={self.n_chains}, n_leapfrog={self.n_leapfrog}, "
                f"step_size={self.step_size}, target_accept={self.target_accept}, adapt_rate={self.adapt_rate}, "
                f"min_step={self.min_step}, max_step={self.max_step})")

    def with_generator(self, generator: torch.Generator, n_chains: int | None = None,
                       k: int | None = None) -> "PersistentHMC":
        """A fresh rule with these options and ``generator``; ``n_chains`` and ``k``, where
        given, replace this rule's (as :func:`inference.fit` gives its own)."""
        return PersistentHMC(self.k if k is None else k, n_chains=n_chains or self.n_chains, n_leapfrog=self.n_leapfrog,
                             step_size=self.step_size, target_accept=self.target_accept, adapt_rate=self.adapt_rate,
                             min_step=self.min_step, max_step=self.max_step, generator=generator)

    @staticmethod
    def check_model(model, where: str) -> None:
        """Refuse a model this rule cannot train: it needs real-valued visible units and a free energy."""
        if not isinstance(model, EnergyModel) or not has_free_energy(model) \
                or model.graph[model.visible_name].kind not in REAL_KINDS or len(model.data_groups) != 1:
            kind = model.graph[model.visible_name].kind if isinstance(model, EnergyModel) else None
            free = isinstance(model, EnergyModel) and has_free_energy(model)
            raise TypeError(f"{where} runs HMC on the free energy F(v) of real-valued visible units; a "
                            f"{type(model).__name__} has {kind!r} visible units"
                            f"{'' if free else ' and no free energy'}: use method 'cd' or 'pcd' (block Gibbs)")

    @staticmethod
    def target(model):
        """log π(v) = −F(v), batched: the chains' target."""
        return lambda z: -model.free_energy(z)

    def init_chains(self, model: EnergyModel, v: torch.Tensor) -> HMCState:
        """Start the chains at the rows of ``v`` (cycled)."""
        n = self.n_chains or v.shape[0]
        idx = torch.arange(n, device=v.device) % v.shape[0]
        with validation_disabled():
            self.chains = hmc.init(self.target(model), v[idx].detach().clone(), self.step_size)
        self.n_chains = n
        return self.chains

    def epoch_stats(self) -> dict:
        """Mean acceptance probability of the transitions since the last call and the chains'
        median step size; resets the count."""
        total, n = self._stats
        self._stats = [0.0, 0]
        step = None if self.chains is None else float(self.chains.step_size.median())
        return {"hmc_accept": total / n if n else None, "hmc_step_size": step}

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True) -> GradInfo:
        """Advance the chains by ``k`` transitions, then set ``p.grad`` of every parameter to
        ⟨∂F/∂θ⟩_v − ⟨∂F/∂θ⟩_chains. ``v`` must be valid data of the model's dtype and
        device (``track_error`` is ignored)."""
        gen = self._generator(model)
        target = self.target(model)
        with validation_disabled():
            if self.chains is None:
                self.init_chains(model, v)
            old = self.chains
            lp, g = hmc._value_and_grad(target, old.z)  # the parameters moved since the last update
            state = old._replace(log_prob=lp, grad=g)
            for _ in range(self.k):
                state = hmc.step(target, state, gen, n_leapfrog=self.n_leapfrog, adapt=self.adapt_rate > 0,
                                 target_accept=self.target_accept, adapt_rate=self.adapt_rate)
                state = state._replace(step_size=state.step_size.clamp(self.min_step, self.max_step))
                self._stats[0] += float(state.accept.mean())
                self._stats[1] += 1
            self.chains = state
        self._backward(model, {model.visible_name: v}, {model.visible_name: state.z})
        return GradInfo(state.z, None)

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The chains (copied): ``{"chains": {"z", "step_size", "accept", "accepted", "steps"}}``
        or ``{"chains": None}``."""
        s = self.chains
        if s is None:
            return {"chains": None}
        return {"chains": {"z": s.z.clone(), "step_size": s.step_size.clone(), "accept": s.accept.clone(),
                           "accepted": s.accepted.clone(), "steps": int(s.steps)}}

    def check_state_dict(self, saved, bad, model) -> None:
        """Refuse a malformed saved state (``bad(what)`` raises), before anything loads."""
        if not isinstance(saved, dict) or "chains" not in saved:
            raise bad("must be a dict with 'chains'")
        chains = saved["chains"]
        if chains is None:
            return
        d = model.graph[model.visible_name].n_units
        keys = {"z", "step_size", "accept", "accepted", "steps"}
        if not isinstance(chains, dict) or set(chains) != keys:
            raise bad(f"chains must hold {sorted(keys)}")
        z = chains["z"]
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != d or not z.is_floating_point():
            raise bad(f"chains 'z' must be a floating tensor (n_chains, {d})")
        n = z.shape[0]
        if self.n_chains is not None and n % self.n_chains:
            raise bad(f"holds {n} chains, the run has {self.n_chains} per process (or a multiple of that, after a "
                      "resume on fewer processes folded their chains together)")
        for key in ("step_size", "accept", "accepted"):
            t = chains[key]
            if not isinstance(t, torch.Tensor) or t.shape != (n,) or not bool(torch.isfinite(t).all()):
                raise bad(f"chains {key!r} must be a finite tensor of shape ({n},)")
        if not bool(torch.isfinite(z).all()) or not bool((chains["step_size"] > 0).all()):
            raise bad("chains must hold finite positions and positive step sizes")
        if type(chains["steps"]) is not int or chains["steps"] < 0:
            raise bad("chains 'steps' must be an int >= 0")

    @staticmethod
    def fold_state_dicts(states: list) -> dict:
        """One :meth:`state_dict` holding the chains of several (the ranks of a run that
        resumes on fewer processes), concatenated in order, each chain with its own step
        size and acceptance; ``steps`` (the same count on every rank) is the first's."""
        started = [s["chains"] for s in states if s.get("chains") is not None]
        if not started:
            return {"chains": None}
        return {"chains": {**{key: torch.cat([c[key] for c in started])
                              for key in ("z", "step_size", "accept", "accepted")},
                           "steps": started[0]["steps"]}}

    def load_state_dict(self, state: dict, device=None) -> None:
        """Restore chains saved by :meth:`state_dict` (log-density and gradient are recomputed
        at the next update)."""
        chains = state.get("chains") if isinstance(state, dict) else None
        if chains is None:
            self.chains = None
            return
        z = chains["z"].to(device) if device is not None else chains["z"]
        put = (lambda t: t.to(device)) if device is not None else (lambda t: t)
        zeros = torch.zeros_like(z)
        self.chains = HMCState(z, torch.zeros(z.shape[0], dtype=z.dtype, device=z.device), zeros,
                               put(chains["step_size"]), put(chains["accept"]), put(chains["accepted"]),
                               int(chains["steps"]))
        self.n_chains = z.shape[0]

