"""The family protocol: what a model family can do, declared in one place.

A :class:`Family` names a kind of model on the command line (``pgm fit rbm``), gives its
class, how to build one from data or from layer sizes, its training methods and their
options, how it is judged (:data:`EVALUATIONS`), how it samples and reconstructs, and which
pictures apply. :func:`inference.fit`, every ``pgm`` command, :mod:`inference.pictures`
and the demo dispatch through :func:`family_of` — never on a model's concrete class — so a
new family is its own files plus one :func:`register` call.

A model whose class has no family of its own gets the family registered for the nearest
base class in its method resolution order (a user's ``EnergyModel`` subclass is served by
the energy family of ``EnergyModel``).

Examples
--------
>>> from models.energy import RBM
>>> family_of(RBM(4, 2)).name
'rbm'
>>> lookup("vae").evaluation
'importance'
"""

from __future__ import annotations

import inspect

from .arguments import UsageError

__all__ = ["Family", "EVALUATIONS", "PICTURES", "register", "unregister", "lookup", "names", "families",
           "family_of", "option_owners"]

#: How a family's likelihood is judged: exactly (log Z by enumeration), by AIS on log Z,
#: by a variational bound, by an importance estimate, exactly by an autoregressive
#: factorisation, or not at all (sample-quality scores only).
EVALUATIONS = ("exact", "ais", "bound", "importance", "autoregressive", "samples")

#: The pictures a family may support (:mod:`inference.pictures`).
PICTURES = ("samples", "reconstructions", "filters", "recall")


class Family:
    """A model family as :func:`inference.fit`, ``pgm`` and the pictures see it.

    Subclasses set the class attributes and override the methods that differ; a family
    object may also be made directly by passing the attributes as keywords.

    Attributes
    ----------
    name : str or None
        Name on the command line, lower case without ``:`` (``None``: a family that serves
        base classes only and has no ``pgm fit`` sub-command).
    cls : type
        The model class (subclasses without a family of their own are served too).
    help : str
        One line for ``pgm fit --help``.
    default_data : str
        Data spec when ``--data`` is not given (``"digits"``, ``"digits-real"``).
    visible_kind : str
        Kind of the visible units: which data the command line accepts.
    methods : tuple of str
        Training methods (``fit(..., method=...)``, ``pgm fit NAME --method``).
    evaluation : str
        How the family's likelihood is judged, one of :data:`EVALUATIONS`.
    fit_evaluations : tuple of str
        What ``fit(..., evaluate=...)`` / ``pgm fit --evaluate`` accept during training.
    pictures : tuple of str
        The pictures that apply, from :data:`PICTURES`.
    sequences : bool
        Whether the family's data are sequences, (n_sequences, length, frame), rather than
        rows (n, columns): ``pgm`` then loads sequence data (``--data balls``), checks the
        frame width, and ``pgm sample`` continues seed prefixes drawn from ``--data``
        (:meth:`sample` then takes ``prefix`` and ``length`` and returns (n, length, frame)).
    sample_steps : bool
        Whether :meth:`sample` runs ``steps`` Gibbs sweeps (``pgm sample --steps``);
        ``False`` for a family that samples ancestrally, where ``--steps`` is refused.
    trainer : callable
        The training function ``trainer(model, data, *, method, ...) -> history``; its
        signature gives the options and their defaults, the same from Python and from the
        command line.
    """

    name: str | None = None
    cls: type = object
    help: str = ""
    default_data: str = "digits"
    visible_kind: str = "bernoulli"
    methods: tuple = ()
    evaluation: str = "samples"
    fit_evaluations: tuple = ()
    pictures: tuple = ("samples",)
    sample_steps: bool = True
    sequences: bool = False
    #: Whether ``pgm graph`` draws the transitive reduction of the graph's directed edges
    #: (an autoregressive ordering as its chain).
    graph_reduced: bool = False
    #: ``pgm fit``: the methods offered (default :attr:`methods`), whether the family trains
    #: by epochs (the shared ``--epochs``, ``--batch-size``, ``--lr``, ``--evaluate``,
    #: ``--resume``), the file ``--resume`` continues, and phrases for the shared help.
    cli_methods: tuple | None = None
    epoch_trained: bool = True
    resumable: str = "checkpoint.pt"
    epochs_help: str = ""
    lr_help: str = ""
    evaluate_help: str = ""

    def __init__(self, **attributes):
        for key, value in attributes.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__}: unknown attribute {key!r}")
            setattr(self, key, value)
        name = self.name
        if name is not None and (not isinstance(name, str) or not name or name != name.lower() or ":" in name):
            raise ValueError(f"{type(self).__name__}: name must be None or a non-empty lower-case str without ':', "
                             f"got {name!r}")
        if not isinstance(self.cls, type):
            raise TypeError(f"{type(self).__name__} {name!r}: cls must be a class, got {self.cls!r}")
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"{type(self).__name__} {name!r}: evaluation must be one of {list(EVALUATIONS)}, got "
                             f"{self.evaluation!r}")
        bad = [p for p in self.pictures if p not in PICTURES]
        if bad:
            raise ValueError(f"{type(self).__name__} {name!r}: pictures must come from {list(PICTURES)}, got {bad}")
        if name is not None:
            from ..classes import is_model_class

            if not is_model_class(self.cls):
                raise TypeError(f"{type(self).__name__} {name!r}: cls must be a model class (an EnergyModel "
                                f"subclass, a DirectedModel subclass or another torch.nn.Module with config()), "
                                f"got {self.cls!r}")
            for attr, method in (("build_fn", "build"), ("sizes_fn", "from_sizes")):
                value, own = getattr(self, attr), getattr(type(self), method) is not getattr(Family, method)
                if not callable(value) and not (value is None and own):
                    raise TypeError(f"{type(self).__name__} {name!r}: {attr} must be callable (or the class "
                                    f"defines {method}), got {value!r}")

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {self.cls.__name__}>"

    # -- training ----------------------------------------------------------------------
    trainer = None

    def default_method(self, model) -> str | None:
        """The method ``fit`` uses when none is given: the model's ``default_method`` if it
        is one of :attr:`methods`, else the first."""
        own = getattr(model, "default_method", None)
        return own if own in self.methods else (self.methods[0] if self.methods else None)

    def options(self, method: str | None = None) -> dict:
        """Keyword → default of the options ``fit`` accepts for ``method`` (besides
        ``model``, ``data`` and ``method``)."""
        if self.trainer is None:
            return {}
        return _keywords(self.trainer)

    def fit(self, model, data, *, method=None, **options):
        """Train ``model`` on ``data``; returns the trainer's history."""
        if self.trainer is None:
            raise TypeError(f"fit: the {self.name or type(model).__name__} family has no trainer")
        return self.trainer(model, data, method=method, **options)

    # -- the command line -----------------------------------------------------------------
    #: How the model is made on the command line, as plain callables: ``build_fn(data,
    #: args)`` a model sized (and initialised) for the data from the parsed options,
    #: ``sizes_fn(sizes)`` one from layer sizes (``pgm graph NAME:64x16``), and
    #: ``model_arguments(parser)`` adds the family's model options (``--hidden``...).
    build_fn = None
    sizes_fn = None
    model_arguments = None

    def cli_default_method(self) -> str:
        """The method ``pgm fit`` uses without ``--method``."""
        own = getattr(self.cls, "default_method", None)
        methods = self.cli_methods or self.methods
        return own if own in methods else (methods[0] if methods else "none")

    def default_lr_text(self) -> str:
        """The default learning rate, for the help."""
        lr = self.options(self.cli_default_method()).get("lr")
        return f"{lr:g}" if isinstance(lr, float) else str(getattr(self.cls, "default_lr", "the model's"))

    def check_cli_fit(self, model, args) -> None:
        """Refuse, before any work, what the parsed options ask that the model cannot do."""

    def cli_fit(self, model, data, args, common: dict):
        """``pgm fit``: train ``model`` with the shared options ``common`` (``method``,
        ``epochs``, ``batch_size``, ``lr``, ``seed``, ``evaluate``, ``eval_data``,
        ``checkpoint``, ``resume``, ``progress``; those not given left out) and the
        family's own; returns ``(record, summary)``: the JSON-able history to write and a
        dict of the final numbers to print."""
        history = self.fit(model, data, **common, **self.training_options(args))
        return history.as_dict(), final_numbers(history)

    def build(self, data, args):
        """A new model sized (and initialised) for ``data`` from the parsed options."""
        if self.build_fn is None:
            raise TypeError(f"the {self.name} family builds no model from data: give it a build_fn")
        return self.build_fn(data, args)

    def from_sizes(self, sizes):
        """A model from layer sizes (``pgm graph NAME:64x16``)."""
        if self.sizes_fn is None:
            raise TypeError(f"the {self.name} family builds no model from sizes: give it a sizes_fn")
        return self.sizes_fn(sizes)

    def add_model_arguments(self, parser) -> None:
        """The family's model options (``--hidden``...)."""
        if self.model_arguments is not None:
            self.model_arguments(parser)

    def add_training_arguments(self, parser) -> None:
        """The family's training options beyond those every epoch-trained family shares."""

    def training_options(self, args) -> dict:
        """``fit`` keywords from the parsed family training options."""
        return {}

    # -- using a trained model -----------------------------------------------------------------
    def evaluate(self, model, data, args, load_train) -> dict:
        """``pgm eval``: the family's likelihood (or its scores) on ``data``, JSON-able
        (``load_train()`` gives the training split where an estimator needs it)."""
        raise UsageError(f"pgm eval: the {self.label(model)} family declares no evaluation")

    def split_evaluation(self, model, args) -> str | None:
        """``pgm eval`` under a launcher (``torchrun``, several processes): ``None`` where
        :meth:`evaluate` splits its work across the ranks of the process group that the
        command holds open while every rank calls it (the estimators it calls detect the
        group, ``distributed=None``), and only rank 0 prints; otherwise the reason it does
        not, and the command refuses to run N copies (the default: evaluation on one
        process)."""
        return "its evaluation runs on one process"

    def sample(self, model, n: int, generator, steps: int, clamp=None):
        """``n`` samples of the visible units (means where the family draws them), (n, n_visible);
        a family without ``"samples"`` among its :attr:`pictures` draws none."""
        raise UsageError(f"the {self.label(model)} family has no sampler (its pictures: {', '.join(self.pictures)})")

    def reconstruct(self, model, x):
        """The mean reconstruction of each row of ``x``."""
        raise TypeError(f"reconstruct: no reconstruction is defined for a {type(model).__name__}")

    def label(self, model) -> str:
        """The name a model of this family goes by (the family's name; a variant's where one
        class serves several)."""
        return self.name or type(model).__name__

    def decoder(self, model):
        """``(log_lik, n_latent)`` for decoder AIS (:func:`inference.evaluation.decoder_ais
        .decoder_ais`) where the model is a decoder x = g(z) with prior z ~ N(0, I):
        ``log_lik(z, x)`` is log p(x | z) of aligned rows; ``None`` otherwise."""
        return None

    def visible(self, model):
        """The :class:`pgm.VariableGroup` of the data a model takes (size and kind): what
        ``pgm`` checks data against and draws as images."""
        return model.graph[model.visible_name]

    def visible_weights(self, model):
        """Weights from the visible units to the first hidden layer, (n_visible, n_hidden), or ``None``
        (for a model with :meth:`to_pixels`, as pixels: (pixels, n_hidden))."""
        return None

    def filters(self, model):
        """What ``pgm filters`` draws when a family's filters are not the columns of
        :meth:`visible_weights` over the visible image: ``(weights (pixels, n), (height,
        width), title)``, one tile per column; ``None`` (the default) otherwise."""
        return None

    def picture_group(self, model):
        """The group whose values pictures draw (its size gives the image's shape): the
        visible group, unless the family draws the model's data as something else (whitened
        patches as pixels, :meth:`to_pixels`)."""
        return self.visible(model)

    def to_pixels(self, model, x):
        """Rows of data (n, n_visible) as rows of :meth:`picture_group` (the identity by default)."""
        return x


def final_numbers(history) -> dict:
    """The last epoch's numbers of a history, ``epoch`` first: what ``pgm fit`` prints."""
    last = {k: v for k, v in history.last().items() if isinstance(v, (int, float)) and k != "epoch"}
    return {"epoch": history.epoch[-1], **last}


def _keywords(func) -> dict:
    """Keyword-only and positional-or-keyword parameters of ``func`` after the first two,
    with their defaults (``**kwargs`` excluded)."""
    params = list(inspect.signature(func).parameters.values())[2:]
    return {p.name: p.default for p in params
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "method"}


# -- the registry of families -----------------------------------------------------------------

_FAMILIES: dict[str, Family] = {}
_BY_CLASS: list[Family] = []  # every registered family, named or not, in registration order


def register(family: Family, *, replace: bool = False) -> Family:
    """Add a family; a named one gets ``pgm fit NAME``, and its class becomes loadable
    from checkpoints. Raises ValueError if the name is taken (unless ``replace``)."""
    from ..classes import register_class

    if not isinstance(family, Family):
        raise TypeError(f"register: expected a Family, got {type(family).__name__}")
    if family.name is not None:
        if family.name in _FAMILIES and not replace:
            raise ValueError(f"register: a model named {family.name!r} is already registered "
                             f"({_FAMILIES[family.name].cls.__name__}); pass replace=True to replace it")
        old = _FAMILIES.get(family.name)
        if old is not None:
            _BY_CLASS.remove(old)
        _FAMILIES[family.name] = family
        register_class(family.cls)
    _BY_CLASS.append(family)
    return family


def unregister(name: str) -> Family:
    """Remove the family ``name`` and return it; its class stays loadable from checkpoints."""
    family = lookup(name)
    del _FAMILIES[name]
    _BY_CLASS.remove(family)
    return family


def lookup(name: str) -> Family:
    """The family registered as ``name``; ValueError naming the registered ones."""
    if name not in _FAMILIES:
        raise ValueError(f"unknown model {name!r}; registered models: {names()}")
    return _FAMILIES[name]


def names() -> list[str]:
    """Registered family names, in registration order."""
    return list(_FAMILIES)


def families() -> list[Family]:
    """Registered named families, in registration order."""
    return list(_FAMILIES.values())


def family_of(model_or_cls) -> Family | None:
    """The family of a model (or class): the first registered family whose class is its
    class, else the nearest base class's (method resolution order); ``None`` if none."""
    cls = model_or_cls if isinstance(model_or_cls, type) else type(model_or_cls)
    for klass in cls.__mro__:
        for family in _BY_CLASS:
            if family.cls is klass:
                return family
    return None


def option_owners(option: str, method=None) -> list[str]:
    """Names of the registered families whose ``fit`` takes the keyword ``option``."""
    return [f.name for f in families() if option in f.options(method)]
