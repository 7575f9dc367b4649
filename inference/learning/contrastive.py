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

The binary :class:`~models.energy.RBM` takes a fused path (:mod:`inference.backends.rbm.fused`):
no autograd, in-place ops on preallocated buffers and one GEMM for the whole weight
gradient, exactly the free-energy surrogate's gradient for the same chain samples. For
float32 models on the CPU its elementwise work runs in the native kernels of
:mod:`inference.backends.rbm.native` when they compile (``native=None``, the default).

Gradients into optimizer buffers: ``grad(..., accumulate={param: (u, μ)})`` (e.g.
:meth:`inference.learning.optim.LeanSGD.accumulators`) puts the estimate ∇ of each listed
parameter into its buffer as u ← μ u + ∇ instead of ``.grad`` (μ = 0: u ← ∇); on the
fused path ``.grad`` of those parameters is then left as it was. Entries (u, μ, λ, η)
for every parameter (``accumulators(update=True)``) also allow the SGD step
u ← u + λθ, θ ← θ − η u, which the whole-step native kernel applies and reports in
``GradInfo.applied``.

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

from models.energy import EnergyModel, RBM
from models.energy.validation import check_int, validation_disabled

from ..mcmc import gibbs
from ..backends.rbm import native as _native
from ..backends.rbm.fused import Workspace, cd_step, cd_step_native, pcd_step, pcd_step_native
from ..mcmc.gibbs import GibbsState
from ..mcmc.sampling import sample

__all__ = ["CD", "PCD", "GradInfo", "surrogate_loss", "has_free_energy", "supports_fused"]


class GradInfo(NamedTuple):
    """What one :meth:`CD.grad` / :meth:`PCD.grad` call used and saw.

    Attributes
    ----------
    v_model : Tensor, shape (n_negative, n_visible)
        Visible values of the negative phase. On the fused path this is a view of a
        buffer that the next call overwrites; clone it to keep it.
    recon_sq : Tensor or None
        CD only: Σ over the batch of ‖v − v₁‖², v₁ the first reconstruction (visible
        probabilities), as a 0-d tensor that is not synchronised. ``None`` for PCD,
        whose chains do not reconstruct the data.
    applied : bool
        Whether the call also applied the SGD update that ``accumulate`` entries
        (u, μ, λ, η) asked for (the whole-step native kernel does; otherwise the caller
        finishes the step, e.g. :meth:`inference.learning.optim.LeanSGD.apply`).
    """

    v_model: torch.Tensor
    recon_sq: torch.Tensor | None
    applied: bool = False


def has_free_energy(model: EnergyModel) -> bool:
    """Whether ``model`` overrides :meth:`EnergyModel.free_energy` (hidden units summed out)."""
    return type(model).free_energy is not EnergyModel.free_energy


def supports_fused(model) -> bool:
    """Whether ``model`` is a binary RBM whose energy the fused path computes exactly.

    True for :class:`~models.energy.RBM` and subclasses that do not redefine its
    energy, conditionals or free energy.
    """
    cls = type(model)
    ok = _FUSED.get(cls)
    if ok is None:
        ok = _FUSED[cls] = issubclass(cls, RBM) and all(
            getattr(cls, m) is getattr(RBM, m)
            for m in ("energy", "conditional", "free_energy", "hidden_logits", "visible_logits"))
    return ok


_FUSED: dict = {}  # model class → supports_fused


def surrogate_loss(model: EnergyModel, positive: dict, negative: dict) -> torch.Tensor:
    r"""The scalar whose gradient is the contrastive estimate of ∇(−log-likelihood).

    ``F(positive[v]).mean() - F(negative[v]).mean()`` when the model has a free
    energy, else ``E(positive).mean() - E(negative).mean()``. The state dicts map
    group name → (batch, units) values and must carry no gradient.

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
            vis = model.visible_name
            return model.free_energy(positive[vis]).mean() - model.free_energy(negative[vis]).mean()
        return model.energy(positive).mean() - model.energy(negative).mean()


def _checked_index(index, v):
    """``index`` as a contiguous 1-d int64 tensor on ``v``'s device (its range is checked
    where rows are gathered)."""
    if not isinstance(index, torch.Tensor) or index.dtype != torch.int64:
        got = index.dtype if isinstance(index, torch.Tensor) else type(index).__name__
        raise TypeError(f"index must be an int64 tensor, got {got}")
    if index.dim() != 1:
        raise ValueError(f"index must be 1-d, got shape {tuple(index.shape)}")
    if index.device != v.device:
        raise ValueError(f"index must be on the data's device {v.device}, got {index.device}")
    return index if index.is_contiguous() else index.contiguous()


class _Estimator:
    """Shared plumbing: generator, workspace cache, dispatch fused / generic."""

    def __init__(self, k, generator, fused, fast_uniforms, native):
        self.k = check_int(k, "k")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.generator = generator
        if fused not in (None, True, False):
            raise ValueError(f"fused must be None (auto), True or False, got {fused!r}")
        self.fused = fused
        if fast_uniforms not in (None, True, False):
            raise ValueError(f"fast_uniforms must be None (auto: CPU only), True or False, got {fast_uniforms!r}")
        self.fast_uniforms = fast_uniforms
        if native not in (None, True, False):
            raise ValueError(f"native must be None (auto), True or False, got {native!r}")
        if native and fused is False:
            raise ValueError("native=True needs the fused RBM path, but fused=False; use fused=None or True")
        self.native = native
        self._ws = None

    def _generator(self, model):
        if self.generator is None:
            self.generator = torch.Generator(device=model.device)
            self.generator.seed()
        return self.generator

    def _use_fused(self, model):
        ok = supports_fused(model)
        if not ok and not isinstance(model, EnergyModel):
            raise TypeError(f"model must be an EnergyModel, got {type(model).__name__}")
        if self.fused and not ok:
            raise ValueError(
                f"fused=True needs a binary RBM (models.energy.RBM without a redefined energy), "
                f"got {type(model).__name__}; use fused=None to fall back to the free-energy surrogate"
            )
        return ok if self.fused is None else self.fused

    def _workspace(self, model, n_neg, n_pos, exact_neg):
        """Buffers for ``n_neg`` negative and ``n_pos`` positive rows, reused while they fit
        (``exact_neg``: the chain count must match, as PCD keeps its chains in them)."""
        ws, W = self._ws, model.W
        if (ws is not None and ws.n_pos >= n_pos and (ws.n_neg == n_neg or (not exact_neg and ws.n_neg >= n_neg))
                and ws.shape == W.shape and ws.dtype == W.dtype and ws.device == W.device):
            return ws
        fast = self.fast_uniforms
        if fast is None:
            fast = W.device.type == "cpu"
        kernels = self._kernels(W)
        key = (model.n_visible, model.n_hidden, W.dtype, W.device, fast, kernels is not None)
        if (ws is None or ws.key[2:] != key or n_pos > ws.n_pos
                or (n_neg != ws.n_neg if exact_neg else n_neg > ws.n_neg)):
            if ws is not None and ws.key[2:] == key and (not exact_neg or n_neg == ws.n_neg):
                n_neg, n_pos = max(n_neg, ws.n_neg), max(n_pos, ws.n_pos)
            ws = self._ws = Workspace(n_neg, n_pos, *key[:-1], native=kernels)
        return ws

    def _kernels(self, W):
        """The native kernels for a fused step on ``W``'s device and dtype, or ``None``."""
        if self.native is False:
            return None
        fits = W.device.type == "cpu" and W.dtype == torch.float32
        kernels = _native.load() if fits else None
        if self.native and kernels is None:
            why = (f"they run on float32 CPU tensors, the model is {W.dtype} on {W.device}" if not fits
                   else _native.status())
            raise RuntimeError(f"native=True but the native kernels cannot be used: {why}")
        return kernels

    def uses_native(self, model: EnergyModel) -> bool:
        """Whether :meth:`grad` runs the native kernels of :mod:`inference.backends.rbm.native` for ``model``."""
        return self._use_fused(model) and self._kernels(model.W) is not None

    def batch_buffer(self, model: EnergyModel, n: int) -> torch.Tensor:
        """A (n, n_visible) tensor to write the next batch into before :meth:`grad`.

        Passing it to :meth:`grad` saves copying the batch into the fused kernel's
        buffers (e.g. ``torch.index_select(data, 0, idx, out=est.batch_buffer(model, n))``).
        Its contents are overwritten by the next call.
        """
        if self._use_fused(model):
            n_neg = self._n_neg(n)
            return self._workspace(model, n_neg, n, exact_neg=isinstance(self, PCD)).views(n_neg, n).vpos
        buf = getattr(self, "_batch", None)
        width = model.graph[model.visible_name].n_units
        if buf is None or buf.shape != (n, width) or buf.dtype != model.dtype or buf.device != model.device:
            buf = self._batch = torch.empty(n, width, dtype=model.dtype, device=model.device)
        return buf

    def uses_fused(self, model: EnergyModel) -> bool:
        """Whether :meth:`grad` takes the fused binary-RBM kernel for ``model``."""
        return self._use_fused(model)

    def uses_whole_step(self, model: EnergyModel) -> bool:
        """Whether :meth:`grad` runs the whole-step kernel (:mod:`inference.backends.rbm.whole_step`) for
        ``model``, and so whether :meth:`sgd_steps` can be used."""
        kernels = self._kernels(model.W) if self._use_fused(model) else None
        ws = self._ws  # sizes beyond its 32-bit GEMM dimensions keep the per-pass kernels
        return kernels is not None and kernels.has_step and (ws is None or ws.whole is not None)

    def sgd_steps(self, model: EnergyModel, data: torch.Tensor, index: torch.Tensor, accumulate: dict,
                  lrs, track) -> list:
        """``len(index)`` SGD steps in one native call, bit for bit what as many
        ``grad(model, data, track[i], accumulate=…, index=index[i])`` calls followed by
        the update would do.

        ``data`` (N, n_visible) contiguous float32; ``index`` (steps, B) int64,
        contiguous, rows of ``data``; ``accumulate`` entries (u, μ, λ, η) for every
        parameter (:meth:`~inference.learning.optim.LeanSGD.accumulators` with ``update=True``;
        momentum and weight decay are taken from it, the learning rates from ``lrs``,
        (steps, 3) for W, b, c). Needs :meth:`uses_whole_step`. Returns, per step, the
        reconstruction error Σ‖v − v₁‖² (CD, where ``track[i]``) or ``None``.
        """
        if not self.uses_whole_step(model):
            raise RuntimeError("sgd_steps needs the whole-step native kernel "
                               f"(inference.backends.rbm.native.status(): {_native.status()})")
        index = _checked_index(index.view(-1), data).view(index.shape)
        return self._sgd_steps(model, data, index, accumulate, lrs, track)

    def _backward(self, model, positive, negative, accumulate):
        for p in model.parameters():
            p.grad = None
        surrogate_loss(model, positive, negative).backward()
        if accumulate:
            with torch.no_grad():
                for p, entry in accumulate.items():
                    buf, beta = entry[0], entry[1]
                    if beta == 0:
                        buf.copy_(p.grad)
                    else:
                        buf.mul_(beta).add_(p.grad)


def _sweep(model, values, beta, generator, clamp=(), mean=()):
    """One Gibbs sweep over ``model.graph.gibbs_blocks()`` in place on ``values``.

    Groups in ``clamp`` are skipped; groups in ``mean`` take their conditional mean
    instead of a sample."""
    for block in model.graph.gibbs_blocks():
        for group in block:
            if group in clamp:
                continue
            dist = model.conditional(group, values, beta)
            values[group] = dist.mean if group in mean else sample(dist, generator)
    return values


def _latents(model):
    vis = model.visible_name
    return [g.name for g in model.graph.groups if g.name != vis]


def _positive_phase(model, v, generator, k):
    """Data-driven state: the free-energy form needs only v; otherwise the latents are
    filled in by k clamped sweeps, the last one using conditional means."""
    vis = model.visible_name
    if has_free_energy(model):
        return {vis: v}, None
    state = gibbs.init(model, v.shape[0], generator, clamp={vis: v})
    sampled = dict(state.values)
    for _ in range(k - 1):
        _sweep(model, sampled, state.beta, generator, clamp={vis})
    positive = _sweep(model, dict(sampled), state.beta, generator, clamp={vis}, mean=set(_latents(model)))
    return positive, GibbsState(sampled, state.beta)


class CD(_Estimator):
    r"""Contrastive divergence CD-k (Hinton, 2002).

    Each call runs k Gibbs steps from the data, v₀ → h₀ → v₁ → … → v_k, and writes
    ⟨∂F/∂θ⟩_{v₀} − ⟨∂F/∂θ⟩_{v_k} into the parameters' ``.grad`` (overwriting it).
    h₀ … h_{k−1} are sampled; v₁ … v_k are visible probabilities unless
    ``sample_visible=True``; the hidden statistics use probabilities p(h | v).

    Parameters
    ----------
    k : int, default 1
        Gibbs steps per update.
    sample_visible : bool, default False
        Sample the reconstructions instead of using visible probabilities
        (Hinton 2010, §3.2: probabilities reduce sampling noise).
    generator : torch.Generator, optional
        Source of all randomness (on the model's device); ``None`` seeds a fresh one.
    fused : bool or None, default None
        Fused binary-RBM kernel: ``None`` uses it when :func:`supports_fused`,
        ``False`` always takes the generic (autograd) path, ``True`` requires it.
    fast_uniforms : bool or None, default None
        Fused path with torch ops (not the native kernels) only: draw 16-bit uniforms,
        four per 64-bit random number (about 3× cheaper on CPU; Bernoulli probabilities
        rounded to multiples of 2⁻¹⁶).
        ``None``: on CPU only. ``False`` reproduces :func:`inference.mcmc.sampling.bernoulli`
        draw for draw, so the fused and generic paths give the same samples.
    native : bool or None, default None
        Fused path only: run the elementwise work in the native kernels of
        :mod:`inference.backends.rbm.native` (float32 CPU models; Philox uniforms with 23 bits, so
        ``fast_uniforms`` does not apply). ``None`` uses them when they load,
        ``True`` requires them, ``False`` keeps the torch ops.

    Examples
    --------
    >>> from models.energy import RBM
    >>> rbm = RBM(6, 4, seed=0)
    >>> cd = CD(k=1, generator=torch.Generator().manual_seed(0))
    >>> info = cd.grad(rbm, torch.bernoulli(torch.full((8, 6), 0.5)))
    >>> rbm.W.grad.shape
    torch.Size([6, 4])
    """

    def __init__(self, k: int = 1, *, sample_visible: bool = False, generator: torch.Generator | None = None,
                 fused: bool | None = None, fast_uniforms: bool | None = None, native: bool | None = None):
        super().__init__(k, generator, fused, fast_uniforms, native)
        if not isinstance(sample_visible, bool):
            raise TypeError(f"sample_visible must be a bool, got {sample_visible!r}")
        self.sample_visible = sample_visible

    def __repr__(self):
        return f"CD(k={self.k}, sample_visible={self.sample_visible})"

    def _n_neg(self, n):
        return n

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True, *,
             accumulate: dict | None = None, index: torch.Tensor | None = None) -> GradInfo:
        """Set ``p.grad`` of every parameter of ``model`` to the CD-k estimate for batch ``v``
        (or, with ``index``, for the rows ``v[index]``: the native path gathers them itself).

        ``v`` (batch, n_visible) must already be valid data of the model's dtype and
        device (no checks here: this is the training hot path; :func:`inference.learning.fit`
        validates once). ``track_error=False`` skips the reconstruction error.

        ``accumulate``: gradients into optimizer buffers, and possibly the SGD step (see
        the module docstring).
        """
        gen = self._generator(model)
        if index is not None:
            index = _checked_index(index, v)
        if self._use_fused(model):
            return self._fused(model, v, gen, track_error, accumulate, index)
        if index is not None:
            v = v.index_select(0, index)
        with torch.no_grad(), validation_disabled():
            positive, sampled = _positive_phase(model, v, gen, self.k)
            vis = model.visible_name
            if sampled is None:
                state = gibbs.init(model, v.shape[0], gen, values={vis: v})
                values, beta = dict(state.values), state.beta
            else:
                values, beta = dict(sampled.values), sampled.beta
            mean_vis = set() if self.sample_visible else {vis}
            recon = None
            for step in range(self.k):
                last = step == self.k - 1
                mean = mean_vis | (set(_latents(model)) if last else set())
                for block in model.graph.gibbs_blocks():
                    for group in block:
                        if last and group != vis and sampled is None:
                            continue  # F(v_k) sums the latents out
                        dist = model.conditional(group, values, beta)
                        values[group] = dist.mean if group in mean else sample(dist, gen)
                        if group == vis and recon is None and track_error:
                            r = dist.mean
                            recon = torch.sub(v, r).pow_(2).sum()
        self._backward(model, positive, values, accumulate)
        return GradInfo(values[vis], recon)

    def _fused(self, model, v, gen, track_error, accumulate, index):
        B = v.shape[0] if index is None else index.shape[0]
        ws = self._workspace(model, B, B, exact_neg=False)
        if ws.native is not None:
            return GradInfo(*cd_step_native(ws, model, v, gen, self.k, self.sample_visible, track_error, accumulate,
                                            index))
        if index is not None:
            v = torch.index_select(v, 0, index, out=ws.views(B, B).vpos)
        return GradInfo(*cd_step(ws, model, v, gen, self.k, self.sample_visible, track_error, accumulate))

    def _sgd_steps(self, model, data, index, accumulate, lrs, track):
        B = index.shape[1]
        ws = self._workspace(model, B, B, exact_neg=False)
        return ws.whole.run_steps(model, data, index, self._generator(model), lrs, track, k=self.k, n_neg=B,
                                  persistent=False, sample_visible=self.sample_visible, accumulate=accumulate)


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
    generator, fused, fast_uniforms, native
        As for :class:`CD`.

    Attributes
    ----------
    chains : GibbsState or None
        The chains' current state, ``values = {"v": (n_chains, n_visible), "h": …}``.
        The fused path updates these tensors in place; :meth:`state_dict` copies them.
    """

    def __init__(self, k: int = 1, *, n_chains: int | None = None, generator: torch.Generator | None = None,
                 fused: bool | None = None, fast_uniforms: bool | None = None, native: bool | None = None):
        super().__init__(k, generator, fused, fast_uniforms, native)
        self.n_chains = None if n_chains is None else check_int(n_chains, "n_chains")
        self.chains: GibbsState | None = None

    def __repr__(self):
        return f"PCD(k={self.k}, n_chains={self.n_chains})"

    def _n_neg(self, n):
        return self.n_chains or n

    def init_chains(self, model: EnergyModel, v: torch.Tensor) -> GibbsState:
        """Start the chains at the rows of ``v`` (cycled), latents from their conditionals."""
        n = self.n_chains or v.shape[0]
        idx = torch.arange(n, device=v.device) % v.shape[0]
        with torch.no_grad():
            self.chains = gibbs.init(model, n, self._generator(model), values={model.visible_name: v[idx]})
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

    def grad(self, model: EnergyModel, v: torch.Tensor, track_error: bool = True, *,
             accumulate: dict | None = None, index: torch.Tensor | None = None) -> GradInfo:
        """Set ``p.grad`` of every parameter of ``model`` to the PCD-k estimate for batch ``v``
        (or, with ``index``, for the rows ``v[index]``).

        ``v`` (batch, n_visible) must already be valid data on the model's dtype and
        device. ``track_error`` is accepted for symmetry with :class:`CD` and ignored.

        ``accumulate``: gradients into optimizer buffers, and possibly the SGD step (see
        the module docstring).
        """
        gen = self._generator(model)
        if index is not None:
            index = _checked_index(index, v)
        if index is not None and not (self._use_fused(model) and self.chains is not None
                                      and self._kernels(model.W) is not None):
            v = v.index_select(0, index)
            index = None
        if self.chains is None:
            self.init_chains(model, v)
        if self._use_fused(model):
            return self._fused(model, v, gen, accumulate, index)
        with torch.no_grad(), validation_disabled():
            positive, _ = _positive_phase(model, v, gen, self.k)
            state = self.chains
            for _ in range(self.k):
                state = gibbs.step(model, state, gen)
            self.chains = state
        self._backward(model, positive, state.values, accumulate)
        return GradInfo(state.values[model.visible_name], None)

    def _chain_workspace(self, model, B):
        """The workspace for C chains and B rows, holding the chains (moved in if new or restored)."""
        C = self.n_chains
        ws = self._workspace(model, C, B, exact_neg=True)
        vals = self.chains.values
        if vals.get("h") is not ws.hchain:
            vneg = ws.views(C, B).vneg
            vneg.copy_(vals["v"])
            ws.hchain.copy_(vals["h"])
            self.chains = GibbsState({"v": vneg, "h": ws.hchain}, self.chains.beta)
        return ws

    def _sgd_steps(self, model, data, index, accumulate, lrs, track):
        if self.chains is None:
            self.init_chains(model, data[index[0]])
        ws = self._chain_workspace(model, index.shape[1])
        track = [False] * index.shape[0]  # PCD's chains do not reconstruct the data
        return ws.whole.run_steps(model, data, index, self._generator(model), lrs, track, k=self.k,
                                  n_neg=self.n_chains, persistent=True, accumulate=accumulate)

    def _fused(self, model, v, gen, accumulate, index):
        C, B = self.n_chains, (v.shape[0] if index is None else index.shape[0])
        ws = self._chain_workspace(model, B)
        if ws.native is not None:
            vneg, applied = pcd_step_native(ws, model, v, gen, self.k, C, accumulate, index)
            return GradInfo(vneg, None, applied)
        return GradInfo(pcd_step(ws, model, v, gen, self.k, C, accumulate), None)
