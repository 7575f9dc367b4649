"""Energy models as a family: trained by contrastive rules (:func:`inference.learning.fit`),
judged by exact or AIS log Z (a variational bound where the latents cannot be summed),
sampled by Gibbs chains, reconstructed by one mean-field pass.

:class:`EnergyFamily` serves every :class:`~models.energy.EnergyModel`; each library model
is one instance with its builder and options, and :class:`HopfieldFamily` stores patterns
instead of training by epochs.
"""

from __future__ import annotations

import torch

from models.energy import EnergyModel, has_free_energy
from models.energy.rectified import DEFAULT_STEPS
from pgm import REAL_KINDS, SPIN_KINDS

from ..learning.fit import fit as fit_energy
from ..learning.options import SHORTHAND
from .arguments import COUNT, UsageError, check_exact, real
from .protocol import Family

__all__ = ["EnergyFamily", "HopfieldFamily", "ENERGY_METHODS"]

#: Learning rules of energy models ("mp": multi-prediction, the DBM only).
ENERGY_METHODS = ("cd", "pcd", "pt", "sml", "mp")


class EnergyFamily(Family):
    """An energy model family. Give ``build_fn``, ``sizes_fn`` and ``model_arguments``
    (:class:`~inference.families.Family`) to make one for a class; the rest is shared."""

    cls = EnergyModel
    methods = ENERGY_METHODS
    cli_methods = ("cd", "pcd", "pt", "sml")
    evaluation = "ais"
    fit_evaluations = ("exact", "ais")
    pictures = ("samples", "reconstructions", "filters")
    evaluate_help = "exact needs a small layer, at most 25 units"
    trainer = staticmethod(fit_energy)

    def options(self, method=None) -> dict:
        shorthand = {k: None for keys in SHORTHAND.values() for k in keys}
        return {**super().options(method), **shorthand}

    def default_lr_text(self) -> str:
        text = super().default_lr_text()
        rectified = getattr(self.cls, "rectified_lr", None)  # the model's default_lr with rectified hidden units
        n = DEFAULT_STEPS
        return text if rectified is None else (f"{text}; {rectified:g} with --units stepped, and with nrelu up to "
                                               f"--copies {n}, {rectified * n:g}/N above")

    # -- the command line -----------------------------------------------------------------
    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--k", type=COUNT, default=None, help="Gibbs sweeps per update (default 1)")
        parser.add_argument("--temperatures", type=COUNT, default=None,
                            help="replicas per chain for --method pt (default 5)")
        parser.add_argument("--momentum", type=real(0.0, 1.0, high_open=True), default=None,
                            help="constant momentum in [0, 1) (default: 0.5, then 0.9 after 5 epochs)")
        parser.add_argument("--average", choices=["none", "polyak"], default="none",
                            help="average the parameters over the second half of training (useful with PCD) "
                                 "(default %(default)s)")

    def training_options(self, args) -> dict:
        given = {"k": args.k, "n_temperatures": args.temperatures, "momentum": args.momentum,
                 "average": None if args.average == "none" else args.average}
        return {k: v for k, v in given.items() if v is not None}

    def check_cli_fit(self, model, args) -> None:
        """Refuse, before any work, what the parsed options ask that the model cannot do."""
        if args.evaluate == "exact":
            check_exact(model, "--evaluate exact", "--evaluate ais or a smaller layer")

    # -- using a trained model -----------------------------------------------------------------
    def split_evaluation(self, model, args):
        """Split under a launcher: log Z by enumeration over state ranges or AIS over chain
        shares, and each rank's rows of the free energies, of the mean-field bound (a DBM)
        and of a classifier's predictions."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..partition import default_schedule
        from ..partition.named import log_partition

        if args.method == "importance":
            raise UsageError(f"--method importance needs a directed model (sbn, vae), not {self.label(model)}; "
                             "use --method exact or ais")
        # distributed=None: split across the ranks of a process group that pgm eval under torchrun holds open
        if args.method == "exact":
            check_exact(model, "--method exact", "--method ais")
            log_z = log_partition(model, "exact")
        else:
            betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
            log_z = log_partition(model, "ais", n_chains=args.chains, betas=betas, base=args.base,
                                  data=load_train() if args.base == "data" else None, seed=args.seed,
                                  progress=not args.no_progress)
        vis = model.graph[model.visible_name]
        result = {"model": self.label(model), "log_z": log_z._asdict(),
                  "log_likelihood": _log_likelihood(model, data, log_z),
                  "units": "nats per example, log-density on the data's scale" if vis.kind in REAL_KINDS
                  else "nats per example"}
        bound = _bound(model, data, log_z)
        if bound is not None:
            result["variational_bound"] = bound
        if hasattr(model, "split_labels"):  # a classifier: accuracy of argmax_y p(y | v) on the same rows
            result["accuracy"] = _accuracy(model, data)
        return result

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None):
        from ..mcmc import gibbs
        from ..mcmc.single_site import self_coupled

        vis = model.graph[model.visible_name]
        state = gibbs.run(model, gibbs.init(model, n, generator, clamp=clamp), steps, generator, clamp=clamp)
        if vis.name in self_coupled(model.graph):  # coupled units: the samples themselves, as {0, 1}
            x = state.values[vis.name]
            return ((x + 1) / 2 if vis.kind in SPIN_KINDS else x).reshape(n, vis.n_units)
        return model.conditional(vis.name, state.values).mean.reshape(n, vis.n_units)

    @torch.no_grad()
    def reconstruct(self, model, x):
        from ..evaluation.reconstruction import mean_field_reconstruction
        from ..partition.visible import check_visible, visible_group

        visible_group(model, "reconstruct")
        p = next(model.parameters())
        x = check_visible(model, x, "reconstruct", exact=False, name="x").to(dtype=p.dtype, device=p.device)
        return mean_field_reconstruction(model, x)

    def visible_weights(self, model):
        graph = model.graph
        vis = graph[model.visible_name].n_units
        weights = getattr(model, "W", None)
        if weights is None and hasattr(model, "weights"):  # a DBM: its bottom layer
            weights = model.weights[0]
        hidden = {g.n_units for g in graph.groups if not g.observed}
        if isinstance(weights, torch.Tensor) and weights.dim() == 2 and weights.shape[0] == vis \
                and weights.shape[1] in hidden:  # not a visible group's lateral couplings (Hopfield)
            return weights.detach()
        return None


def _log_likelihood(model, data, log_z):
    """log p(v) as a dict, or ``None`` where F(v) has no closed form and too many units to sum."""
    from ..evaluation import log_likelihood
    from ..partition.visible import free_energy_plan

    try:
        free_energy_plan(model, "pgm eval")
    except TypeError:
        return None
    return log_likelihood(model, data, log_z)._asdict()


def _accuracy(model, data) -> float:
    """The fraction of rows [v, onehot(y)] whose label a classifier predicts, argmax_y
    p(y | v): each rank of an open process group its rows, the hits gathered."""
    from ..distributed import joined, map_rows

    model.split_labels(data)  # every row checked, on every rank, before any is shared out

    @torch.no_grad()
    def hits(rows):
        v, labels = model.split_labels(rows)
        return (model.predict(v) == labels.to(v.device)).double()

    with joined(None, model.device, "pgm eval") as replicas:
        return float(map_rows(hits, data, replicas).mean())


def _bound(model, data, log_z):
    """The mean-field bound as a dict for models without a free energy whose latents suit it (DBM)."""
    from ..evaluation import variational_bound

    if not _bound_applies(model):
        return None
    return {k: v for k, v in variational_bound(model, data, log_z)._asdict().items() if k != "per_example"}


def _bound_applies(model) -> bool:
    """Whether ``pgm eval`` reports the mean-field bound: latents that suit it and no free energy."""
    from ..variational.mean_field import latent_groups

    if has_free_energy(model) or len(model.graph.groups) == 1:  # nothing latent: log p(v) itself is exact
        return False
    try:
        latent_groups(model, "pgm eval")
    except TypeError:
        return False
    return True


class HopfieldFamily(EnergyFamily):
    """Hopfield nets: ``fit`` stores the data's first rows as patterns (``method="store"``,
    the default; the storage rule is the model's), or trains by a contrastive rule as any
    energy model; ``pgm sample`` recalls stored patterns from corrupted probes."""

    methods = ("store", *ENERGY_METHODS)
    cli_methods = ("store",)
    epoch_trained = False
    pictures = ("samples", "recall")

    def default_method(self, model) -> str:
        return "store"

    def cli_default_method(self) -> str:
        return "store"

    def options(self, method=None) -> dict:
        if method == "store":
            return {"patterns": 5}
        store = {"patterns": 5} if method is None else {}
        return {**super().options(method), **store}

    def fit(self, model, data, *, method=None, patterns: int = 5, **options):
        """``method="store"``: store the first ``patterns`` rows of ``data`` ({0, 1} or grey
        data binarized at 1/2, ±1 data as they are; more patterns than rows is a
        ValueError) and return a summary dict (patterns,
        rule, the fraction that are fixed points); other methods: :func:`inference.learning.fit`."""
        from pgm.checks import check_int

        if method not in (None, "store"):
            # a contrastive rule trains W and θ by gradient (the storage rules set them without one): W's
            # gradient ⟨ssᵀ⟩_data − ⟨ssᵀ⟩_model is symmetric with a zero diagonal for ±1 spins, so W stays
            # a Hopfield net's couplings
            flags = [p.requires_grad for p in model.parameters()]
            model.requires_grad_(True)
            try:
                return fit_energy(model, data, method=method, **options)
            finally:
                for p, flag in zip(model.parameters(), flags):
                    p.requires_grad_(flag)
        if options:
            raise TypeError(f"fit: method 'store' takes only patterns, got {sorted(options)}")
        patterns = check_int(patterns, "patterns", 1, "fit")
        x = torch.as_tensor(data)
        if patterns > x.shape[0]:
            raise ValueError(f"fit: patterns={patterns} exceeds the {x.shape[0]} rows of data; store at most "
                             f"{x.shape[0]} (patterns={x.shape[0]})")
        x = x[:patterns]
        stored = (x > 0.5).to(model.W.dtype) * 2 - 1
        model.store(stored)
        out = model.recall(stored)
        return {"patterns": int(stored.shape[0]), "rule": model.rule,
                "fixed_points": float((out.states == stored).all(1).float().mean())}

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--method", choices=list(self.cli_methods), default=None,
                            help="store: the data's first rows as patterns, by the net's --rule (default store)")
        parser.add_argument("--patterns", type=COUNT, default=5,
                            help="store the first PATTERNS rows of the data (at most its rows) as ±1 patterns: "
                                 "{0, 1} or grey data binarized at 1/2, ±1 data (--data digits-spin) as they are "
                                 "(default %(default)s)")

    def training_options(self, args) -> dict:
        return {"patterns": args.patterns}

    def build(self, data, args):
        rows = data.shape[0]
        if args.patterns > rows:  # before any work, as a usage error (exit status 2)
            raise UsageError(f"--patterns {args.patterns}: the data has {rows} rows; store at most {rows} "
                             f"(--patterns {rows})")
        return super().build(data, args)

    def cli_fit(self, model, data, args, common):
        summary = self.fit(model, data, method="store", **self.training_options(args))
        return summary, summary
