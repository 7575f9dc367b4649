"""Tracing a Pyro program into a :class:`~pgm.graph.Graph`.

Directed models are Pyro programs; their structure is read off the program itself rather
than declared by hand, so the drawing and the queries of :mod:`pgm.graph` serve directed
and undirected models alike.
"""

from __future__ import annotations

import torch

from .graph import Edge, Graph, Plate, VariableGroup

__all__ = ["from_pyro", "site_kind"]

#: Distribution class name (after unwrapping) -> group kind, where it differs from the
#: lower-case class name.
_KIND_OF = {
    "Bernoulli": "bernoulli",
    "Normal": "gaussian",
    "Categorical": "categorical",
    "OneHotCategorical": "categorical",
    "Unit": "factor",
    "MixtureSameFamily": "real",  # a mixture of densities on the reals (RNADE's conditionals)
}


def _unwrap(fn):
    """Strip ``Independent``, ``ExpandedDistribution`` and ``MaskedDistribution``."""
    from pyro.distributions import ExpandedDistribution, MaskedDistribution

    wrappers = (torch.distributions.Independent, ExpandedDistribution, MaskedDistribution)
    while isinstance(fn, wrappers):
        fn = fn.base_dist
    return fn


def site_kind(fn, deterministic: bool = False) -> str:
    """The group kind of a sample site's distribution.

    Parameters
    ----------
    fn : torch.distributions.Distribution
        The site's distribution, possibly wrapped in ``Independent`` (``.to_event``),
        ``ExpandedDistribution`` (``.expand``) or ``MaskedDistribution`` (``.mask``).
    deterministic : bool
        Whether the site is a ``pyro.deterministic`` site.

    Returns
    -------
    str
        ``"bernoulli"`` for Bernoulli, ``"gaussian"`` for Normal, ``"categorical"`` for
        Categorical and OneHotCategorical, ``"factor"`` for ``pyro.factor`` sites (a
        ``Unit`` distribution), ``"deterministic"`` for ``pyro.deterministic`` sites, and
        otherwise the lower-case class name of the unwrapped distribution (e.g.
        ``"lognormal"``, ``"beta"``, ``"dirichlet"``).
    """
    if deterministic:
        return "deterministic"
    name = type(_unwrap(fn)).__name__
    return _KIND_OF.get(name, name.lower())


def _trace(model, args, kwargs):
    """One trace of ``model`` with the RNG state restored afterwards.

    ``get_model_relations`` runs the model under ``torch.random.fork_rng`` too, so both
    runs start from the same random state and take the same control flow.
    """
    import pyro
    from pyro import poutine

    with torch.random.fork_rng(), torch.no_grad(), pyro.validation_enabled(False):
        return poutine.trace(model).get_trace(*args, **kwargs)


def _is_site(site) -> bool:
    from pyro.poutine.util import site_is_subsample

    return site["type"] == "sample" and not site_is_subsample(site)


def _plates(sites) -> tuple[Plate, ...]:
    """Plates from the sites' ``cond_indep_stack``; size is the full (not subsampled) size."""
    members: dict[str, list[str]] = {}
    sizes: dict[str, set] = {}
    dims: dict[str, set] = {}
    for name, site in sites.items():
        for frame in site["cond_indep_stack"]:
            size = frame.full_size if frame.full_size is not None else frame.size
            if isinstance(size, torch.Tensor):
                size = size.item()
            members.setdefault(frame.name, [])
            if name not in members[frame.name]:
                members[frame.name].append(name)
            sizes.setdefault(frame.name, set()).add(None if size is None else int(size))
            dims.setdefault(frame.name, set()).add(frame.dim)
    out = []
    for pname, names in members.items():
        # A plate name reused with different sizes or dims has no single size/dim.
        size = next(iter(sizes[pname])) if len(sizes[pname]) == 1 else None
        dim = next(iter(dims[pname])) if len(dims[pname]) == 1 else None
        out.append(Plate(pname, tuple(names), size, dim))
    return tuple(out)


def from_pyro(model, *args, **kwargs) -> Graph:
    """Trace a Pyro program into a :class:`~pgm.graph.Graph`.

    The model is run twice (once by :func:`pyro.infer.inspect.get_model_relations`, which
    tracks which sample sites each site's log density depends on, and once by
    :func:`pyro.poutine.trace` for shapes and plates), both times from the current torch
    random state, which is restored afterwards; parameters it creates land in the param
    store as usual.

    Parameters
    ----------
    model : callable
        A Pyro program (function or ``PyroModule``).
    *args, **kwargs
        Arguments to call ``model`` with (e.g. a data batch for ``obs=``).

    Returns
    -------
    Graph
        Groups in the order the sites were sampled.

    Raises
    ------
    TypeError
        If ``model`` is not callable.
    ValueError
        If a site name is not a valid group name, or the two runs of the model produced
        different sites (control flow that depends on something other than torch's RNG).

    Notes
    -----
    - every sample site (subsample sites excluded) becomes a :class:`VariableGroup` whose
      ``size`` is the site's *event* shape: a scalar site has ``size == ()`` (one unit),
      ``Bernoulli(p).to_event(1)`` with ``p`` of shape ``(batch, 16)`` has ``(16,)``; batch
      (plate) dimensions are described by the plates instead;
    - ``kind`` comes from the distribution (see :func:`site_kind`);
    - ``observed`` is True for sites with ``obs=`` (and for ``pyro.factor`` sites, which
      Pyro records as observed); it is False for ``pyro.deterministic`` sites;
    - each dependency ``u`` of a site ``d`` (``sample_sample``) is a directed edge
      ``Edge(u, d, directed=True)``;
    - every plate becomes ``Plate(name, members, size, dim)`` with the plate's full size
      (not the subsample size) and the batch dimension Pyro allocated (``dim`` is None for
      a sequential ``for i in pyro.plate(...)`` loop).

    ``pyro.deterministic`` sites are kept as groups of kind ``"deterministic"``, with
    edges from the sites they are computed from and to the sites that use them, so the
    drawn structure is the one written in the program. Their size is the event shape
    Pyro gives them (by default the full shape of the value).

    Examples
    --------
    >>> import torch, pyro, pyro.distributions as dist
    >>> def model(data):
    ...     mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    ...     with pyro.plate("N", len(data)):
    ...         pyro.sample("x", dist.Normal(mu, 1.0), obs=data)
    >>> g = from_pyro(model, torch.zeros(3))
    >>> g.parents("x"), g["x"].observed, g.plates[0].size
    ({'mu'}, True, 3)
    """
    if not callable(model):
        raise TypeError(
            f"from_pyro: model must be a callable Pyro program (a function or PyroModule), "
            f"got {type(model).__name__}; pass the function itself, not its result"
        )
    from pyro.infer.inspect import get_model_relations

    relations = get_model_relations(
        model, model_args=tuple(args), model_kwargs=dict(kwargs), include_deterministic=True
    )
    trace = _trace(model, args, kwargs)
    sites = {name: site for name, site in trace.nodes.items() if _is_site(site)}
    if set(sites) != set(relations["sample_sample"]):
        raise ValueError(
            "from_pyro: the model produced different sample sites in two runs "
            f"({sorted(relations['sample_sample'])} vs {sorted(sites)}); make its control "
            "flow depend only on its arguments and torch's random state"
        )
    observed = set(relations["observed"])
    groups = []
    for name, site in sites.items():
        deterministic = bool(site["infer"].get("_deterministic", False))
        try:
            groups.append(
                VariableGroup(
                    name,
                    tuple(int(s) for s in site["fn"].event_shape),
                    site_kind(site["fn"], deterministic),
                    observed=name in observed and not deterministic,
                )
            )
        except (TypeError, ValueError) as err:
            raise ValueError(f"from_pyro: cannot make a group of sample site {name!r}: {err}") from err
    edges = [
        Edge(parent, child, directed=True)
        for child, parents in relations["sample_sample"].items()
        for parent in parents
        if parent in sites and parent != child
    ]
    return Graph(groups, edges, _plates(sites))
