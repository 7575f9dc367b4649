"""Model classes by name, for checkpoints: a file names its class, and loading finds it here.

A model class is a ``torch.nn.Module`` subclass that defines ``config()``, the keyword
arguments that rebuild it (with its ``state_dict``, what a checkpoint holds); the abstract
bases ``EnergyModel`` and ``DirectedModel`` are not. Classes listed in ``models.__all__``
and its subpackages' resolve without registration; :func:`register_class` (also
:func:`inference.checkpoint.register_model`, and :func:`inference.families.register` for a
family's class) adds others.

Examples
--------
>>> model_class("GaussianRBM").__name__
'GaussianRBM'
"""

from __future__ import annotations

import importlib

import torch

import models
from models.directed import DirectedModel
from models.energy import EnergyModel

__all__ = ["register_class", "model_class", "known_classes", "is_model_class"]

_CLASSES: dict[str, type] = {}


def is_model_class(cls) -> bool:
    """Whether ``cls`` is a model class: a ``torch.nn.Module`` subclass that defines
    ``config()``, other than the abstract bases ``EnergyModel`` and ``DirectedModel``."""
    return (isinstance(cls, type) and issubclass(cls, torch.nn.Module) and callable(getattr(cls, "config", None))
            and cls not in (EnergyModel, DirectedModel))


def register_class(cls: type) -> type:
    """Make a model class loadable from checkpoints by its class name; usable as a class
    decorator."""
    if not is_model_class(cls):
        raise TypeError(f"register_model: expected a model class (an EnergyModel subclass, a DirectedModel subclass or "
                        f"another torch.nn.Module subclass with config()), got {cls!r}")
    _CLASSES[cls.__name__] = cls
    return cls


def _library_classes() -> dict[str, type]:
    out = {}
    packages = [models] + [importlib.import_module(f"models.{name}") for name in getattr(models, "PACKAGES", ())]
    for package in packages:
        for n in getattr(package, "__all__", ()):
            obj = getattr(package, n, None)
            if is_model_class(obj) and obj.__name__ == n:
                out[n] = obj
    return out


def known_classes() -> list[str]:
    """Names of every class :func:`model_class` resolves."""
    return sorted(set(_library_classes()) | set(_CLASSES))


def model_class(name: str) -> type:
    """The model class saved under ``name`` in a checkpoint: registered classes first,
    then the models that :mod:`models` and its subpackages export."""
    if name in _CLASSES:
        return _CLASSES[name]
    cls = _library_classes().get(name)
    if cls is not None:
        return cls
    raise ValueError(f"unknown model class {name!r}; known models: {known_classes()} "
                     "(register others with inference.checkpoint.register_model)")
