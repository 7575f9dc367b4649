"""The checkpointed state of an energy model's run besides the optimizer: the learning
rule's persistent chains and the parameter averages, with the checks that refuse a
malformed entry before anything loads (:class:`inference.training.Part`)."""

from __future__ import annotations

import math

import torch

from ..training import Part

__all__ = ["estimator_part", "average_part"]


def estimator_part(est, model) -> Part:
    """A learning rule's state (PCD and PT chains; nothing for CD), folded by the rule's
    ``fold_state_dicts`` where it has one (persistent chains)."""
    stateful = hasattr(est, "state_dict") and hasattr(est, "load_state_dict")

    def check(saved, bad):
        if saved is not None and stateful:
            _check_estimator(bad, saved, est, model)

    def load(saved):
        if saved is not None and stateful:
            est.load_state_dict(saved, device=model.device)

    # the persistent chains of several ranks, concatenated; a rule without chains has nothing to fold
    fold = getattr(est, "fold_state_dicts", None) if stateful else (lambda states: None)
    return Part(lambda: est.state_dict() if stateful else None, load, check, fold)


def average_part(avg, model) -> Part:
    """The parameter averages, or ``None`` without averaging."""
    def check(saved, bad):
        if avg is None or saved is None:
            return
        if (not isinstance(saved, dict) or set(saved) != {"n", "start", "avg"}
                or any(type(saved[k]) is not int or saved[k] < 0 for k in ("n", "start"))
                or not _shapes_match(saved["avg"], avg.avg)):
            raise bad("must hold n, start (ints >= 0) and one floating tensor per parameter, shaped like it")
        nonfinite = sum(int((~torch.isfinite(a)).sum()) for a in saved["avg"])
        if nonfinite:
            raise bad(f"holds {nonfinite} non-finite (NaN or inf) averaged parameters")

    def load(saved):
        if avg is not None and saved is not None:
            avg.load_state_dict({**saved, "avg": [a.to(model.device) for a in saved["avg"]]})

    return Part(lambda: avg.state_dict() if avg is not None else None, load, check)


def _shapes_match(saved, own) -> bool:
    return (isinstance(saved, list) and len(saved) == len(own)
            and all(isinstance(s, torch.Tensor) and s.layout == torch.strided and s.is_floating_point()
                    and s.shape == o.shape for s, o in zip(saved, own)))


def _check_estimator(bad, saved, est, model) -> None:
    """PCD chains: one tensor per group of the model's graph, shape (n_chains, units), and β;
    a rule with chains of another form checks them itself (``check_state_dict``)."""
    if hasattr(est, "check_state_dict"):
        est.check_state_dict(saved, bad, model)
        return
    if not isinstance(saved, dict):
        raise bad(f"must be a dict, got {type(saved).__name__}")
    chains = saved.get("chains")
    if chains is None:
        return
    groups = {grp.name: grp.n_units for grp in model.graph.groups}
    values, beta = (chains.get("values"), chains.get("beta")) if isinstance(chains, dict) else (None, None)
    if (not isinstance(beta, torch.Tensor) or beta.dim() != 1 or not beta.is_floating_point()
            or not isinstance(values, dict) or set(values) != set(groups)):
        raise bad(f"chains must hold 'beta', shape (n_chains,), and a tensor for each of the groups "
                  f"{sorted(groups)}")
    n = beta.shape[0]
    wanted = getattr(est, "n_chains", None)
    if wanted is not None and n % wanted:
        raise bad(f"holds {n} chains, the run has {wanted} per process (or a multiple of that, after a resume on "
                  "fewer processes folded their chains together)")
    for name, x in values.items():
        if (not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] != n
                or math.prod(x.shape[1:]) != groups[name]):
            raise bad(f"chain values of group {name!r} must have shape ({n}, {groups[name]})")
