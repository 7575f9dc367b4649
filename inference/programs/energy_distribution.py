r"""An energy model's visible marginal as a Pyro distribution.

.. math::

    p(x) = \frac{e^{-F(x)}}{Z}, \qquad \log p(x) = -F(x) - \log Z ,

with F the model's free energy (its latent groups summed out) and log Z taken from a
:class:`~inference.partition.LogZEstimate`. Drawing runs block Gibbs chains of the model
(:mod:`inference.mcmc.gibbs`). This is how an undirected model enters a Pyro program: the
deep belief net's top RBM is the prior of its penultimate layer.
"""

from __future__ import annotations

import math

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints

from models.energy import EnergyModel, has_free_energy
from pgm.checks import check_device, check_int, check_memory, check_model, validation_disabled
from pgm import BERNOULLI_KINDS, REAL_KINDS

from ..mcmc import gibbs
from ..mcmc.sampling import make_generator
from ..partition import LogZEstimate
from ..partition.exact import _float64_copy

__all__ = ["EnergyDistribution"]

_WHERE = "EnergyDistribution"


class EnergyDistribution(TorchDistribution):
    r"""The visible marginal p(x) = exp(−F(x)) / Z of an energy model, for Pyro programs.

    ``log_prob(x) = −F(x) − log Z`` with log Z the point estimate ``log_z.log_z`` of the
    given :class:`~inference.partition.LogZEstimate`: exact when it comes from
    :func:`~inference.exact_log_partition`, otherwise ``log_prob`` inherits the
    estimate's error (an AIS estimate shifts every value by the same unknown amount;
    :meth:`log_prob_bracket` maps its bracket onto ``log_prob``). ``sample`` runs
    independent block Gibbs chains of the model: each chain starts from uniform noise, is
    run ``n_gibbs`` sweeps (burn-in) and then gives its visible state; with ``n_chains``
    fewer than the draws asked for, each chain gives several, ``thin`` sweeps apart. Draws
    are therefore approximate, exact only in the limit of a long burn-in.

    Parameters
    ----------
    model : EnergyModel
        A model with a tractable free energy (:class:`models.RBM`,
        :class:`models.GaussianRBM`, ...), Bernoulli or real-valued visible units. It is
        not modified; its parameters must not change while the distribution is used
        (``log_prob`` refuses once they have: log Z would be stale).
    log_z : LogZEstimate, optional
        log Z of ``model``; needed by :meth:`log_prob` only.
    n_gibbs : int, default 1000
        Burn-in sweeps of every chain before its first draw (≥ 0).
    thin : int, default 1
        Sweeps between two draws of one chain (only with ``n_chains``).
    n_chains : int, optional
        Chains per call of :meth:`sample`; default one chain per draw (independent draws).
    generator : torch.Generator, optional
        Source of every random number of :meth:`sample`, advanced by each call; by default
        each call seeds a generator from torch's global one, so ``pyro.set_rng_seed``
        reproduces a program's draws.
    batch_shape : torch.Size, default ()
        Identical copies of the distribution (what ``pyro.plate`` broadcasting makes).
    validate_args : bool, optional
        As for ``torch.distributions``: check values passed to :meth:`log_prob` lie in the
        support and have the event shape.

    Attributes
    ----------
    energy_model : EnergyModel
    log_z : LogZEstimate or None
    event_shape : torch.Size
        The visible group's size, e.g. ``(n_visible,)``.
    support : Constraint
        ``independent(boolean, 1)`` for Bernoulli visible units, ``independent(real, 1)``
        for real-valued ones.

    Notes
    -----
    ``log_prob`` is float64 (the library's convention for log-likelihoods) and
    differentiable in the model's parameters through F only: log Z is a constant here, so
    its gradient is not ∂ log p(x)/∂θ. Train the energy model with :func:`inference.fit`.

    Examples
    --------
    >>> import pyro
    >>> from models import RBM
    >>> from inference import exact_log_partition
    >>> rbm = RBM(4, 3, seed=0)
    >>> d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), n_gibbs=50)
    >>> with pyro.plate("data", 5):
    ...     x = pyro.sample("x", d)
    >>> x.shape, d.log_prob(x).shape
    (torch.Size([5, 4]), torch.Size([5]))
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, model: EnergyModel, log_z: LogZEstimate | None = None, *, n_gibbs: int = 1000, thin: int = 1,
                 n_chains: int | None = None, generator: torch.Generator | None = None,
                 batch_shape=torch.Size(), validate_args=None):
        check_model(model, EnergyModel, _WHERE, what="an EnergyModel (e.g. models.RBM)")
        if not has_free_energy(model):
            raise TypeError(f"{_WHERE}: model must have a tractable free energy F(x) for log_prob = -F(x) - log Z; "
                            f"{type(model).__name__} has none")
        vis = model.graph[model.visible_name]
        if vis.kind in BERNOULLI_KINDS:
            support = constraints.boolean
        elif vis.kind in REAL_KINDS:
            support = constraints.real
        else:
            raise TypeError(f"{_WHERE}: model's visible group {vis.name!r} has units of kind {vis.kind!r}; "
                            f"Bernoulli ({BERNOULLI_KINDS}) or real-valued ({REAL_KINDS}) units are supported")
        if log_z is not None and not isinstance(log_z, LogZEstimate):
            raise TypeError(f"{_WHERE}: log_z must be a LogZEstimate (from inference.exact_log_partition or "
                            f"inference.ais_log_partition) or None, got {type(log_z).__name__} {log_z!r}")
        if log_z is not None:
            log_z.checked(_WHERE)
        self.n_gibbs = check_int(n_gibbs, "n_gibbs", 0, _WHERE)
        self.thin = check_int(thin, "thin", 1, _WHERE)
        self.n_chains = None if n_chains is None else check_int(n_chains, "n_chains", 1, _WHERE)
        if generator is not None:
            if not isinstance(generator, torch.Generator):
                raise TypeError(f"{_WHERE}: generator must be a torch.Generator or None, got {type(generator).__name__}")
            if generator.device.type != model.device.type:
                raise ValueError(f"{_WHERE}: generator is on {generator.device} but the model is on {model.device}")
        self.energy_model, self.log_z, self.generator = model, log_z, generator
        self._support = constraints.independent(support, len(vis.size))
        self._real = vis.kind in REAL_KINDS
        self._snapshot = [p.detach().clone() for p in model.parameters()]
        super().__init__(torch.Size(batch_shape), torch.Size(vis.size), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=1)
    def support(self):
        return self._support

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(EnergyDistribution, _instance)
        new.energy_model, new.log_z, new.generator = self.energy_model, self.log_z, self.generator
        new.n_gibbs, new.thin, new.n_chains = self.n_gibbs, self.thin, self.n_chains
        new._support, new._snapshot, new._real = self._support, self._snapshot, self._real
        super(EnergyDistribution, new).__init__(torch.Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # -- drawing ------------------------------------------------------------------------
    def sample(self, sample_shape=torch.Size(), generator: torch.Generator | None = None) -> torch.Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape`` from Gibbs chains.

        ``generator`` (optional) replaces the distribution's own for this call.
        """
        shape = torch.Size(sample_shape) + self.batch_shape
        m = shape.numel()
        model = self.energy_model
        gen = generator or self.generator
        if gen is None:
            gen = make_generator(int(torch.randint(0, 2**62, ())), model.device)
        vis = model.visible_name
        if m == 0:
            return torch.zeros(shape + self.event_shape, dtype=model.dtype, device=model.device)
        chains = m if self.n_chains is None else min(self.n_chains, m)
        units = sum(g.n_units for g in model.graph.groups)  # the draws (stacked, then reshaped) and the chains
        check_memory(f"{_WHERE}.sample", 2 * m * self.event_shape.numel() + chains * units, model.dtype,
                     f"{m} draws of {self.event_shape.numel()} units", "draw fewer at a time")
        per_chain = -(-m // chains)
        with torch.no_grad(), validation_disabled():
            state = gibbs.run(model, gibbs.init(model, chains, gen), self.n_gibbs, gen)
            draws = [state.values[vis]]
            for _ in range(per_chain - 1):
                state = gibbs.run(model, state, self.thin, gen)
                draws.append(state.values[vis])
        x = torch.stack(draws).reshape(per_chain * chains, -1)[:m]  # row i: draw i // chains of chain i % chains
        return x.reshape(shape + self.event_shape).clone()

    # -- densities ----------------------------------------------------------------------
    def _free_energy(self, value: torch.Tensor) -> torch.Tensor:
        """F(x) in float64, shape broadcast(value's batch shape, batch_shape).

        Rows whose free energy overflows the model's dtype are computed again on a float64
        copy of the model (a Gaussian RBM at x = 1e30 has F ≈ 5e59, beyond float32);
        for real-valued units a row with an infinite value has F = +inf (density 0),
        one with NaN gives NaN."""
        where = f"{_WHERE}.log_prob"
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{where}: value must be a tensor (..., {self.event_shape.numel()}), got "
                            f"{type(value).__name__}")
        if value.is_complex():
            raise TypeError(f"{where}: value must be a real tensor, got {value.dtype}; its imaginary part would be "
                            "dropped: pass value.real if that is what you mean")
        check_device(value, "value", where)
        n_event = len(self.event_shape)
        if value.dim() < n_event or value.shape[value.dim() - n_event:] != self.event_shape:
            raise ValueError(f"{where}: value must have shape (..., {', '.join(map(str, self.event_shape))}), got "
                             f"shape {tuple(value.shape)}")
        if self._validate_args and value.numel():  # (torch's support check cannot reshape an empty batch)
            self._validate_sample(value)
        model = self.energy_model
        for p, s in zip(model.parameters(), self._snapshot):
            if p.shape != s.shape or not torch.equal(p.detach().to(dtype=s.dtype, device=s.device), s):
                raise ValueError(f"{_WHERE}.log_prob: the parameters of the {type(model).__name__} changed after "
                                 "this distribution was made, so its log Z no longer applies; estimate log Z again "
                                 "and make a new EnergyDistribution")
        lead = value.shape[:value.dim() - n_event]
        flat = value.reshape(lead.numel(), self.event_shape.numel()).to(dtype=model.dtype, device=model.device)
        f = torch.full((flat.shape[0],), math.nan, dtype=torch.float64, device=model.device)
        finite = torch.isfinite(flat).all(-1)
        if self._real:
            f[~finite & ~flat.isnan().any(-1)] = math.inf  # an infinite coordinate: density 0
        with validation_disabled():
            if bool(finite.any()):
                f[finite] = model.free_energy(flat[finite]).to(torch.float64)
            over = finite & ~torch.isfinite(f)
            if bool(over.any()) and model.dtype != torch.float64:  # beyond the model's dtype: again in float64
                f[over] = _float64_copy(model).free_energy(flat[over].to(torch.float64)).to(torch.float64)
        return f.reshape(lead).expand(torch.broadcast_shapes(lead, self.batch_shape))

    def _log_z(self, where):
        if self.log_z is None:
            raise ValueError(f"{_WHERE}.{where}: this distribution was made without log_z; pass "
                             "log_z=inference.exact_log_partition(model) or inference.ais_log_partition(model, ...)")
        return self.log_z

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        r"""log p(x) = −F(x) − log Z (float64), shape ``broadcast(value.shape[:-1], batch_shape)``.

        Inherits the error of ``log_z``: exact for an exact log Z.
        """
        log_z = self._log_z("log_prob")
        return -self._free_energy(value) - log_z.log_z

    def log_prob_bracket(self, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(−F(x) − log_z.upper, −F(x) − log_z.lower): ``log_prob`` at both ends of the
        log Z bracket (equal for an exact log Z; the lower end is −inf where the AIS
        bracket's upper end is +inf)."""
        log_z = self._log_z("log_prob_bracket")
        neg_f = -self._free_energy(value)
        return neg_f - log_z.upper, neg_f - log_z.lower

    def __repr__(self) -> str:
        lz = "None" if self.log_z is None else f"{self.log_z.log_z:.4f} ({self.log_z.method})"
        return (f"EnergyDistribution({type(self.energy_model).__name__}, log_z={lz}, n_gibbs={self.n_gibbs}, "
                f"batch_shape={tuple(self.batch_shape)}, event_shape={tuple(self.event_shape)})")
