r"""Contrastive learning rules: CD-k and persistent CD (PCD / SML).

For an energy model with free energy F, the gradient of the average negative
log-likelihood of a batch is

.. math::

    \nabla_\theta \bigl(-\tfrac1B \textstyle\sum_n \log p(v_n)\bigr)
      = \langle \partial F / \partial\theta \rangle_{\text{data}}
      - \langle \partial F / \partial\theta \rangle_{\text{model}},

so the gradient of the *surrogate* ``F(v_data).mean() - F(v_model).mean()`` (with
``v_model`` held fixed) is the estimate, whatever the model. The estimators here draw
``v_model`` with a short Gibbs chain started at the data (CD-k, Hinton 2002) or with
chains that persist across updates (PCD, Tieleman 2008), and write the estimate into
each parameter's ``.grad``, so any ``torch.optim`` optimizer, LR scheduler and weight
decay applies to it. Models without a free energy use the energy surrogate
``E(x_data).mean() - E(x_model).mean()`` with the latent groups of the positive phase
filled in by clamped Gibbs sweeps.

These classes hold only the generic algorithm, the reference for every model. A backend
(:mod:`inference.backends`) may run the same estimate faster for a set-up it recognises
(the binary RBM's fused and native steps); :func:`inference.fit` asks it through
:func:`inference.backends.fast_path`.

Practical choices follow Hinton's guide (2010, §3): hidden units driven by data are
sampled; CD's reconstructions use visible probabilities unless ``sample_visible=True``;
the last hidden update uses probabilities (what ∂F/∂θ needs). PCD chains are always
genuinely sampled.

References
----------
G. Hinton, "Training products of experts by minimizing contrastive divergence", 2002.
T. Tieleman, "Training restricted Boltzmann machines using approximations to the
likelihood gradient", ICML 2008.
G. Hinton, "A practical guide to training restricted Boltzmann machines", 2010.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel, has_free_energy
from pgm.checks import check_int, check_model, validation_disabled

from ..backends import requests
from ..mcmc import gibbs
from ..mcmc.gibbs import GibbsState
from ..mcmc.single_site import self_coupled

__all__ = ["CD", "PCD", "GradInfo", "surrogate_loss", "has_free_energy"]


class GradInfo(NamedTuple):
    """What one :meth:`CD.grad` / :meth:`PCD.grad` call used and saw.

    Attributes
    ----------
    v_model : Tensor, shape (n_negative, n_visible)
        Visible values of the negative phase.
    recon_sq : Tensor or None
        CD only: Σ over the batch of ‖v − v₁‖², v₁ the first reconstruction (the
        visible group's conditional mean), as a 0-d tensor that is not synchronised.
        ``None`` for PCD, whose chains do not reconstruct the data.
    """

    v_model: torch.Tensor
    recon_sq: torch.Tensor | None


def surrogate_loss(model: EnergyModel, positive: dict, negative: dict) -> torch.Tensor:
    r"""The scalar whose gradient is the contrastive estimate of ∇(−log-likelihood).

    ``F(positive[v]).mean() - F(negative[v]).mean()`` when the model has a free
    energy (v: the model's data groups side by side, ``model.join_data``), else
    ``E(positive).mean() - E(negative).mean()``, plus the model's
    :meth:`~models.energy.EnergyModel.training_penalty` of the positive rows where it
    has one (a sparsity target). The state dicts map group name →
    (batch, units) values and must carry no gradient.

    Parameters
    ----------
    model : EnergyModel
    positive, negative : dict[str, Tensor]
        Data-driven and model-driven states (the free-energy form needs only the
        visible group).

    Returns
    -------
    Tensor, 0-d
    """
    with validation_disabled():
        if has_free_energy(model):
            pos, neg = model.join_data(positive), model.join_data(negative)
            loss = model.free_energy(pos).mean() - model.free_energy(neg).mean()
        else:
            loss = model.energy(positive).mean() - model.energy(negative).mean()
        penalty = model.training_penalty(model.join_data(positive))
    return loss if penalty is None else loss + penalty


class _Estimator:
    """Shared plumbing: k, the generator, the backward pass."""

    def __init__(self, k, generator):
        self.k = check_int(k, "k")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator

    def _generator(self, model):
        check_model(model, EnergyModel, None)
        if self.generator is None:
            self.generator = torch.Generator(device=model.device)
            self.generator.seed()
        return self.generator

    def backend_request(self):
        """What :func:`inference.backends.fast_path` is asked to run for this rule: a
        :class:`~inference.backends.requests.ContrastiveUpdate` for CD and PCD, ``None``
        for rules no backend takes (PT)."""
        if type(self) not in (CD, PCD):
            return None
        return requests.ContrastiveUpdate(self, isinstance(self, PCD))

    @staticmethod
    def _backward(model, positive, negative):
        for p in model.parameters():
            p.grad = None
        surrogate_loss(model, positive, negative).backward()


def _latents(model):
    data = model.data_groups
    return [g.name for g in model.graph.groups if g.name not in data]


def _averaged(model, groups) -> set:
    """The groups of ``groups`` whose conditional means may replace samples in the energy
    surrogate: not those coupled to themselves, whose energy is not linear in their
    units (a Boltzmann machine's lateral terms need ⟨x_i x_j⟩, not ⟨x_i⟩⟨x_j⟩)."""
    return set(groups) - self_coupled(model.graph)


def _positive_phase(model, v, generator, k):
    """Data-driven state: the free-energy form needs only v; otherwise the latents are
    filled in by k clamped sweeps, the last one using conditional means."""
    given = model.split_data(v)
    if has_free_energy(model):
        return given, None
    state = gibbs.init(model, v.shape[0], generator, clamp=given)
    sampled = dict(state.values)
    for _ in range(k - 1):
        gibbs.sweep(model, sampled, state.beta, generator, clamp=set(given))
    positive = dict(sampled)
    gibbs.sweep(model, positive, state.beta, generator, clamp=set(given), mean=_averaged(model, _latents(model)))
    return positive, GibbsState(sampled, state.beta)


class CD(_Estimator):
    r"""Contrastive divergence CD-k (Hinton, 2002).

    Each call runs k Gibbs steps from the data, v₀ → h₀ → v₁ → … → v_k, and writes
    ⟨∂F/∂θ⟩_{v₀} − ⟨∂F/∂θ⟩_{v_k} into the parameters' ``.grad`` (overwriting it).
    h₀ … h_{k−1} are sampled; v₁ … v_k are the visible conditional means unless
    ``sample_visible=True``; the hidden statistics use probabilities p(h | v).

    Parameters
    ----------
    k : int, default 1
        Gibbs steps per update.
    sample_visible : bool, default False
        Sample the reconstructions instead of using their conditional means
        (Hinton 2010, §3.2: means reduce sampling noise).
    generator : torch.Generator, optional
        Source of all randomness (on the model's device); ``None`` seeds a fresh one.

    Examples
    --------
    >>> from models.energy import RBM
    >>> rbm = RBM(6, 4, seed=0)
    >>> cd = CD(k=1, generator=torch.Generator().manual_seed(0))
    >>> info = cd.grad(rbm, torch.bernoulli(torch.full((8, 6), 0.5)))
    >>> rbm.W.grad.shape
    torch.Size([6, 4])
    """

    def __init__(self, k: int = 1, *, sample_visible: bool = False, generator: torch.Generator | None = None):
        super().__init__(k, generator)
        if not isinstance(sample_visible, bool):
            raise TypeError(f"sample_visible must be a bool, got {sample_visible!r}")
        self.sample_visible = sample_visible

    def __repr__(self):
        return f"CD(k={self.k}, sample_visible={self.sample_visible})"

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True) -> GradInfo:
        """Set ``p.grad`` of every parameter of ``model`` to the CD-k estimate for batch ``v``.

        ``v`` (batch, n_visible) must already be valid data of the model's dtype and
        device (no checks here: this is the training hot path; :func:`inference.fit`
        validates once). ``track_error=False`` skips the reconstruction error.
        """
        gen = self._generator(model)
        data = model.data_groups
        with torch.no_grad(), validation_disabled():
            positive, sampled = _positive_phase(model, v, gen, self.k)
            if sampled is None:
                state = gibbs.init(model, v.shape[0], gen, values=model.split_data(v))
                values, beta = dict(state.values), state.beta
            else:
                values, beta = dict(sampled.values), sampled.beta
            mean_vis = set() if self.sample_visible else _averaged(model, data)
            latents = _averaged(model, _latents(model))
            recon = None
            for step in range(self.k):
                last = step == self.k - 1
                # F(v_k) sums the latents out: the last sweep stops at the visible group
                skip = latents if last and sampled is None else ()
                used = gibbs.sweep(model, values, beta, gen, mean=mean_vis | (latents if last else set()), skip=skip)
                if step == 0 and track_error:
                    means = {g: used[g].mean for g in data}
                    recon = torch.sub(v, model.join_data(means)).pow_(2).sum()
        self._backward(model, positive, values)
        return GradInfo(model.join_data(values), recon)


class PCD(_Estimator):
    r"""Persistent contrastive divergence (Tieleman 2008; stochastic maximum likelihood).

    The negative phase comes from ``n_chains`` Gibbs chains that persist across
    updates: each call advances them by k full sweeps (every unit sampled) and writes
    ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_chains into ``.grad``. The chains start at the first batch
    (rows repeated if there are more chains than rows), hidden units drawn from p(h|v).

    Parameters
    ----------
    k : int, default 1
        Gibbs sweeps per update.
    n_chains : int, optional
        Number of persistent chains; default: the size of the first batch.
    generator : torch.Generator, optional
        As for :class:`CD`.
    positive : callable, optional
        The positive phase, ``positive(model, v, generator) -> state`` (e.g.
        :class:`~inference.learning.MeanFieldPhase`: variational SML for a DBM); default:
        latents summed out or filled in by k clamped Gibbs sweeps.

    Attributes
    ----------
    chains : GibbsState or None
        The chains' current state, ``values = {"v": (n_chains, n_visible), "h": …}``.
        A backend may update these tensors in place; :meth:`state_dict` copies them.
    """

    def __init__(self, k: int = 1, *, n_chains: int | None = None, generator: torch.Generator | None = None,
                 positive=None):
        super().__init__(k, generator)
        self.n_chains = None if n_chains is None else check_int(n_chains, "n_chains")
        if positive is not None and not callable(positive):
            raise TypeError(f"positive must be None or a callable (model, v, generator) -> state, got {positive!r}")
        self.positive = positive
        self.chains: GibbsState | None = None

    def __repr__(self):
        extra = "" if self.positive is None else f", positive={self.positive!r}"
        return f"PCD(k={self.k}, n_chains={self.n_chains}{extra})"

    def init_chains(self, model: EnergyModel, v: torch.Tensor) -> GibbsState:
        """Start the chains at the rows of ``v`` (cycled), latents from their conditionals."""
        n = self.n_chains or v.shape[0]
        idx = torch.arange(n, device=v.device) % v.shape[0]
        with torch.no_grad():
            self.chains = gibbs.init(model, n, self._generator(model), values=model.split_data(v[idx]))
        self.n_chains = n
        return self.chains

    def state_dict(self) -> dict:
        """The chains (copied), for checkpoints: ``{"values": {...}, "beta": Tensor}`` or ``None``."""
        if self.chains is None:
            return {"chains": None}
        return {"chains": {"values": {g: x.detach().clone() for g, x in self.chains.values.items()},
                           "beta": self.chains.beta.detach().clone()}}

    def load_state_dict(self, state: dict, device=None) -> None:
        """Restore chains saved by :meth:`state_dict`."""
        chains = state.get("chains") if isinstance(state, dict) else None
        if chains is None:
            self.chains = None
            return
        values = {g: x.to(device) if device is not None else x for g, x in chains["values"].items()}
        beta = chains["beta"].to(device) if device is not None else chains["beta"]
        self.chains = GibbsState(values, beta)
        self.n_chains = beta.shape[0]

    @staticmethod
    def fold_state_dicts(states: list) -> dict:
        """One :meth:`state_dict` holding the chains of several (the ranks of a run that
        resumes on fewer processes), concatenated in order: the negative phase then averages
        over all of them, a lower-variance estimate of the same ⟨∂F/∂θ⟩_model. A state
        whose chains never started adds none."""
        started = [s["chains"] for s in states if s.get("chains") is not None]
        if not started:
            return {"chains": None}
        return {"chains": {"values": {g: torch.cat([c["values"][g] for c in started]) for g in started[0]["values"]},
                           "beta": torch.cat([c["beta"] for c in started])}}

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True) -> GradInfo:
        """Set ``p.grad`` of every parameter of ``model`` to the PCD-k estimate for batch ``v``.

        ``v`` (batch, n_visible) must already be valid data on the model's dtype and
        device. ``track_error`` is accepted for symmetry with :class:`CD` and ignored.
        """
        gen = self._generator(model)
        if self.chains is None:
            self.init_chains(model, v)
        with torch.no_grad(), validation_disabled():
            if self.positive is None:
                positive, _ = _positive_phase(model, v, gen, self.k)
            else:
                positive = self.positive(model, v, gen)
            values = dict(self.chains.values)
            for _ in range(self.k):
                gibbs.sweep(model, values, self.chains.beta, gen)
            self.chains = GibbsState(values, self.chains.beta)
        self._backward(model, positive, values)
        return GradInfo(model.join_data(values), None)
