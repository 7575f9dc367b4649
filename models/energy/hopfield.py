r"""The Hopfield network: an associative memory of ±1 units."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

import pgm

from .base import EnergyModel
from .lateral import LateralBernoulli
from pgm.checks import check_beta, check_int, check_memory

__all__ = ["Hopfield", "Recall", "RULES", "MODES"]

#: Learning rules of :meth:`Hopfield.store`.
RULES = ("hebbian", "storkey", "pseudo_inverse")
#: Update modes of :meth:`Hopfield.recall`.
MODES = ("async", "sync")


class Recall(NamedTuple):
    """What :meth:`Hopfield.recall` returns.

    Attributes
    ----------
    states : Tensor, shape (batch, n)
        Final states, values in {−1, +1}.
    sweeps : Tensor of int64, shape (batch,)
        Sweeps applied to each probe (the last, confirming one included).
    converged : Tensor of bool, shape (batch,)
        Whether the probe reached a fixed point (or, for synchronous updates, a 2-cycle)
        within ``max_sweeps``; always ``False`` at a positive temperature.
    """

    states: torch.Tensor
    sweeps: torch.Tensor
    converged: torch.Tensor


def _check_spins(x, name, n, dtype, device):
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating tensor of ±1 values, got {got}")
    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.shape[1] != n:
        raise ValueError(f"{name} must have shape (batch, {n}), got {tuple(x.shape)}")
    bad = (x != 1) & (x != -1)
    if bad.any():
        raise ValueError(f"{name} must hold only -1 and +1, got e.g. {x[bad][:3].tolist()}; "
                         "map {0, 1} data with 2 * x - 1")
    return x.to(dtype=dtype, device=device)


class Hopfield(EnergyModel):
    r"""Hopfield network (Hopfield, 1982) of n spins s ∈ {−1, +1}ⁿ.

    .. math::

        E(s) = -\tfrac12\, s^\top W s + \theta^\top s,

    with W symmetric and zero on the diagonal, set by :meth:`store` from the patterns
    ξ¹ … ξᴾ according to ``rule``:

    * ``"hebbian"``: W = (1/n) Σ_μ (ξ^μ ξ^μᵀ − I); capacity ≈ 0.138 n (Amit, Gutfreund &
      Sompolinsky, 1985).
    * ``"storkey"`` (Storkey, 1997): pattern by pattern,
      W_ij += (ξ_i ξ_j − ξ_i h_ji − h_ij ξ_j) / n with h_ij = Σ_{k≠i,j} W_ik ξ_k.
    * ``"pseudo_inverse"`` (projection rule, Personnaz et al. 1985): W is the orthogonal
      projection onto the span of the patterns, Ξ (ΞᵀΞ)⁻¹ Ξᵀ, with its diagonal removed.

    :meth:`recall` runs the deterministic dynamics s_i ← sign(h_i), h_i = Σ_j W_ij s_j − θ_i
    (a unit with h_i = 0 keeps its value), or at temperature T > 0 Gibbs sampling of
    p_T(s) ∝ exp(−E(s)/T), p(s_i = +1 | s_−i) = σ(2 h_i / T).

    Parameters
    ----------
    n : int
        Number of units.
    rule : {"hebbian", "storkey", "pseudo_inverse"}

    Attributes
    ----------
    W : Parameter, shape (n, n)
        Couplings (not trained by gradient: ``requires_grad=False``).
    theta : Parameter, shape (n,)
        Thresholds (zero).
    n_patterns : int
        Patterns stored so far.
    graph : pgm.Graph
        One observed group ``v`` of kind ``"spin"``, coupled to itself.

    References
    ----------
    J. Hopfield, "Neural networks and physical systems with emergent collective computational
    abilities", PNAS 79, 1982. A. Storkey, "Increasing the capacity of a Hopfield network
    without sacrificing functionality", ICANN 1997.

    Examples
    --------
    >>> net = Hopfield(8).store(torch.tensor([[1., -1., 1., -1., 1., -1., 1., -1.]]))
    >>> probe = torch.tensor([[-1., -1., 1., -1., 1., -1., 1., -1.]])
    >>> net.recall(probe).states.tolist()
    [[1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0]]
    """


    def __init__(self, n: int, rule: str = "hebbian"):
        super().__init__()
        n = check_int(n, "n", 1, "Hopfield")
        if rule not in RULES:
            raise ValueError(f"Hopfield: rule must be one of {RULES}, got {rule!r}")
        check_memory(f"Hopfield({n})", 2 * n * n + n)
        self.n, self.rule = n, rule
        self.W = nn.Parameter(torch.zeros(n, n), requires_grad=False)
        self.theta = nn.Parameter(torch.zeros(n), requires_grad=False)
        # the projection onto the patterns' span (pseudo-inverse rule), diagonal kept
        self.register_buffer("projection", torch.zeros(n, n) if rule == "pseudo_inverse" else torch.zeros(0, n))
        self.register_buffer("stored", torch.zeros((), dtype=torch.long))
        self.graph = pgm.Graph([pgm.VariableGroup("v", n, "spin", observed=True)], [pgm.Edge("v", "v")])

    def config(self) -> dict:
        return {"n": self.n, "rule": self.rule}

    @property
    def n_patterns(self) -> int:
        return int(self.stored)

    # -- storing ---------------------------------------------------------------------
    @torch.no_grad()
    def store(self, patterns: torch.Tensor) -> "Hopfield":
        """Add ``patterns`` (P, n) of ±1 values to the memory by the net's rule; returns the net."""
        xi = _check_spins(patterns, "patterns", self.n, torch.float64, self.W.device)
        W = self.W.double()
        n = self.n
        if self.rule == "hebbian":
            W += (xi.t() @ xi) / n
            W.fill_diagonal_(0)
        elif self.rule == "storkey":
            for p in xi:
                h = W @ p
                H = h[:, None] - W * p[None, :]  # h_ij = Σ_{k≠i,j} W_ik ξ_k
                W += (torch.outer(p, p) - p[:, None] * H.t() - H * p[None, :]) / n
                W.fill_diagonal_(0)
        else:
            P = self.projection.double()
            for p in xi:
                e = p - P @ p
                norm = float(e @ e)
                if norm > 1e-9 * n:  # a pattern in the span of the stored ones adds nothing
                    P += torch.outer(e, e) / norm
            self.projection.copy_(P)
            W = P.clone().fill_diagonal_(0)
        self.W.copy_(0.5 * (W + W.t()))
        self.stored += xi.shape[0]
        return self

    # -- the energy-model contract ---------------------------------------------------
    def _values(self, state, where):
        if not isinstance(state, dict) or "v" not in state:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{where}: state must map 'v' to a (batch, {self.n}) tensor of ±1, got {got}")
        return _check_spins(state["v"], "state['v']", self.n, self.W.dtype, self.W.device)

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(s) = −½ sᵀWs + θᵀs, shape (batch,); ``state = {"v": (batch, n)}`` of ±1."""
        s = self._values(state, "energy")
        return -0.5 * ((s @ self.W) * s).sum(-1) + s @ self.theta

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0) -> LateralBernoulli:
        """p_β(s) ∝ exp(−β E(s)) itself (the net has one group): a spin
        :class:`LateralBernoulli` with field −θ and couplings W, normalised by enumeration
        (small nets only); samplers use :meth:`site_logits`. ``state`` only sets the batch."""
        if group != "v":
            raise ValueError(f"conditional: group must be 'v', got {group!r}")
        batch = state["v"].shape[0] if isinstance(state, dict) and "v" in state else 1
        beta = check_beta(beta, batch=batch)
        return LateralBernoulli(-self.theta.expand(batch, -1), self.W, beta, spin=True)

    def local_fields(self, s: torch.Tensor) -> torch.Tensor:
        """h = sW − θ, shape (batch, n): E changes by 2 s_i h_i when unit i flips."""
        return s @ self.W - self.theta

    def site_logits(self, group: str, index: int, values: dict[str, torch.Tensor], beta) -> torch.Tensor:
        """Logit of p_β(s_i = +1 | s_−i) = 2β h_i, shape (batch,). No checks."""
        h = torch.mv(values["v"], self.W[:, index]) - self.theta[index]
        if isinstance(beta, torch.Tensor):
            return 2 * h * beta.to(h).reshape(-1)
        return 2 * beta * h

    # -- recall ----------------------------------------------------------------------
    @torch.no_grad()
    def recall(self, probes: torch.Tensor, generator: torch.Generator | None = None, max_sweeps: int = 100,
               mode: str = "async", temperature: float = 0.0, progress: bool = False) -> Recall:
        """Run the network from ``probes`` until every probe converges or ``max_sweeps``.

        Parameters
        ----------
        probes : Tensor, shape (batch, n) or (n,)
            Starting states, ±1.
        generator : torch.Generator, optional
            Asynchronous mode: with a generator each sweep visits the units in a fresh
            random order, without one in the order 0 … n−1. Required for T > 0.
        max_sweeps : int, default 100
        mode : {"async", "sync"}
            One unit at a time (the energy never rises) or all units at once (Little's
            dynamics; converges to a fixed point or a 2-cycle). ``"sync"`` needs T = 0.
        temperature : float, default 0
            T ≥ 0. At T > 0 every asynchronous update is a Gibbs update of
            p_T(s) ∝ exp(−E(s)/T), and nothing converges: all ``max_sweeps`` are run.
        progress : bool
            Show a progress bar over sweeps.

        Returns
        -------
        Recall
            ``(states, sweeps, converged)``.
        """
        s = _check_spins(probes, "probes", self.n, self.W.dtype, self.W.device).clone()
        max_sweeps = check_int(max_sweeps, "max_sweeps", 1, "Hopfield.recall")
        if mode not in MODES:
            raise ValueError(f"Hopfield.recall: mode must be one of {MODES}, got {mode!r}")
        if (not isinstance(temperature, (int, float)) or isinstance(temperature, bool)
                or not math.isfinite(temperature) or temperature < 0):
            raise ValueError(f"Hopfield.recall: temperature must be a finite float ≥ 0, got {temperature!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"Hopfield.recall: generator must be a torch.Generator or None, got {type(generator).__name__}")
        if temperature > 0 and generator is None:
            raise ValueError("Hopfield.recall: temperature > 0 draws random updates; pass generator=torch.Generator()")
        if temperature > 0 and mode == "sync":
            raise ValueError("Hopfield.recall: synchronous updates at temperature > 0 do not sample "
                             "exp(-E/T); use mode='async'")
        batch = s.shape[0]
        sweeps = torch.zeros(batch, dtype=torch.long, device=s.device)
        converged = torch.zeros(batch, dtype=torch.bool, device=s.device)
        prev = None
        loop = range(max_sweeps)
        if progress:
            from tqdm.auto import tqdm

            loop = tqdm(loop, desc="recall", unit="sweep")
        for _ in loop:
            sweeps += (~converged).long()
            before = s.clone()
            if mode == "sync":
                h = self.local_fields(s)
                new = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s)).to(s)
                s = torch.where(converged[:, None], s, new)
                done = (s == before).all(1)
                if prev is not None:
                    done |= (s == prev).all(1)
                prev = before
            else:
                self._async_sweep(s, generator, temperature)
                done = (s == before).all(1) if temperature == 0 else torch.zeros_like(converged)
            converged |= done
            if bool(converged.all()):
                break
        return Recall(s, sweeps, converged)

    @torch.no_grad()
    def recall_frames(self, probes: torch.Tensor, generator: torch.Generator | None = None, max_sweeps: int = 100,
                      mode: str = "async", temperature: float = 0.0) -> torch.Tensor:
        """The states of :meth:`recall` after every sweep, the probes first: a tensor of
        shape (sweeps + 1, batch, n), ending when every probe has converged (at T = 0) or
        after ``max_sweeps``. Synchronous mode needs one more sweep to see a 2-cycle."""
        max_sweeps = check_int(max_sweeps, "max_sweeps", 1, "Hopfield.recall_frames")
        s = _check_spins(probes, "probes", self.n, self.W.dtype, self.W.device)
        frames = [s]
        for _ in range(max_sweeps):
            out = self.recall(frames[-1], generator, max_sweeps=1, mode=mode, temperature=temperature)
            frames.append(out.states)
            if mode == "async" and temperature == 0 and bool(out.converged.all()):
                break
            if mode == "sync" and len(frames) >= 3 and bool((frames[-1] == frames[-3]).all()):
                break
        return torch.stack(frames)

    def _async_sweep(self, s, generator, temperature):
        n = self.n
        order = range(n) if generator is None else torch.randperm(n, generator=generator, device=generator.device).tolist()
        u = None
        if temperature > 0:
            u = torch.rand(s.shape, generator=generator, dtype=s.dtype, device=s.device)
        W, theta = self.W, self.theta
        for i in order:
            h = torch.mv(s, W[:, i]) - theta[i]
            if u is None:
                s[:, i] = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s[:, i]))
            else:
                s[:, i] = torch.where(u[:, i] < torch.sigmoid(2 * h / temperature), 1.0, -1.0)
