"""The model registry: one entry per model family, for checkpoints and the command line.

An entry (:class:`ModelEntry`) names a family on the command line (``"rbm"``), gives
its class, how to build it from training data and the parsed options, the options
themselves (``add_arguments(parser)``), how to build one from layer sizes (``pgm graph
rbm:64x16``), the kind of its visible units and its default data. Checkpoints
(:mod:`inference.checkpoint`) find classes by name here, so a registered family saves,
loads, trains, evaluates, samples and draws through ``pgm`` without further code.

Entries today: ``"rbm"`` (:class:`models.energy.RBM`), ``"grbm"``
(:class:`models.energy.GaussianRBM`), ``"ssrbm"`` (:class:`models.energy.SpikeSlabRBM`),
``"bm"`` (:class:`models.energy.BoltzmannMachine`), ``"hopfield"``
(:class:`models.energy.Hopfield`, which stores patterns instead of being trained by
:func:`inference.fit`), ``"dbm"`` (:class:`models.energy.DBM`), ``"crbm"``
(:class:`models.energy.ClassRBM`, on rows [pixels, one-hot label]), ``"sbn"``
(:class:`models.SigmoidBeliefNet`), ``"helmholtz"`` (the same class as a Helmholtz
machine, :class:`models.HelmholtzMachine`, trained by ``rws`` or ``wake_sleep`` only),
``"vae"`` (:class:`models.VAE`) and ``"dbn"`` (:class:`models.DBN`).
Classes listed in ``models.energy.__all__`` load
from checkpoints without registration; :func:`register_class` (or
:func:`inference.checkpoint.register_model`) adds others.

Examples
--------
>>> lookup("rbm").cls.__name__
'RBM'
>>> model_class("GaussianRBM").__name__
'GaussianRBM'
>>> lookup("grbm").from_sizes((5, 3)).graph.describe().splitlines()[0]
'v: gaussian 5 (observed)'
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import models.directed
import models.energy
from models.directed import DBN, VAE, DirectedModel, SigmoidBeliefNet
from models.energy import DBM, RBM, BoltzmannMachine, ClassRBM, EnergyModel, GaussianRBM, Hopfield, SpikeSlabRBM
from models.energy.hopfield import RULES

__all__ = ["ModelEntry", "register", "unregister", "lookup", "names", "entries", "entry_for", "register_class",
           "model_class", "known_classes"]


@dataclass(frozen=True)
class ModelEntry:
    """A model family as the registry knows it.

    Attributes
    ----------
    name : str
        Name on the command line (``pgm fit NAME``, ``pgm graph NAME:AxB``), lower case.
    cls : type
        The :class:`~models.energy.EnergyModel` subclass.
    build : callable
        ``build(data, args) -> model``: a new model sized (and initialised) for ``data``,
        a float tensor (n, n_visible), from the options of :attr:`add_arguments` in the
        ``argparse.Namespace`` ``args`` (which also holds ``seed``).
    add_arguments : callable
        ``add_arguments(parser)`` adds the family's own options to ``pgm fit NAME``.
    from_sizes : callable
        ``from_sizes(sizes) -> model`` from a tuple of layer sizes (``rbm:64x16`` →
        ``(64, 16)``); raises ValueError for a tuple of the wrong length.
    visible_kind : str
        Kind of the visible group (``"bernoulli"``, ``"gaussian"``...): which data the
        command line accepts.
    default_data : str
        Data spec used when ``--data`` is not given (``"digits"``, ``"digits-real"``).
    help : str
        One line for ``pgm fit --help``.
    train : callable, optional
        ``train(model, data, args) -> dict`` for a family that is not trained by
        :func:`inference.fit` (``pgm fit`` then ignores the learning options); the dict
        is the run's summary, written as ``history.json``.
    methods : tuple of str, optional
        The training methods ``pgm fit NAME --method`` accepts; ``None``: every method of
        its kind (energy or directed).
    """

    name: str
    cls: type
    build: Callable
    add_arguments: Callable
    from_sizes: Callable
    visible_kind: str
    default_data: str
    help: str = ""
    train: Callable | None = None
    methods: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or self.name != self.name.lower() or ":" in self.name:
            raise ValueError(f"ModelEntry: name must be a non-empty lower-case str without ':', got {self.name!r}")
        if not _model_class(self.cls):
            raise TypeError(f"ModelEntry {self.name!r}: cls must be an EnergyModel subclass or a DirectedModel subclass, "
                            f"got {self.cls!r}")
        for field in ("build", "add_arguments", "from_sizes"):
            if not callable(getattr(self, field)):
                raise TypeError(f"ModelEntry {self.name!r}: {field} must be callable, got {getattr(self, field)!r}")


_ENTRIES: dict[str, ModelEntry] = {}
_CLASSES: dict[str, type] = {}


def register(entry: ModelEntry, *, replace: bool = False) -> ModelEntry:
    """Add a family; its class becomes loadable from checkpoints too.

    Raises ValueError if the name is taken (unless ``replace``).
    """
    if not isinstance(entry, ModelEntry):
        raise TypeError(f"register: expected a ModelEntry, got {type(entry).__name__}")
    if entry.name in _ENTRIES and not replace:
        raise ValueError(f"register: a model named {entry.name!r} is already registered "
                         f"({_ENTRIES[entry.name].cls.__name__}); pass replace=True to replace it")
    _ENTRIES[entry.name] = entry
    register_class(entry.cls)
    return entry


def unregister(name: str) -> ModelEntry:
    """Remove the family ``name`` and return its entry; its class stays loadable from
    checkpoints (a file written with it still names it)."""
    entry = lookup(name)
    del _ENTRIES[name]
    return entry


def lookup(name: str) -> ModelEntry:
    """The entry registered as ``name``; ValueError naming the registered ones."""
    if name not in _ENTRIES:
        raise ValueError(f"unknown model {name!r}; registered models: {names()}")
    return _ENTRIES[name]


def names() -> list[str]:
    """Registered family names, in registration order."""
    return list(_ENTRIES)


def entries() -> list[ModelEntry]:
    """Registered entries, in registration order."""
    return list(_ENTRIES.values())


def entry_for(model_or_cls) -> ModelEntry | None:
    """The entry of a model (or class): the first entry whose class is its class or a
    base class of it (most specific first); ``None`` if there is none."""
    cls = model_or_cls if isinstance(model_or_cls, type) else type(model_or_cls)
    for klass in cls.__mro__:
        for entry in _ENTRIES.values():
            if entry.cls is klass:
                return entry
    return None


def register_class(cls: type) -> type:
    """Make an :class:`EnergyModel` subclass loadable from checkpoints by its class name.

    Usable as a class decorator. Classes listed in ``models.energy.__all__`` need no
    registration.
    """
    if not _model_class(cls):
        raise TypeError(f"register_model: expected an EnergyModel subclass or a DirectedModel subclass, got {cls!r}")
    _CLASSES[cls.__name__] = cls
    return cls


def _model_class(cls) -> bool:
    """Whether ``cls`` is a concrete subclass of a model base class (energy or directed)."""
    return isinstance(cls, type) and issubclass(cls, (EnergyModel, DirectedModel)) and cls not in (
        EnergyModel, DirectedModel)


def _library_classes() -> dict[str, type]:
    out = {}
    for package in (models.energy, models.directed):
        for n in getattr(package, "__all__", ()):
            obj = getattr(package, n, None)
            if _model_class(obj) and obj.__name__ == n:
                out[n] = obj
    return out


def known_classes() -> list[str]:
    """Names of every class :func:`model_class` resolves."""
    return sorted(set(_library_classes()) | set(_CLASSES))


def model_class(name: str) -> type:
    """The model class saved under ``name`` in a checkpoint.

    Registered classes first, then the models of :mod:`models.energy` and
    :mod:`models.directed`.
    """
    if name in _CLASSES:
        return _CLASSES[name]
    cls = _library_classes().get(name)
    if cls is not None:
        return cls
    raise ValueError(f"unknown model class {name!r}; known models: {known_classes()} "
                     "(register others with inference.checkpoint.register_model)")


# -- the library's families ------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    return value


def _two_sizes(name, cls):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) != 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected two positive sizes VISIBLExHIDDEN (e.g. {name}:64x16), got {sizes}")
        return cls(*sizes)
    return from_sizes


def _rbm_arguments(parser):
    parser.add_argument("--hidden", type=_positive_int, default=16, help="hidden units (default 16)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial weights (default 0.01)")


def _units_arguments(parser):
    parser.add_argument("--units", choices=("binary", "stepped", "nrelu"), default="binary",
                        help="hidden unit type: binary, stepped sigmoid (exact, N copies) or NReLU (its "
                             "approximate sampler) (default binary)")
    parser.add_argument("--copies", type=_positive_int, default=None,
                        help="copies N of a stepped or NReLU hidden unit (default 10)")


def _units(args):
    """``hidden``/``n_steps`` keywords of the RBM and the Gaussian RBM from ``--units``/``--copies``."""
    if args.units == "binary":
        if args.copies is not None:
            from .cli import UsageError

            raise UsageError("--copies is the number of copies N of a rectified hidden unit; use it with "
                             "--units stepped or --units nrelu")
        return {}
    return {"hidden": args.units, "n_steps": args.copies}


def _rbm_unit_arguments(parser):
    _rbm_arguments(parser)
    _units_arguments(parser)


def _rbm_build(data, args):
    return RBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed, **_units(args))


def _grbm_arguments(parser):
    _rbm_unit_arguments(parser)
    parser.add_argument("--fixed-sigma", action="store_true",
                        help="keep the visible standard deviations at the data's (default: learn them)")


def _grbm_build(data, args):
    return GaussianRBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed,
                                 learn_sigma=not args.fixed_sigma, **_units(args))


def _ssrbm_build(data, args):
    return SpikeSlabRBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed)


register(ModelEntry("rbm", RBM, _rbm_build, _rbm_unit_arguments, _two_sizes("rbm", RBM), "bernoulli", "digits",
                    "binary RBM: binary visible and hidden units"))
register(ModelEntry("grbm", GaussianRBM, _grbm_build, _grbm_arguments, _two_sizes("grbm", GaussianRBM), "gaussian",
                    "digits-real", "Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units"))


def _bm_arguments(parser):
    parser.add_argument("--hidden", type=_positive_int, default=4, help="hidden units (default 4)")
    parser.add_argument("--visible-only", action="store_true", help="no hidden units: a fully visible machine")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial couplings (default 0.01)")


def _bm_build(data, args):
    return BoltzmannMachine.from_data(data, 0 if args.visible_only else args.hidden, weight_std=args.weight_std,
                                      seed=args.seed)


def _bm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) not in (1, 2) or sizes[0] < 1 or any(not isinstance(s, int) or s < 0 for s in sizes):
        raise ValueError(f"bm: expected VISIBLE or VISIBLExHIDDEN sizes (e.g. bm:9x4), got {sizes}")
    return BoltzmannMachine(*sizes)


def _hopfield_arguments(parser):
    parser.add_argument("--rule", choices=RULES, default="hebbian", help="storage rule (default hebbian)")
    parser.add_argument("--patterns", type=_positive_int, default=5,
                        help="store the first PATTERNS rows of the data as ±1 patterns: {0, 1} or grey data binarized "
                             "at 1/2, ±1 data (--data digits-spin) as they are (default 5)")


def _hopfield_build(data, args):
    return Hopfield(data.shape[1], args.rule)


def _hopfield_train(model, data, args):
    patterns = (data[:args.patterns] > 0.5).to(model.W.dtype) * 2 - 1
    model.store(patterns)
    out = model.recall(patterns)
    return {"patterns": int(patterns.shape[0]), "rule": model.rule,
            "fixed_points": float((out.states == patterns).all(1).float().mean())}


def _hopfield_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) != 1 or sizes[0] < 1:
        raise ValueError(f"hopfield: expected one positive size N (e.g. hopfield:64), got {sizes}")
    return Hopfield(sizes[0])


register(ModelEntry("bm", BoltzmannMachine, _bm_build, _bm_arguments, _bm_sizes, "bernoulli", "digits",
                    "Boltzmann machine: binary units all coupled, visible and hidden"))
register(ModelEntry("hopfield", Hopfield, _hopfield_build, _hopfield_arguments, _hopfield_sizes, "spin", "digits",
                    "Hopfield net: ±1 units storing the data's first rows as patterns", train=_hopfield_train))


def _layer_sizes(text):
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 64,32,16, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes (visible first), got {text!r}")
    return sizes


def _dbm_arguments(parser):
    parser.add_argument("--sizes", type=_layer_sizes, default=[64, 32, 16],
                        help="layer sizes, visible first (default 64,32,16)")
    parser.add_argument("--centered", action="store_true", help="centred energy with offsets tracking layer means")
    parser.add_argument("--pretrain", type=_positive_int, default=None, metavar="EPOCHS",
                        help="greedy layer-wise pre-training, EPOCHS of CD-1 per layer (default: none)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial weights (default 0.01)")


def _dbm_build(data, args):
    if args.sizes[0] != data.shape[1]:
        from .cli import UsageError  # a size that does not fit the data is a usage error (exit status 2)

        fixed = ",".join(map(str, [data.shape[1], *args.sizes[1:]]))
        raise UsageError(f"--sizes {','.join(map(str, args.sizes))}: the visible layer must match the data's "
                         f"{data.shape[1]} columns (e.g. --sizes {fixed})")
    model = DBM.from_data(data, args.sizes[1:], centered=args.centered, weight_std=args.weight_std, seed=args.seed)
    if args.pretrain:
        from .learning.pretrain import pretrain_dbm

        pretrain_dbm(model, data, epochs=args.pretrain, seed=args.seed, progress=not args.no_progress)
    return model


def _dbm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"dbm: expected two or more positive sizes VISIBLExH1x... (e.g. dbm:64x32x16), got {sizes}")
    return DBM(sizes)


register(ModelEntry("dbm", DBM, _dbm_build, _dbm_arguments, _dbm_sizes, "bernoulli", "digits",
                    "deep Boltzmann machine: binary layers in a chain, trained by variational SML or --method mp"))


def _crbm_arguments(parser):
    _rbm_arguments(parser)
    parser.add_argument("--classes", type=_positive_int, default=10,
                        help="classes K: the data's last K columns are the one-hot label (default 10)")


def _crbm_build(data, args):
    if data.shape[1] <= args.classes:
        raise ValueError(f"--classes {args.classes}: the classification RBM takes rows [pixels, one-hot label] with "
                         f"more than {args.classes} columns, got {data.shape[1]}; use --data digits-labels")
    label = data[:, -args.classes:]
    if not bool((((label == 0) | (label == 1)).all(1) & (label.sum(1) == 1)).all()):
        raise ValueError(f"the classification RBM takes rows [pixels, one-hot label]; the last {args.classes} "
                         "columns of the data are not one-hot labels: use --data digits-labels (binarized digits "
                         "with their labels) or a file of such rows")
    return ClassRBM.from_data(data, args.hidden, args.classes, weight_std=args.weight_std, seed=args.seed)


def _crbm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) != 3 or not all(isinstance(s, int) and s >= 1 for s in sizes) or sizes[2] < 2:
        raise ValueError(f"crbm: expected three positive sizes VISIBLExHIDDENxCLASSES with CLASSES >= 2 "
                         f"(e.g. crbm:64x16x10), got {sizes}")
    return ClassRBM(*sizes)


register(ModelEntry("crbm", ClassRBM, _crbm_build, _crbm_arguments, _crbm_sizes, "bernoulli", "digits-labels",
                    "classification RBM p(v, y): binary pixels and a softmax label sharing binary hidden units"))


register(ModelEntry("ssrbm", SpikeSlabRBM, _ssrbm_build, _rbm_arguments, _two_sizes("ssrbm", SpikeSlabRBM), "gaussian",
                    "digits-real", "spike-and-slab RBM: real-valued visible units, binary spikes, real slabs"))


def _sbn_arguments(parser):
    parser.add_argument("--layers", type=_positive_int, nargs="+", default=[16],
                        help="latent layer sizes from the bottom up (default 16; e.g. --layers 32 16)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial weights (default 0.01)")
    parser.add_argument("--particles", type=_positive_int, default=5,
                        help="K, importance particles of --method rws and iwae (default 5)")


def _sbn_build(data, args):
    return SigmoidBeliefNet.from_data(data, [data.shape[1], *args.layers], weight_std=args.weight_std, seed=args.seed)


def _sbn_sizes(sizes):
    if len(sizes) < 2:
        raise ValueError(f"sbn: expected at least two sizes VISIBLExLATENT[x...] (e.g. sbn:64x32x16), got {sizes}")
    return SigmoidBeliefNet(list(sizes))


def _vae_arguments(parser):
    parser.add_argument("--hidden", type=_positive_int, default=200, help="hidden units of both MLPs (default 200)")
    parser.add_argument("--latent", type=_positive_int, default=10, help="latent dimensions (default 10)")
    parser.add_argument("--particles", type=_positive_int, default=5,
                        help="K, importance particles of --method iwae (default 5)")


def _vae_build(data, args):
    return VAE(data.shape[1], args.hidden, args.latent, seed=args.seed)


def _vae_sizes(sizes):
    if len(sizes) != 3:
        raise ValueError(f"vae: expected three sizes VISIBLExHIDDENxLATENT (e.g. vae:64x200x10), got {sizes}")
    return VAE(*sizes)


register(ModelEntry("sbn", SigmoidBeliefNet, _sbn_build, _sbn_arguments, _sbn_sizes, "bernoulli", "digits",
                    "sigmoid belief net (Helmholtz machine): binary layers, bottom-up recognition net"))
register(ModelEntry("helmholtz", SigmoidBeliefNet, _sbn_build, _sbn_arguments, _sbn_sizes, "bernoulli", "digits",
                    "Helmholtz machine: the sigmoid belief net by reweighted wake-sleep or wake-sleep",
                    methods=("rws", "wake_sleep")))
register(ModelEntry("vae", VAE, _vae_build, _vae_arguments, _vae_sizes, "bernoulli", "digits",
                    "variational autoencoder: Gaussian latent, MLP decoder, Bernoulli pixels"))


def _dbn_arguments(parser):
    parser.add_argument("--sizes", type=_layer_sizes, default=[64, 32, 16],
                        help="layer sizes, visible first, at least three (default 64,32,16)")
    parser.add_argument("--propagate", choices=["mean", "sample"], default="mean",
                        help="train each upper RBM on the up-pass probabilities or on one binary draw (default mean)")
    parser.add_argument("--samples", type=_positive_int, default=1000,
                        help="K, importance draws of --evaluate per example (default 1000)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial weights (default 0.01)")
    parser.add_argument("--up-down-epochs", type=_positive_int, default=None,
                        help="epochs of up-down fine-tuning after the greedy layers, with --method up_down "
                             "(default 10; k = 10 Gibbs sweeps at the top, lr 0.01)")


def _dbn_build(data, args):
    from .cli import UsageError  # sizes that do not fit are usage errors (exit status 2)

    if len(args.sizes) < 3:
        raise UsageError(f"--sizes {','.join(map(str, args.sizes))}: a DBN needs at least three layers "
                         "(two make an RBM: pgm fit rbm)")
    if args.sizes[0] != data.shape[1]:
        raise UsageError(f"--sizes {','.join(map(str, args.sizes))}: the visible layer must match the data's "
                         f"{data.shape[1]} columns")
    return DBN(args.sizes, weight_std=args.weight_std, seed=args.seed)


def _dbn_sizes(sizes):
    if len(sizes) < 3 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"dbn: expected three or more positive sizes VISIBLExH1xH2[x...] (e.g. dbn:64x32x16), "
                         f"got {tuple(sizes)}")
    return DBN(list(sizes))


register(ModelEntry("dbn", DBN, _dbn_build, _dbn_arguments, _dbn_sizes, "bernoulli", "digits",
                    "deep belief net: an RBM over the top two layers, sigmoid layers below, trained greedily"))
