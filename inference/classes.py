"""Model classes by name, for checkpoints: a file names its class, and loading finds it here.

Classes listed in ``models.energy.__all__`` and ``models.directed.__all__`` resolve
without registration; :func:`register_class` (also
:func:`inference.checkpoint.register_model`, and :func:`inference.families.register` for a
family's class) adds others.

Examples
--------
>>> model_class("GaussianRBM").__name__
'GaussianRBM'
"""

from __future__ import annotations

import models.directed
import models.energy
from models.directed import DirectedModel
from models.energy import EnergyModel

__all__ = ["register_class", "model_class", "known_classes", "is_model_class"]

_CLASSES: dict[str, type] = {}


def is_model_class(cls) -> bool:
    """Whether ``cls`` is a concrete subclass of a model base class (energy or directed)."""
    return isinstance(cls, type) and issubclass(cls, (EnergyModel, DirectedModel)) and cls not in (
        EnergyModel, DirectedModel)


def register_class(cls: type) -> type:
    """Make a model class loadable from checkpoints by its class name; usable as a class
    decorator."""
    if not is_model_class(cls):
        raise TypeError(f"register_model: expected an EnergyModel subclass or a DirectedModel subclass, got {cls!r}")
    _CLASSES[cls.__name__] = cls
    return cls


def _library_classes() -> dict[str, type]:
    out = {}
    for package in (models.energy, models.directed):
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
    then the models of :mod:`models.energy` and :mod:`models.directed`."""
    if name in _CLASSES:
        return _CLASSES[name]
    cls = _library_classes().get(name)
    if cls is not None:
        return cls
    raise ValueError(f"unknown model class {name!r}; known models: {known_classes()} "
                     "(register others with inference.checkpoint.register_model)")
