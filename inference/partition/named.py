r"""log Z by a named estimator, on one process or split across the ranks of a process group:
:func:`log_partition`.

``method="exact"`` sums e^{−F(x_S)} over the states of the model's enumeration set,

.. math:: \log Z = \log \sum_{x_S} e^{-F(x_S)} ,

``method="ais"`` averages the importance weights of M annealed chains,

.. math:: \log \hat Z = \log Z_0 + \operatorname{logsumexp}_m \log w_m - \log M .

On one process these are :func:`~inference.partition.exact_log_partition` and
:func:`~inference.partition.ais_log_partition`. In a run of W processes (``torchrun``, or a
group the caller opened) every rank calls it with the same arguments: the states are split
into W contiguous ranges (:func:`~inference.partition.split_exact.split_exact_log_partition`)
or the chains into W shares seeded ``seed + r``
(:func:`~inference.partition.split_ais.split_ais_log_partition`), and every rank returns
the same estimate, combined from all ranks' work.
"""

from __future__ import annotations

from ..distributed import joined
from .ais import ais_log_partition
from .estimate import LogZEstimate
from .exact import exact_log_partition
from .split_ais import split_ais_log_partition
from .split_exact import split_exact_log_partition

__all__ = ["log_partition", "split_log_partition", "METHODS"]

#: The estimators :func:`log_partition` names.
METHODS = ("exact", "ais")


def log_partition(model, method: str = "exact", *, distributed=None, **options) -> LogZEstimate:
    """log Z of ``model`` by ``method``, split across the ranks of a data-parallel run.

    Parameters
    ----------
    model : EnergyModel
        It is not modified.
    method : {"exact", "ais"}, default "exact"
        Enumeration (:func:`~inference.partition.exact_log_partition`: ``chunk_size``,
        ``max_units``) or AIS (:func:`~inference.partition.ais_log_partition`:
        ``n_chains``, ``betas``, ``base``, ``data``, ``seed``, ``progress``, ``backend``).
    distributed : bool or None, default None
        ``None``: split the work when a launcher's environment (``torchrun``) or an open
        process group of several ranks is detected; ``True``: require it; ``False``: one
        process (each rank of a launched run would compute the whole estimate).
    **options
        The chosen estimator's keywords.

    Returns
    -------
    LogZEstimate
        The same on every rank. AIS on W ranks runs ``n_chains`` chains in all, rank r's
        share seeded ``seed + r``: on one rank (W = 1) it is ``ais_log_partition``'s
        estimate itself.

    Raises
    ------
    ValueError
        ``method`` is not one of :data:`METHODS`; the estimator's own errors.

    Examples
    --------
    >>> from models.energy import RBM
    >>> rbm = RBM(6, 4, seed=0)
    >>> log_partition(rbm, "exact", distributed=False) == exact_log_partition(rbm)
    True
    >>> est = log_partition(rbm, "ais", n_chains=20, betas=[0.0, 0.5, 1.0], base="uniform", progress=False)
    >>> est.method, est.n_chains
    ('ais', 20)
    """
    if method not in METHODS:
        raise ValueError(f"log_partition: method must be one of {list(METHODS)}, got {method!r}")
    with joined(distributed, getattr(model, "device", "cpu"), "log_partition") as replicas:
        return split_log_partition(model, method, replicas, **options)


def split_log_partition(model, method: str, replicas, **options) -> LogZEstimate:
    """:func:`log_partition` in the group ``replicas`` (``None``: one process), for callers
    that hold the group open themselves."""
    if method not in METHODS:
        raise ValueError(f"log_partition: method must be one of {list(METHODS)}, got {method!r}")
    if replicas is None:
        return (exact_log_partition if method == "exact" else ais_log_partition)(model, **options)
    split = split_exact_log_partition if method == "exact" else split_ais_log_partition
    return split(model, replicas=replicas, **options)
