r"""Learning with a parallel-tempering negative phase (Desjardins et al. 2010).

The gradient estimate is PCD's, ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_model (or the energy form for
models without a free energy), but the model samples come from the β = 1 replica of
persistent parallel-tempering chains (:mod:`inference.mcmc.tempering`): hotter replicas
cross between modes and hand their states down by replica exchange, so the negative
phase mixes where plain persistent chains get stuck.

References
----------
G. Desjardins, A. Courville, Y. Bengio, P. Vincent, O. Delalleau, "Tempered Markov chain
Monte Carlo for training of restricted Boltzmann machines", AISTATS 2010.
"""

from __future__ import annotations

import torch

from models.energy import EnergyModel
from pgm.checks import check_int, validation_disabled

from ..mcmc import tempering
from ..mcmc.tempering import PTState
from .contrastive import GradInfo, _Estimator, _positive_phase

__all__ = ["PT"]


class PT(_Estimator):
    r"""Persistent parallel tempering as the negative phase of learning.

    Each call advances the persistent chains by k tempering steps (a Gibbs sweep of every
    replica, then one phase of neighbour swaps) and writes ⟨∂F/∂θ⟩_data −
    ⟨∂F/∂θ⟩_{β=1 replica} into ``.grad``.

    Parameters
    ----------
    k : int, default 1
        Tempering steps per update.
    n_chains : int, optional
        Chains per temperature; default: the size of the first batch.
    n_temperatures : int, default 5
        Replicas per chain, on :func:`inference.tempering.ladder` from 1 to ``beta_min``.
    beta_min : float, default 0.1
        Inverse temperature of the hottest replica.
    generator : torch.Generator, optional
        Source of all randomness; ``None`` seeds a fresh one.

    Attributes
    ----------
    chains : PTState or None
        The replicas (``values`` replica-major, β = 1 first).
    n_chains : int or None
        Rows of the chain state: chains per temperature × ``n_temperatures``.
    """

    def __init__(self, k: int = 1, *, n_chains: int | None = None, n_temperatures: int = 5, beta_min: float = 0.1,
                 generator: torch.Generator | None = None):
        super().__init__(k, generator)
        self.n_temperatures = check_int(n_temperatures, "n_temperatures", 1, "PT")
        self.betas = tempering.ladder(self.n_temperatures, beta_min)
        self.beta_min = beta_min
        self.chains_per_temperature = None if n_chains is None else check_int(n_chains, "n_chains", 1, "PT")
        self.chains: PTState | None = None

    @property
    def n_chains(self) -> int | None:
        c = self.chains_per_temperature
        return None if c is None else c * self.n_temperatures

    def __repr__(self):
        return (f"PT(k={self.k}, n_chains={self.chains_per_temperature}, n_temperatures={self.n_temperatures}, "
                f"beta_min={self.beta_min})")

    def init_chains(self, model: EnergyModel, v: torch.Tensor) -> PTState:
        """Start every replica at the rows of ``v`` (cycled), latents from their conditionals."""
        c = self.chains_per_temperature or v.shape[0]
        idx = torch.arange(c, device=v.device) % v.shape[0]
        start = v[idx].repeat(self.n_temperatures, 1)
        with torch.no_grad():
            self.chains = tempering.init(model, c, self.betas, self._generator(model),
                                         values=model.split_data(start))
        self.chains_per_temperature = c
        return self.chains

    def swap_rates(self) -> torch.Tensor:
        """Swap acceptance between neighbouring replicas so far, shape (n_temperatures − 1,)."""
        if self.chains is None:
            return torch.full((self.n_temperatures - 1,), float("nan"), dtype=torch.float64)
        return tempering.swap_rates(self.chains)

    def state_dict(self) -> dict:
        """The chains (copied) in the PCD layout (one row per replica of each chain, its β)
        plus the swap counts: ``{"chains": {"values", "beta"}, "swaps": {...}}``."""
        if self.chains is None:
            return {"chains": None}
        s = self.chains
        rows = s.energy.shape[0]
        beta_rows = s.betas.repeat_interleave(rows // s.betas.shape[0])
        return {"chains": {"values": {g: x.detach().clone() for g, x in s.values.items()}, "beta": beta_rows.clone()},
                "swaps": {"accepted": s.accepted.clone(), "proposed": s.proposed.clone(), "n_steps": s.n_steps}}

    def load_state_dict(self, state: dict, device=None) -> None:
        """Restore chains saved by :meth:`state_dict`."""
        chains = state.get("chains") if isinstance(state, dict) else None
        if chains is None:
            self.chains = None
            return
        values = {g: x.to(device) if device is not None else x for g, x in chains["values"].items()}
        beta_rows = chains["beta"]
        rows = beta_rows.shape[0]
        c = rows // self.n_temperatures
        betas = beta_rows.reshape(self.n_temperatures, c)[:, 0].to(torch.float64)
        swaps = state.get("swaps") or {}
        dev = device if device is not None else beta_rows.device
        zeros = torch.zeros(self.n_temperatures - 1, dtype=torch.float64, device=dev)
        energy = torch.zeros(rows, dtype=torch.float64, device=dev)  # recomputed at the next step
        self.chains = PTState(values, betas.to(dev), energy, swaps.get("accepted", zeros).to(dev),
                              swaps.get("proposed", zeros).to(dev), int(swaps.get("n_steps", 0)))
        self.chains_per_temperature = c

    def fold_state_dicts(self, states: list) -> dict:
        """One :meth:`state_dict` holding the chains of several (the ranks of a run that
        resumes on fewer processes): their replicas joined temperature by temperature, so
        that each chain keeps its ladder (row t·C + j is chain j at β_t), and their swap
        counts summed. The ladders must be the same (``n_temperatures`` and ``beta_min``
        are the run's settings), else a ValueError."""
        started = [s for s in states if s.get("chains") is not None]
        if not started:
            return {"chains": None}
        t = self.n_temperatures

        def by_temperature(x):  # (T·c, ...) -> (T, c, ...)
            return x.reshape(t, x.shape[0] // t, *x.shape[1:])

        ladders = [by_temperature(s["chains"]["beta"])[:, 0] for s in started]
        if any(not torch.equal(ladder, ladders[0]) for ladder in ladders):
            raise ValueError("PT: the chains to fold were run on different temperature ladders "
                             f"({[ladder.tolist() for ladder in ladders]}); they cannot be joined")

        def join(tensors):
            parts = [by_temperature(x) for x in tensors]
            return torch.cat(parts, 1).reshape(-1, *parts[0].shape[2:])

        groups = started[0]["chains"]["values"]
        swaps = [s.get("swaps") or {} for s in started]
        out = {"chains": {"values": {g: join([s["chains"]["values"][g] for s in started]) for g in groups},
                          "beta": join([s["chains"]["beta"] for s in started])}}
        if all(w for w in swaps):
            out["swaps"] = {"accepted": sum(w["accepted"] for w in swaps),
                            "proposed": sum(w["proposed"] for w in swaps), "n_steps": swaps[0]["n_steps"]}
        return out

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True) -> GradInfo:
        """Set ``p.grad`` of every parameter of ``model`` to the estimate for batch ``v``
        (valid data of the model's dtype and device; ``track_error`` is ignored)."""
        gen = self._generator(model)
        if self.chains is None:
            self.init_chains(model, v)
        with torch.no_grad(), validation_disabled():
            positive, _ = _positive_phase(model, v, gen, self.k)
            state = self.chains
            for _ in range(self.k):
                state = tempering._step(model, state, gen, "sequential")
            self.chains = state
            negative = tempering.replica(state, 0)
        self._backward(model, positive, negative)
        return GradInfo(model.join_data(negative), None)
