"""The one training checkpointer: what a run saves, and the checks on resuming it.

A training checkpoint is a model file (:mod:`inference.checkpoint`: ``"config"``,
``"model"``, written atomically with its checksum) plus

``"fit"``
    the JSON text of the run's settings (method, sizes, rates, seed, the data's
    fingerprint...), compared on resume: a run continues only with the same settings;
``"epoch"``, ``"history"``
    the epochs done and the per-epoch record;
``"backend"``
    the name of the path that ran the steps (a fast path or the generic one);
``"ranks"``
    a data-parallel run only: each rank's generators and persistent chains, in rank order
    (:mod:`inference.distributed.rank_state`); the other entries are rank 0's;
one entry per :class:`Part` of the trainer
    the optimizer, LR scheduler, random generators, persistent chains, parameter
    averages... each with the check that refuses a malformed entry before anything loads.

:func:`restore` checks every entry before the first ``load_state_dict``, and a failure
while loading puts back what was already loaded: when it raises, the model and every
part are as they were.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import warnings
from typing import Callable, NamedTuple

import torch

from ..checkpoint import invalid_file, load_checkpoint, model_config, write_payload

__all__ = ["Part", "fingerprint", "save", "restore", "optimizer_part", "scheduler_part", "generator_part",
           "global_rng_parts", "module_part"]

_BASE = ("fit", "epoch", "history")


class Part(NamedTuple):
    """One piece of a run's state besides the model's parameters.

    Attributes
    ----------
    state : callable () -> object
        What is saved (tensors, numbers, strings, lists and dicts only).
    load : callable (saved) -> None
        Puts a saved state back into the run.
    check : callable (saved, bad) -> None, optional
        Refuses a malformed saved state by raising ``bad(what)`` (a ValueError naming the
        file and the entry) before anything is loaded.
    fold : callable (list of saved) -> saved, optional
        For a part that differs from rank to rank: one state holding the states of
        several ranks (persistent chains, concatenated), for a run that resumes on fewer
        processes than wrote the checkpoint; ``None``: such states cannot be combined (a
        random generator) and the surplus ranks' are dropped.
    """

    state: Callable
    load: Callable
    check: Callable | None = None
    fold: Callable | None = None


def fingerprint(data: torch.Tensor) -> list:
    """Shape, sum and a position-weighted sum of the rows: resuming needs the same data."""
    rows = data.sum(1, dtype=torch.float64).cpu()  # per-row sums, then a deterministic CPU reduction
    weights = torch.arange(1, rows.shape[0] + 1, dtype=torch.float64)
    return [int(data.shape[0]), int(data.shape[1]), round(rows.sum().item(), 6),
            round((rows * weights).sum().item(), 3)]


def save(path, trainer, epoch: int, history) -> None:
    """Write ``trainer``'s run after ``epoch`` epochs to ``path``, atomically, with the
    file's checksum."""
    payload = {"config": json.dumps(model_config(trainer.model)), "model": trainer.model.state_dict(),
               "fit": json.dumps(trainer.settings()), "backend": trainer.backend, "epoch": epoch,
               "history": history.as_dict()}
    for name, part in trainer.parts().items():
        payload[name] = part.state()
    replicas = trainer.replicas
    if replicas is None:
        write_payload(path, payload)
        return
    from ..distributed import gather_states

    payload["ranks"] = gather_states(trainer, replicas)  # every rank's generators and chains, in rank order
    try:
        if replicas.is_main:
            write_payload(path, payload)
    finally:
        replicas.barrier()  # no rank goes on before the file is there


def restore(path, trainer) -> tuple[int, object]:
    """Load the checkpoint at ``path`` into ``trainer``'s run after checking that it
    matches; returns (epochs done, history as ``trainer.history``'s type).

    Raises
    ------
    ValueError
        A model file rather than a training checkpoint, another class or sizes, settings
        that differ (naming each differing setting), or an entry that is malformed.
    """
    where, model = os.fspath(path), trainer.model
    prefix = trainer.where
    ckpt = load_checkpoint(path)  # format, checksum, and "config" against "model"
    if "fit" not in ckpt:
        raise ValueError(f"{prefix}: {where!r} holds a model, not a training checkpoint; "
                         "load it with inference.checkpoint.load_model")
    saved_class = json.loads(ckpt["config"])["class"]
    if saved_class != type(model).__name__:
        raise ValueError(f"{prefix}: checkpoint {where!r} is for a {saved_class}, not a {type(model).__name__}")
    own = model.state_dict()
    mismatch = [f"{key}: checkpoint {tuple(t.shape)} vs model {tuple(own[key].shape)}"
                for key, t in ckpt["model"].items() if key in own and tuple(t.shape) != tuple(own[key].shape)]
    missing = sorted(set(own) ^ set(ckpt["model"]))
    if mismatch or missing:
        raise ValueError(f"{prefix}: checkpoint {where!r} does not fit this {saved_class}: size mismatch "
                         f"({'; '.join(mismatch) or 'entries ' + str(missing)}); build the model with the "
                         "checkpoint's sizes")
    parts = trainer.parts()
    missing = [key for key in (*_BASE, *parts) if key not in ckpt]
    if missing:
        raise invalid_file(where, f"its training checkpoint lacks the entries {missing}")
    saved = _settings(where, ckpt["fit"])
    settings = json.loads(json.dumps(trainer.settings()))
    diff = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if diff:
        detail = ", ".join(f"{key}: checkpoint {saved.get(key)!r} vs now {settings.get(key)!r}" for key in diff)
        raise ValueError(f"{prefix}: cannot resume from {where!r}: the run differs ({detail}); "
                         "use the same data and settings, or start afresh with resume=False")

    def bad(entry):
        return lambda what: invalid_file(where, f"its {entry!r} entry {what}")

    epoch = ckpt["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise bad("epoch")(f"must be an int >= 0, got {epoch!r}")
    hist = ckpt["history"]
    if not isinstance(hist, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in hist.items()):
        raise bad("history")("must map metric names to lists")
    try:
        history = type(trainer.history).from_dict(hist)
    except (TypeError, ValueError) as err:
        raise bad("history")(f"does not rebuild a {type(trainer.history).__name__} ({err})") from None
    backend = ckpt.get("backend")
    if backend is not None and not isinstance(backend, str):
        raise bad("backend")(f"must be a name, got {type(backend).__name__}")
    for name, part in parts.items():
        if part.check is not None:
            part.check(ckpt[name], bad(name))
    if backend is not None and trainer.backend is not None and backend != trainer.backend:
        warnings.warn(f"{prefix}: {where!r} was written on backend {backend!r} and resumes on {trainer.backend!r}: "
                      "the run continues validly but is no longer bit-identical to an uninterrupted one",
                      stacklevel=4)
    before = {"model": {k: v.detach().clone() for k, v in own.items()},
              **{name: copy.deepcopy(part.state()) for name, part in parts.items()}}
    try:
        _put(model, parts, ckpt)
        ranks, note = ckpt.get("ranks"), None
        if trainer.replicas is not None or (isinstance(ranks, dict) and ranks.get("world_size", 1) != 1):
            from ..distributed import scatter_states  # this rank's own generators and chains (one process: rank 0)

            note = scatter_states(ranks, trainer, trainer.replicas, where, bad)
    except Exception as err:
        _put(model, parts, before)
        raise invalid_file(where, f"its training state does not load into this run ({type(err).__name__}: "
                                  f"{err})") from err
    if note is not None:
        warnings.warn(note, stacklevel=4)
    return epoch, history


def _put(model, parts, state) -> None:
    model.load_state_dict(state["model"])
    for name, part in parts.items():
        part.load(state[name])


def _settings(where, text) -> dict:
    try:
        saved = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        saved = None
    if not isinstance(saved, dict):
        raise invalid_file(where, "its 'fit' entry must be the JSON text of the run's settings")
    return saved


# -- the parts every trainer uses ------------------------------------------------------------

def optimizer_part(optimizer) -> Part:
    """A ``torch.optim`` optimizer: its groups, sizes and per-parameter state shapes are
    checked against the run's."""
    return Part(optimizer.state_dict, optimizer.load_state_dict, lambda saved, bad: _check_optimizer(
        bad, saved, optimizer))


def scheduler_part(scheduler) -> Part:
    """An LR scheduler, or ``None`` (nothing saved)."""
    if scheduler is None:
        return Part(lambda: None, lambda saved: None)

    def check(saved, bad):
        if saved is not None and (not isinstance(saved, dict) or not all(isinstance(k, str) for k in saved)):
            raise bad("must be a scheduler's state_dict")

    return Part(scheduler.state_dict, lambda s: s is not None and scheduler.load_state_dict(s), check)


#: The sizes (bytes) of a generator's state on each kind of device: the CPU's Mersenne
#: Twister, CUDA's Philox (seed and offset).
GENERATOR_STATE_SIZES = {"cpu": 5056, "cuda": 16}


def generator_part(generator: torch.Generator) -> Part:
    """The run's own ``torch.Generator`` (shuffling and sampling).

    A state written on another kind of device (a CUDA run resumed on the CPU, or the
    reverse) cannot be set into this generator: it is reseeded from a hash of the saved
    state instead, with a warning that the run continues validly but on another random
    stream than an uninterrupted run's."""
    def check(saved, bad):
        own = generator.get_state()
        sizes = sorted({own.numel(), *GENERATOR_STATE_SIZES.values()})
        if (not isinstance(saved, torch.Tensor) or saved.dtype != own.dtype or saved.dim() != 1
                or saved.numel() not in sizes):
            raise bad(f"must be a generator state, a {own.dtype} tensor of shape {tuple(own.shape)} (or of "
                      f"{' or '.join(map(str, sizes))} bytes, written on another kind of device)")

    def load(saved):
        if saved.numel() == generator.get_state().numel():
            generator.set_state(saved)
            return
        kind = {v: k for k, v in GENERATOR_STATE_SIZES.items()}.get(saved.numel(), "another kind of device")
        generator.manual_seed(_seed_of(saved))
        warnings.warn(f"the run's generator state was written on {kind!r} and resumes on {generator.device.type!r}: "
                      "its generator is reseeded from that state, so the run continues validly but is no longer "
                      "bit-identical to an uninterrupted one", stacklevel=5)

    return Part(generator.get_state, load, check)


def _seed_of(state: torch.Tensor) -> int:
    """A 63-bit seed determined by a generator state's bytes."""
    digest = hashlib.sha256(state.cpu().numpy().tobytes()).digest()
    return int.from_bytes(digest[:8], "little") & (2 ** 63 - 1)


def global_rng_parts(device: torch.device) -> dict:
    """torch's global generators, which Pyro draws from: ``"rng"`` (CPU) and
    ``"cuda_rng"`` (the model's CUDA device; ``None`` elsewhere)."""
    def check(saved, bad):
        if not isinstance(saved, torch.Tensor) or saved.dtype != torch.uint8:
            raise bad("must be a generator state, a torch.uint8 tensor")

    cuda = device.type == "cuda"
    return {"rng": Part(torch.get_rng_state, torch.set_rng_state, check),
            "cuda_rng": Part(lambda: torch.cuda.get_rng_state(device) if cuda else None,
                             lambda s: cuda and s is not None and torch.cuda.set_rng_state(s, device))}


def module_part(module) -> Part:
    """A module trained beside the model (e.g. NVIL's baseline net), or ``None``."""
    if module is None:
        return Part(lambda: None, lambda saved: None)

    def check(saved, bad):
        own = module.state_dict()
        if (not isinstance(saved, dict) or set(saved) != set(own)
                or any(not isinstance(saved[k], torch.Tensor) or saved[k].shape != own[k].shape for k in own)):
            raise bad(f"must be the state_dict of a {type(module).__name__} with the entries {sorted(own)}")

    return Part(module.state_dict, module.load_state_dict, check)


def _check_optimizer(bad, saved, optimizer) -> None:
    """The saved state_dict has the optimizer's groups, sizes and per-parameter state shapes."""
    own = optimizer.param_groups
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or not isinstance(state, dict) or len(groups) != len(own):
        raise bad(f"must be the state_dict of an optimizer with {len(own)} parameter group(s)")
    pairs = []
    for i, (group, mine) in enumerate(zip(groups, own)):
        ids = group.get("params") if isinstance(group, dict) else None
        if not isinstance(ids, list) or len(ids) != len(mine["params"]) or not all(type(j) is int for j in ids):
            raise bad(f"parameter group {i} must list {len(mine['params'])} parameter ids")
        pairs += zip(ids, mine["params"])
    params = dict(pairs)
    if len(params) != len(pairs) or not set(state) <= set(params):
        raise bad("has state for parameter ids its groups do not list (or lists one twice)")
    for j, entry in state.items():
        if not isinstance(entry, dict) or not all(isinstance(k, str) for k in entry):
            raise bad(f"state of parameter {j} must be a dict")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != params[j].shape:
                raise bad(f"state {name!r} of parameter {j} has shape {tuple(value.shape)}, "
                          f"the parameter {tuple(params[j].shape)}")
