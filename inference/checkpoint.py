"""Saving and loading models and training checkpoints, atomically.

A file is a ``dict`` written with :func:`torch.save` and read back with
``torch.load(..., weights_only=True)``: tensors, numbers, strings, lists and dicts only.
Every file carries ``"format"`` and ``"config"``, the JSON text
``{"class": <class name>, "config": model.config()}`` from which :func:`build_model`
rebuilds the model, and ``"model"``, its ``state_dict``. A training checkpoint written
by :func:`inference.learning.fit` adds the optimizer, scheduler, generator, PCD chains, averaged
parameters, epoch and history, so :func:`load_model` also reads checkpoints.

Writes go to a temporary file in the destination folder, are flushed to disk, then
renamed over the destination with :func:`os.replace` (atomic on POSIX and Windows): a
crash mid-write leaves the previous file intact and at worst a stray ``.tmp`` file.

Examples
--------
>>> import tempfile, os
>>> from models.energy import RBM
>>> path = os.path.join(tempfile.mkdtemp(), "rbm.pt")
>>> save_model(path, RBM(6, 4, seed=0))
>>> load_model(path)
RBM(n_visible=6, n_hidden=4, weight_std=0.01, seed=0)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

import torch

from models.energy import EnergyModel

from . import registry

__all__ = ["FORMAT", "atomic_save", "load_checkpoint", "save_model", "load_model", "model_config",
           "build_model", "register_model"]

#: Value of the ``"format"`` entry of every file written here.
FORMAT = "pgm/1"


def register_model(cls: type) -> type:
    """Make an :class:`EnergyModel` subclass outside :mod:`models.energy` loadable by name.

    Usable as a class decorator. Classes listed in ``models.energy.__all__`` and the
    classes of :mod:`inference.registry`'s entries need no registration. (A class also
    wanted on the command line gets a :class:`~inference.registry.ModelEntry` with
    :func:`inference.registry.register`.)
    """
    return registry.register_class(cls)


def model_config(model: EnergyModel) -> dict:
    """``{"class": <class name>, "config": model.config()}``, checked to be JSON text."""
    if not isinstance(model, EnergyModel):
        raise TypeError(f"model must be an EnergyModel, got {type(model).__name__}")
    config = {"class": type(model).__name__, "config": model.config()}
    try:
        json.dumps(config)
    except TypeError as err:
        raise TypeError(f"{type(model).__name__}.config() must be JSON-serialisable: {err}") from None
    return config


def build_model(config: dict | str) -> EnergyModel:
    """A freshly initialised model from :func:`model_config`'s output (dict or JSON text)."""
    if isinstance(config, str):
        config = json.loads(config)
    if not isinstance(config, dict) or "class" not in config or "config" not in config:
        raise ValueError(f"config must be {{'class': name, 'config': {{...}}}}, got {config!r}")
    return registry.model_class(config["class"])(**config["config"])


def atomic_save(obj, path) -> None:
    """``torch.save(obj, path)`` through a temporary file in the same folder and a rename.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable (POSIX)
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a file written here with ``weights_only=True`` and check its format."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path!r} is not a pgm model or checkpoint file (format {found!r}, expected {FORMAT!r})")
    return payload


def save_model(path, model: EnergyModel) -> None:
    """Write ``model`` (config + ``state_dict``) to ``path`` atomically."""
    atomic_save({"format": FORMAT, "config": json.dumps(model_config(model)),
                 "model": model.state_dict()}, path)


def load_model(path, device=None) -> EnergyModel:
    """Rebuild the model saved by :func:`save_model` (or in a checkpoint of :func:`inference.learning.fit`).

    Parameters
    ----------
    path : str or PathLike
    device : torch.device or str, optional
        Where to put the model (default: CPU).
    """
    payload = load_checkpoint(path)
    model = build_model(payload["config"])
    state = payload["model"]
    if state and next(iter(state.values())).dtype != model.dtype:
        model = model.to(next(iter(state.values())).dtype)
    model.load_state_dict(state)
    return model.to(device) if device is not None else model
