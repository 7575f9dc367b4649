r"""The annealing problem: a model, a factorised base and the form of the path between them.

AIS anneals along p_β ∝ p_A^(1−β) p_model^β, β from 0 to 1, in one of two forms:

* **marginal** — where the model sums its latent groups out analytically (it overrides
  :meth:`~models.energy.EnergyModel.free_energy`) and, given the visible group, draws its
  latent groups exactly in one Gibbs pass. The path is on the visible marginal,

  .. math::

      \log p^*_\beta(v) = (1-\beta) \log \tilde p_A(v) - F_\beta(v), \qquad
      \log Z_0 = \log Z_A - F_0(v),

  with a base factor on the visible group only; −F_0(v) is the log-count (or volume) of
  the latent configurations, a constant. The Markov kernel is a Gibbs sweep of the joint
  p_A(v)^(1−β) exp(−β E(v, h)): the latent blocks given v, then v.
* **summed** — where the model has no free energy of v but lists in
  :meth:`~models.energy.EnergyModel.marginal_sets` a set S ∋ v given which the other
  (binary) groups are conditionally independent and sum out (a deep Boltzmann machine:
  S = the even layers, the odd ones summed out, as Salakhutdinov & Hinton). The path is
  on x_S, with base factors on the groups of S,

  .. math::

      \log p^*_\beta(x_S) = (1-\beta) \log \tilde p_A(x_S) - F_\beta(x_S), \qquad
      \log Z_0 = \log Z_A - F_0(x_S),

  F = ``free_energy_given``; the kernel draws the summed groups given x_S, then x_S.
* **joint** — every other model. The path is on the joint state, with a base factor on
  every group,

  .. math::

      \log p^*_\beta(x) = (1-\beta) \log \tilde p_A(x) - \beta E(x), \qquad \log Z_0 = \log Z_A,

  and the kernel is a Gibbs sweep over ``model.graph.gibbs_blocks()``.

In both forms a group's tempered conditional is ``model.conditional(g, state, beta)``
combined with its base factor raised to 1 − β (:meth:`FactorisedBase.temper`).
:class:`AnnealingPath` is what :func:`inference.backends.fast_path` receives.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel, has_free_energy
from pgm.checks import check_model, check_units, validation_disabled

from .exact import _float64_copy
from pgm.checks import check_onehot
from pgm import BERNOULLI_KINDS, ONEHOT_KINDS, REAL_KINDS, SPIN_KINDS

from .base import BernoulliFactor, CategoricalFactor, FactorisedBase, NormalFactor, SpinFactor

__all__ = ["AnnealingPath", "annealing_form", "summed_set", "kept_groups", "make_path", "sweep_blocks", "start_state", "check_state",
           "log_z_start", "n_rows", "FORMS"]

_F64 = torch.float64
#: The forms of an annealing path (see the module docstring).
FORMS = ("marginal", "summed", "joint")


class AnnealingPath(NamedTuple):
    """An annealing problem: anneal from ``base`` to ``model`` in ``form``.

    Attributes
    ----------
    model : EnergyModel
    base : FactorisedBase
        Factors on the visible group only (``form="marginal"``) or on every group
        (``form="joint"``); values exactly representable in the model's dtype.
    form : {"marginal", "joint"}
        See the module docstring.
    """

    model: EnergyModel
    base: FactorisedBase
    form: str


def _latents_exact_given_visible(model) -> bool:
    """Whether one pass over the latent blocks given v draws p(latents | v) exactly."""
    graph, vis = model.graph, model.visible_name
    blocks = graph.gibbs_blocks()
    if [vis] not in blocks:
        return False
    for name in graph.names:
        if name == vis:
            continue
        if not graph.markov_blanket(name) <= {vis} or name in graph.neighbours(name):
            return False
    return True


def summed_set(model: EnergyModel):
    """The set S of the summed form (see the module docstring), or ``None``: the set of
    ``model.marginal_sets()`` that holds the visible group and not every group, whose
    other groups are binary, not self-coupled, with Markov blankets inside S; the one
    with the fewest units among several."""
    graph, vis = model.graph, model.visible_name
    best = None
    for s in model.marginal_sets():
        s = tuple(s)
        rest = [n for n in graph.names if n not in s]
        if vis not in s or not rest:
            continue
        if all(graph[n].kind in BERNOULLI_KINDS and n not in graph.neighbours(n)
               and graph.markov_blanket(n) <= set(s) for n in rest):
            size = sum(graph[n].n_units for n in s)
            if best is None or size < best[1]:
                best = (s, size)
    return None if best is None else best[0]


def annealing_form(model: EnergyModel) -> str:
    """``"marginal"`` where the model has a free energy and draws its latents given v
    exactly (RBM, Gaussian RBM); ``"summed"`` where a set of groups holding v sums the
    rest out (:func:`summed_set`: a DBM's even layers); ``"joint"`` otherwise."""
    if has_free_energy(model) and _latents_exact_given_visible(model):
        return "marginal"
    return "summed" if summed_set(model) is not None else "joint"


def kept_groups(path: AnnealingPath) -> list[str]:
    """The groups the path is on: the visible one (marginal), S (summed), all (joint)."""
    model = path.model
    if path.form == "marginal":
        return [model.visible_name]
    if path.form == "summed":
        return list(summed_set(model))
    return model.graph.names


def sweep_blocks(path: AnnealingPath) -> list[list[str]]:
    """The Gibbs blocks of one transition, in order.

    Joint form: ``model.graph.gibbs_blocks()``. Marginal form: the same blocks rotated so
    that the visible group comes last (the latent groups are drawn fresh given v first,
    which makes the sweep leave the visible marginal p_β(v) invariant).
    """
    if path.form not in FORMS:
        raise ValueError(f"AnnealingPath.form must be one of {list(FORMS)}, got {path.form!r}")
    graph = path.model.graph
    blocks = graph.gibbs_blocks()
    missing = [n for n in graph.names if not any(n in b for b in blocks)]
    if missing:
        raise TypeError(
            f"groups {missing} of {type(path.model).__name__} are in no Gibbs block (only directed "
            "edges): annealing needs an undirected energy model"
        )
    if path.form == "joint":
        return blocks
    if path.form == "summed":
        kept = set(kept_groups(path))
        order = [[g for g in b if g not in kept] for b in blocks] + [[g for g in b if g in kept] for b in blocks]
        return [b for b in order if b]
    vis = path.model.visible_name
    i = blocks.index([vis])
    return blocks[i + 1:] + blocks[:i] + [blocks[i]]


def _check_factor(graph, name, factor, func):
    grp = graph[name]
    want = BernoulliFactor if grp.kind in BERNOULLI_KINDS else NormalFactor if grp.kind in REAL_KINDS \
        else CategoricalFactor if grp.kind in ONEHOT_KINDS else SpinFactor if grp.kind in SPIN_KINDS else None
    if want is None or not isinstance(factor, want):
        raise TypeError(
            f"{func}: base factor of group {name!r} (kind {grp.kind!r}) must be "
            f"{want.__name__ if want else 'a supported kind'}, got {type(factor).__name__}"
        )
    if factor.n_units != grp.n_units:
        raise ValueError(
            f"{func}: base factor of group {name!r} has {factor.n_units} units, the group has {grp.n_units}"
        )


def make_path(model, base="data", data=None, func: str = "ais_log_partition") -> AnnealingPath:
    """The :class:`AnnealingPath` for ``model`` from a base given as the AIS functions take it.

    Parameters
    ----------
    model : EnergyModel
    base : {"data", "uniform"}, Tensor or FactorisedBase
        ``"data"``: a factor on the visible group fitted to the marginals of ``data``
        (:meth:`FactorisedBase.fit`); ``"uniform"``: Bernoulli(1/2) / N(0, 1) units; a
        tensor: logits of a Bernoulli visible group; a :class:`FactorisedBase`: used as
        given. In the joint form, groups without a factor get the uniform one.
    data : Tensor, shape (n, n_visible), optional
    func : str
        Name used in error messages.
    """
    check_model(model, EnergyModel, func)
    graph, vis = model.graph, model.visible_name
    form = annealing_form(model)
    groups = kept_groups(AnnealingPath(model, None, form))
    n_vis = graph[vis].n_units
    if isinstance(base, FactorisedBase):
        extra = sorted(set(base.factors) - set(groups))
        if extra:
            raise ValueError(
                f"{func}: base has factors for {extra}, but the {form} path of {type(model).__name__} "
                f"puts base factors on {groups} only"
            )
        for name, f in base.factors.items():
            _check_factor(graph, name, f, func)
        factors = dict(base.factors)
    elif isinstance(base, torch.Tensor):
        if graph[vis].kind not in BERNOULLI_KINDS:
            raise TypeError(
                f"{func}: a tensor base holds Bernoulli logits, but group {vis!r} has kind "
                f"{graph[vis].kind!r}; pass a FactorisedBase with a NormalFactor instead"
            )
        if base.shape != (n_vis,) or not torch.is_floating_point(base):
            raise ValueError(
                f"{func}: a tensor base must hold the base model's visible biases, a float tensor "
                f"of shape ({n_vis},); got {base.dtype} of shape {tuple(base.shape)}"
            )
        if not torch.isfinite(base).all():
            raise ValueError(f"{func}: base biases must be finite")
        factors = {vis: BernoulliFactor(base.detach().to(_F64))}
    elif isinstance(base, str) and base == "data":
        if data is None:
            raise ValueError(
                f"{func}: base='data' builds the base model from the data marginals and needs "
                f"data=<Tensor (n, {n_vis})>; pass the training data, or use base='uniform'"
            )
        if len(model.data_groups) > 1:  # data rows hold several groups (pixels and a label)
            data = check_units(data, "data", model.data_width)
            factors = {}
            for name, x in model.split_data(data).items():
                if name in groups:
                    factors.update(FactorisedBase.fit(graph, name, x).factors)
        else:
            factors = dict(FactorisedBase.fit(graph, vis, data).factors)
    elif isinstance(base, str) and base == "uniform":
        factors = {}
    else:
        raise ValueError(
            f"{func}: base must be 'data', 'uniform', a tensor of visible biases or a FactorisedBase, "
            f"got {base!r}"
        )
    for name in groups:
        if name not in factors:
            factors[name] = FactorisedBase.uniform(graph, [name]).factors[name]
    # the sampler sees the base in the model's dtype: the weights use exactly those values
    dt, dev = model.dtype, model.device
    rounded = FactorisedBase({k: f.cast(dt, dev).cast(_F64, dev) for k, f in factors.items()})
    return AnnealingPath(model, rounded, form)


def start_state(path: AnnealingPath, n: int, generator: torch.Generator):
    """Exact draws from the base: the visible tensor (marginal form) or a dict of every
    group (joint form), in the model's dtype."""
    model = path.model
    values = path.base.cast(model.dtype, model.device).sample(n, generator)
    if path.form == "summed":
        return {g: values[g] for g in kept_groups(path)}
    return values[model.visible_name] if path.form == "marginal" else values


def check_state(path: AnnealingPath, init, func: str):
    """``init`` checked against the path: a visible tensor (marginal form; a dict holding the
    visible group is also accepted) or a dict of every group (joint form)."""
    model = path.model
    graph, vis = model.graph, model.visible_name
    opts = dict(dtype=model.dtype, device=model.device)

    def one(name, x):
        kind = graph[name].kind
        where = f"init[{name!r}]" if isinstance(init, dict) else "init"
        if kind in ONEHOT_KINDS:
            return check_onehot(x, where, graph[name].n_units, **opts)
        return check_units(x, where, graph[name].n_units, binary=kind in BERNOULLI_KINDS, **opts)

    if path.form == "marginal":
        if isinstance(init, dict):
            if vis not in init:
                raise ValueError(f"{func}: init must hold the visible group {vis!r}, got groups {sorted(init)}")
            init = init[vis]
        return one(vis, init)
    if path.form == "summed":
        kept = kept_groups(path)
        if isinstance(init, dict) and set(kept) <= set(init):
            init = {g: init[g] for g in kept}
        else:
            got = sorted(init) if isinstance(init, dict) else type(init).__name__
            raise ValueError(f"{func}: {type(model).__name__} is annealed on the groups {kept} (the others summed "
                             f"out); init must be a dict holding them → (n_chains, units), got {got}")
    elif not isinstance(init, dict) or set(init) != set(graph.names):
        got = sorted(init) if isinstance(init, dict) else type(init).__name__
        raise ValueError(
            f"{func}: {type(model).__name__} is annealed on its joint state; init must be a dict of "
            f"every group {graph.names} → (n_chains, units), got {got}"
        )
    state = {name: one(name, x) for name, x in init.items()}
    rows = {x.shape[0] for x in state.values()}
    if len(rows) != 1:
        raise ValueError(f"{func}: init groups must have the same number of rows, got {sorted(rows)}")
    return state


def n_rows(state) -> int:
    return next(iter(state.values())).shape[0] if isinstance(state, dict) else state.shape[0]


def log_z_start(path: AnnealingPath, state, func: str, model64=None) -> float:
    """log Z_0 of the path: log Z_A (joint form), log Z_A − F_0(v) (marginal form).

    In the marginal form F_0(v) is evaluated on the visible rows of ``state``; it must be
    finite and the same for every row.
    """
    if path.form == "joint":
        return path.base.log_z()
    model = path.model
    model64 = model64 if model64 is not None else _float64_copy(model)
    if path.form == "summed":
        with torch.no_grad(), validation_disabled():
            x = {g: state[g].to(_F64) for g in kept_groups(path)}
            f0 = model64.free_energy_given(x, 0.0).to(_F64)
        return path.base.log_z() - float(f0[0])
    v = (state[model.visible_name] if isinstance(state, dict) else state).to(_F64)
    with torch.no_grad(), validation_disabled():
        f0 = model64.free_energy(v, 0.0).to(_F64)
    latents = [n for n in model.graph.names if n != model.visible_name]
    if not torch.isfinite(f0).all():
        raise ValueError(
            f"{func}: the marginal path of {type(model).__name__} starts at p_A(v) exp(-F_0(v)), but "
            f"F_0(v) = {f0[~torch.isfinite(f0)][0].item()} is not finite: the latent groups {latents} "
            "have no finite measure at beta = 0 (real-valued latents without a confining term), so "
            "this path has no base normaliser"
        )
    spread = float((f0 - f0[0]).abs().max())
    if spread > 1e-9 * max(1.0, abs(float(f0[0]))):
        raise ValueError(
            f"{func}: {type(model).__name__}.free_energy(v, beta=0) must not depend on v (it is minus "
            f"the log-count of the latent configurations {latents}), but it varies by {spread:.3g} "
            "over the starting states"
        )
    return path.base.log_z() - float(f0[0])
