r"""Exact log Z of small energy models, by enumerating a set of binary groups.

An energy model lists in :meth:`~models.energy.EnergyModel.marginal_sets` the sets S of
groups given which every other group sums (or integrates) out in closed form, and
returns the resulting free energy from
:meth:`~models.energy.EnergyModel.free_energy_given`. Then

.. math::

    \log Z = \log \sum_{x_S} e^{-F(x_S)}, \qquad
    F(x_S) = -\log \sum_{x_{\text{rest}}} e^{-E(x_S, x_{\text{rest}})},

and only the states of S have to be enumerated: the set of binary groups with the fewest
units is chosen. Groups of other finitely-valued units (the counts of stepped-sigmoid
hidden units, N + 1 values each) are enumerated over the values
:meth:`~models.energy.EnergyModel.enumeration_values` gives; such a group of n units
counts as n·log2(N + 1) binary units against the limit; a softmax group of K one-hot
units takes its K states and counts as log2 K units.

An RBM enumerates its smaller layer (2^min(n_v, n_h) free energies
instead of 2^(n_v + n_h) energies), a Gaussian RBM its hidden layer (the visibles
integrate out), a deep Boltzmann machine its odd or its even layers, a general Boltzmann
machine all of its units (the default hook). Exact enumeration is the oracle the
estimators are tested against.
"""

from __future__ import annotations

import copy
import math

import torch

from models.energy import EnergyModel
from pgm.checks import check_model, validation_disabled

from pgm import BERNOULLI_KINDS, ONEHOT_KINDS, SPIN_KINDS

from .estimate import LogZEstimate

__all__ = ["LogZEstimate", "exact_log_partition", "enumeration_set", "enumerate_states", "check_enumerable",
           "MAX_EXACT_UNITS", "ENUMERABLE_KINDS"]

#: Default limit on the number of units :func:`exact_log_partition` enumerates (2^25 states;
#: a softmax group of K classes counts as log2 K units).
MAX_EXACT_UNITS = 25
#: Kinds of groups that can be enumerated: binary units and softmax groups.
ENUMERABLE_KINDS = BERNOULLI_KINDS + SPIN_KINDS + ONEHOT_KINDS


def _float64_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A detached float64 copy of ``model`` (the original is left untouched)."""
    return copy.deepcopy(model).to(torch.float64)


def _bits(start: int, stop: int, n: int, device) -> torch.Tensor:
    """Rows ``start .. stop-1`` of the table of all binary vectors of length ``n``, float64.

    Row ``k`` is the binary expansion of ``k`` with the first column most significant.
    """
    k = torch.arange(start, stop, device=device, dtype=torch.int64).unsqueeze(1)
    shifts = torch.arange(n - 1, -1, -1, device=device, dtype=torch.int64)
    return ((k >> shifts) & 1).to(torch.float64)


def _levels(model, name):
    """The values of one unit of group ``name`` (float64), or ``None`` where infinitely many;
    a softmax group's K one-hot states are handled by :func:`_slots`, not here."""
    hook = getattr(model, "enumeration_values", None)
    if hook is None:
        kind = model.graph[name].kind
        return (torch.tensor([0.0, 1.0], dtype=torch.float64) if kind in BERNOULLI_KINDS else
                torch.tensor([-1.0, 1.0], dtype=torch.float64) if kind in SPIN_KINDS else None)
    values = hook(name)
    return None if values is None else torch.as_tensor(values, dtype=torch.float64).reshape(-1)


def _enumerable(model, name) -> bool:
    return model.graph[name].kind in ONEHOT_KINDS or _levels(model, name) is not None


def _slots(model, name) -> list[int]:
    """The digit ranges enumerating group ``name``: one digit of K values for a softmax
    group of K one-hot units, else one digit per unit over its values."""
    grp = model.graph[name]
    if grp.kind in ONEHOT_KINDS:
        return [grp.n_units]
    return [len(_levels(model, name))] * grp.n_units


def _size(model, names) -> float:
    """Binary units equivalent to enumerating ``names``: log2 of their number of states
    (Σ n_units · log2(values per unit); log2 K for a softmax group), an int where whole."""
    bits = sum(math.log2(max(r, 1)) for g in names for r in _slots(model, g))
    return int(round(bits)) if abs(bits - round(bits)) < 1e-9 else bits


def _digits(start: int, stop: int, radix: torch.Tensor) -> torch.Tensor:
    """Rows ``start .. stop-1`` of the table of all mixed-radix vectors with digit ranges
    ``radix`` (the first column most significant), int64; for radix 2 the rows of :func:`_bits`."""
    k = torch.arange(start, stop, device=radix.device, dtype=torch.int64).unsqueeze(1)
    strides = torch.ones_like(radix)
    if len(radix) > 1:
        strides[:-1] = torch.flip(torch.cumprod(torch.flip(radix[1:], [0]), 0), [0])
    return (k // strides) % radix


def enumerate_states(model, groups, start: int, stop: int, device=None) -> dict:
    """States ``start`` to ``stop - 1`` of the groups ``groups`` in mixed-radix counting order (the
    first digit most significant): group name → (stop − start, units), float64. Units take
    the values of :func:`_levels` ({0, 1}, {−1, +1}, counts); a softmax group its one-hot rows."""
    slots = [_slots(model, g) for g in groups]
    radix = torch.tensor([r for s in slots for r in s], dtype=torch.int64, device=device)
    digits = _digits(start, stop, radix)
    out, lo = {}, 0
    for g, s in zip(groups, slots):
        hi = lo + len(s)
        if model.graph[g].kind in ONEHOT_KINDS:
            out[g] = torch.nn.functional.one_hot(digits[:, lo], s[0]).to(torch.float64)
        else:
            out[g] = _levels(model, g).to(digits.device)[digits[:, lo:hi]]
        lo = hi
    return out


def _binary_sets(model, func):
    """(all listed sets, the finitely-valued ones with their sizes in binary units)."""
    graph = model.graph
    sets = model.marginal_sets()
    if not isinstance(sets, (list, tuple)) or not sets:
        raise TypeError(f"{func}: {type(model).__name__}.marginal_sets() must return a non-empty list of "
                        f"tuples of group names, got {sets!r}")
    out = []
    for s in sets:
        s = tuple(s)
        unknown = [g for g in s if g not in graph]
        if unknown or not s:
            raise TypeError(f"{func}: {type(model).__name__}.marginal_sets() lists {s}, with groups "
                            f"{unknown} not in the graph (groups {graph.names})")
        if all(_enumerable(model, g) for g in s):
            out.append((s, _size(model, s)))
    return [tuple(s) for s in sets], out


def enumeration_set(model: EnergyModel, func: str = "exact_log_partition") -> tuple[tuple[str, ...], int]:
    """The set of groups :func:`exact_log_partition` enumerates and its number of units.

    The all-binary set of ``model.marginal_sets()`` with the fewest units (the first
    listed among equals). Softmax groups count as binary here, a group of K classes as
    log2 K units (its K states): the number returned is log2 of the number of states.

    Raises
    ------
    TypeError
        ``model`` is not an energy model, or no listed set is all-binary.
    """
    check_model(model, EnergyModel, func)
    sets, binary = _binary_sets(model, func)
    if not binary:
        kinds = {g.name: g.kind for g in model.graph.groups}
        raise TypeError(
            f"{func}: enumeration needs a set of binary groups (kinds {list(ENUMERABLE_KINDS)}) "
            f"given which the rest sums out, but none of {type(model).__name__}.marginal_sets() {sets} is "
            f"all-binary (group kinds {kinds}); estimate log Z with inference.ais_log_partition instead"
        )
    return min(binary, key=lambda item: item[1])


def check_enumerable(model: EnergyModel, max_units: int = MAX_EXACT_UNITS,
                     func: str = "exact_log_partition") -> tuple[tuple[str, ...], int]:
    """:func:`enumeration_set`, refused with a ValueError above ``max_units`` units.

    Cheap (no enumeration): callers such as :func:`inference.fit` use it to find an
    infeasible exact evaluation before any work.
    """
    if not isinstance(max_units, int) or isinstance(max_units, bool) or max_units < 0:
        raise ValueError(f"{func}: max_units must be a non-negative int, got {max_units!r}")
    chosen, n = enumeration_set(model, func)
    if n > max_units:
        _, binary = _binary_sets(model, func)
        others = ", ".join(f"{s} ({k:.4g} units)" for s, k in binary if s != chosen) or "none"
        raise ValueError(
            f"{func}: enumerating groups {chosen}, the smallest all-binary set of "
            f"{type(model).__name__}.marginal_sets(), means 2^{n:.4g} states ({n:.4g} units), above "
            f"max_units={max_units}; the other all-binary sets: {others}. Estimate log Z with "
            "inference.ais_log_partition(model, data=...) instead, or raise max_units if you can "
            "afford 2^n free-energy evaluations."
        )
    return chosen, n


def exact_log_partition(model: EnergyModel, chunk_size: int = 2**16, *,
                        max_units: int = MAX_EXACT_UNITS) -> LogZEstimate:
    r"""Exact log Z of an energy model by enumerating its smallest set of binary groups.

    .. math::

        \log Z = \log \sum_{x_S} e^{-F(x_S)}

    over every state x_S of the set S chosen by :func:`enumeration_set`, with F(x_S) =
    ``model.free_energy_given(x_S)`` (the other groups summed or integrated out by the
    model). Units of kind ``bernoulli`` take values {0, 1}, ``binary_pm1``/``spin`` ones
    {−1, +1}, other discrete units the values of ``model.enumeration_values(group)``
    (counts {0, …, N} for stepped-sigmoid units); a ``softmax`` group of K units takes its
    K one-hot states.

    All arithmetic is in float64 on a copy of the model, chunk by chunk, the chunks
    combined with ``logsumexp``; memory stays O(chunk_size × n_units).

    Parameters
    ----------
    model : EnergyModel
        E.g. an :class:`models.energy.RBM`. It is not modified.
    chunk_size : int, default 65536
        Number of states evaluated at once.
    max_units : int, default 25
        Refuse to enumerate more units than this (2^25 ≈ 3.4e7 states take seconds to a
        minute, depending on the size of the rest of the model).

    Returns
    -------
    LogZEstimate
        ``log_z = lower = upper`` (exact), ``ess = inf``, ``n_chains = 0``,
        ``method = "exact"``.

    Raises
    ------
    TypeError
        The model is not an energy model, or none of its marginal sets is all-binary.
    ValueError
        The chosen set has more than ``max_units`` units, or ``chunk_size`` is not a
        positive int.

    Examples
    --------
    >>> from models.energy import RBM
    >>> est = exact_log_partition(RBM(6, 4, seed=0))
    >>> est.method, est.lower == est.log_z == est.upper
    ('exact', True)
    """
    func = "exact_log_partition"
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"{func}: chunk_size must be a positive int, got {chunk_size!r}")
    chosen, n = check_enumerable(model, max_units, func)
    model64 = _float64_copy(model)
    total = math.prod(r for g in chosen for r in _slots(model, g))
    parts = []
    with torch.no_grad(), validation_disabled():
        for start in range(0, total, chunk_size):
            state = enumerate_states(model, chosen, start, min(start + chunk_size, total), model64.device)
            parts.append(torch.logsumexp(-model64.free_energy_given(state).to(torch.float64), 0))
        log_z = float(torch.logsumexp(torch.stack(parts), 0))
    return LogZEstimate(log_z, log_z, log_z, math.inf, 0, "exact")
