"""Training any model: :func:`fit`, which hands the work to the model's family."""

from __future__ import annotations

from .protocol import family_of, option_owners

__all__ = ["fit"]


def fit(model, data, *, method: str | None = None, **options):
    r"""Train ``model`` on ``data`` by its family's method; returns the run's history.

    The family (:func:`inference.families.family_of`) says which methods and options
    apply and holds their defaults, the same that ``pgm fit FAMILY`` shows:

    ==============================  =========================================  =====================================================
    family                          ``method`` (default first)                 trainer and its options
    ==============================  =========================================  =====================================================
    energy models (RBMs, BM, DBM)   the model's ``default_method``; ``"cd"``,  :func:`inference.learning.fit`
                                    ``"pcd"``, ``"pt"``, ``"sml"``, ``"mp"``
    Hopfield net                    ``"store"`` (``patterns``), or an energy   :meth:`~inference.families.energy.HopfieldFamily.fit`
                                    model's rule
    mcRBM, mPoT                     ``"hmc"`` (``hmc``: the persistent HMC     :func:`inference.learning.fit`
                                    negative phase), ``"pcd"``, ``"cd"``
    directed (SBN, Helmholtz, VAE)  the model's; ``"elbo"``, ``"nvil"``,       :func:`inference.directed.fit_directed`
                                    ``"iwae"``, ``"rws"``, ``"wake_sleep"``
    deep belief net                 ``"greedy"``, ``"up_down"``                :func:`inference.dbn.fit_greedy`,
                                                                               :func:`inference.dbn.fit_up_down`
    ==============================  =========================================  =====================================================

    Every trainer runs in the one epoch loop (:func:`inference.training.run_epochs`):
    progress bar, non-finite guard, callbacks that may stop, checkpoints that resume bit
    for bit, one history row per epoch.

    Parameters
    ----------
    model : a model of a registered family
        Trained in place.
    data : Tensor, shape (n, n_visible)
    method : str, optional
        The family's default when ``None``.
    **options
        The trainer's keywords. One that no trainer of this family takes is a TypeError
        naming the families it belongs to.

    Raises
    ------
    TypeError, ValueError
        A model of no family, an option of another family, bad values or data (checked
        before any training).
    """
    family = family_of(model)
    if family is None:
        raise TypeError(f"fit: model must be a model of a registered family (an EnergyModel, a DirectedModel...), "
                        f"got {type(model).__name__}")
    if method is None:
        method = family.default_method(model)
    accepted = family.options(method)
    unknown = sorted(key for key in options if key not in accepted)
    if unknown:
        where = "; ".join(f"{key}: {', '.join(option_owners(key)) or 'no family'}" for key in unknown)
        what = f"the {family.name} family" if family.name else f"a {type(model).__name__}"
        with_method = f" with method {method!r}" if method is not None else ""
        raise TypeError(f"fit: {', '.join(unknown)} {'is not an option' if len(unknown) == 1 else 'are not options'} "
                        f"of {what}{with_method} (it takes {sorted(accepted)}); families that take "
                        f"{'it' if len(unknown) == 1 else 'them'}: {where}")
    return family.fit(model, data, method=method, **options)
