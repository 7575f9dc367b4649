r"""The visible group of an energy model: data checks by kind, and the free energy F(v).

Every evaluation function reads the observed group of ``model.graph`` and its kind:

* ``bernoulli`` units take values in {0, 1}; ``binary_pm1`` / ``spin`` units in {−1, +1};
* ``gaussian`` / ``real`` units take any finite value (a density, with respect to
  Lebesgue measure on the data's own scale);
* ``softmax`` groups (a label among K classes, as K one-hot units) take one-hot rows.

A row of data may hold several observed groups side by side
(:attr:`~models.energy.EnergyModel.data_groups`: a classification RBM's pixels and label).

The free energy F(v) = −log Σ_x exp(−E(v, x)) (the latent groups x summed or integrated
out) is ``model.free_energy`` when the model defines one. Otherwise it is assembled from
the enumeration hook: for a set S of :meth:`~models.energy.EnergyModel.marginal_sets`
that holds the visible group, the other members of S being binary groups with few units,

.. math::

    F(v) = -\log \sum_{x_{S \setminus v}} \exp\big(-F(v, x_{S \setminus v})\big),

with F(v, x_S∖v) = ``model.free_energy_given``; the set with the fewest enumerated units
is chosen, at most :data:`MAX_SUMMED_UNITS` of them.
"""

from __future__ import annotations

import torch

from models.energy import EnergyModel, has_free_energy
from pgm.checks import check_model, check_onehot, check_units, validation_disabled

from pgm import BERNOULLI_KINDS, ONEHOT_KINDS, REAL_KINDS, SPIN_KINDS

from .exact import _bits

__all__ = ["MAX_SUMMED_UNITS", "REAL_KINDS", "BINARY_KINDS", "visible_group", "check_visible",
           "free_energy_plan", "visible_free_energy"]

#: Kinds of binary units ({0, 1} or {−1, +1}).
BINARY_KINDS = BERNOULLI_KINDS + SPIN_KINDS
#: Most latent binary units summed by enumeration per example for F(v).
MAX_SUMMED_UNITS = 16
_F64 = torch.float64
#: Elements per block of (examples × enumerated states × units).
_BLOCK = 2**21


def visible_group(model, func: str):
    """The observed :class:`pgm.VariableGroup` of ``model``; TypeError for a non-model."""
    check_model(model, EnergyModel, func)
    return model.graph[model.visible_name]


def check_visible(model, data, func: str, *, exact: bool = True, name: str = "data",
                  allow_empty: bool = False) -> torch.Tensor:
    """``data`` checked against the kinds of the model's data groups, with at least one row.

    A row of data is the model's :attr:`~models.energy.EnergyModel.data_groups` side by
    side (the visible group alone, or a classification RBM's pixels and one-hot label);
    each group's columns are checked by its kind.

    Parameters
    ----------
    model : EnergyModel
    data : Tensor, shape (n, model.data_width)
    func : str
        The caller's name, for messages.
    exact : bool
        Binary groups: require outcomes ({0, 1} or {−1, +1}); otherwise values in the
        interval between them (grey levels, mean-field values) are accepted. Softmax
        groups: one-hot rows, otherwise probability vectors.
    name : str, default "data"
        The argument's name, for messages.
    allow_empty : bool, default False
        Accept data without rows.

    Raises
    ------
    TypeError
        Not a floating tensor, or a visible kind this module does not know.
    ValueError
        Wrong shape, NaN/inf, values outside the kind's set, or no rows.
    """
    grp = visible_group(model, func)
    groups = model.data_groups
    if len(groups) > 1:
        data = check_units(data, name, model.data_width)
        for g, x in model.split_data(data).items():
            _check_group(model, model.graph[g], x, func, exact, f"{name}[:, {g!r} columns]")
    else:
        data = _check_group(model, grp, data, func, exact, name)
    if data.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{func}: {name} has no rows; pass at least one example")
    return data


def _check_group(model, grp, data, func, exact, name):
    kind = grp.kind
    if kind in BERNOULLI_KINDS:
        data = check_units(data, name, grp.n_units, binary=exact, unit_interval=True)
    elif kind in SPIN_KINDS:
        data = check_units(data, name, grp.n_units)
        bad = ((data != -1) & (data != 1)) if exact else ((data < -1) | (data > 1))
        if bad.any():
            want = "{-1, +1}" if exact else "[-1, 1]"
            raise ValueError(f"{func}: {name} must take values in {want} for the {kind} units of group "
                             f"{grp.name!r}, got values such as {data[bad][:5].tolist()}")
    elif kind in REAL_KINDS:
        data = check_units(data, name, grp.n_units)
    elif kind in ONEHOT_KINDS:
        data = check_onehot(data, name, grp.n_units, exact=exact)
    else:
        raise TypeError(f"{func}: the visible group {grp.name!r} of {type(model).__name__} has kind {kind!r}; "
                        f"supported kinds are {list(BINARY_KINDS + REAL_KINDS + ONEHOT_KINDS)}")
    return data


def free_energy_plan(model, func: str) -> tuple[str, ...]:
    """The latent groups :func:`visible_free_energy` sums by enumeration; ``()`` when the
    model defines ``free_energy``.

    Raises
    ------
    TypeError
        Neither ``free_energy`` nor a marginal set {v} ∪ (binary groups of at most
        :data:`MAX_SUMMED_UNITS` units).
    """
    vis = visible_group(model, func).name
    if has_free_energy(model):
        return ()
    graph = model.graph
    options = []
    for s in model.marginal_sets():
        rest = tuple(g for g in s if g != vis)
        if vis in s and all(g in graph and graph[g].kind in BINARY_KINDS for g in rest):
            options.append((sum(graph[g].n_units for g in rest), rest))
    if options:
        n, rest = min(options, key=lambda item: item[0])
        if n <= MAX_SUMMED_UNITS:
            return rest
    raise TypeError(
        f"{func}: {type(model).__name__} has no tractable free energy F(v): it defines no free_energy() "
        f"and none of its marginal_sets() {model.marginal_sets()} holds {vis!r} with at most "
        f"{MAX_SUMMED_UNITS} binary units to sum out by enumeration"
    )


def visible_free_energy(model, v: torch.Tensor, plan: tuple[str, ...]) -> torch.Tensor:
    """F(v), shape (batch,), for ``plan`` from :func:`free_energy_plan`; no checks.

    Runs in the dtype of ``model`` (callers pass a float64 copy) and without autograd.
    """
    if not plan:  # free_energy, or nothing to sum out (a fully visible model: F = E)
        return model.free_energy(v) if has_free_energy(model) else model.free_energy_given({model.visible_name: v})
    graph = model.graph
    vis = model.visible_name
    widths = [graph[g].n_units for g in plan]
    n = sum(widths)
    bits = _bits(0, 2**n, n, v.device).to(v.dtype)
    states, lo = {}, 0
    for g, w in zip(plan, widths):
        x = bits[:, lo:lo + w]
        states[g] = x.mul(2).sub_(1) if graph[g].kind in SPIN_KINDS else x.contiguous()
        lo += w
    width = sum(g.n_units for g in graph.groups)
    rows = max(1, _BLOCK // (bits.shape[0] * width))
    out = []
    with validation_disabled():
        for chunk in v.split(rows):
            m, s = chunk.shape[0], bits.shape[0]
            state = {vis: chunk.repeat_interleave(s, 0)}
            state.update({g: x.repeat(m, 1) for g, x in states.items()})
            f = model.free_energy_given(state).reshape(m, s)
            out.append(-torch.logsumexp(-f, 1))
    return torch.cat(out)
