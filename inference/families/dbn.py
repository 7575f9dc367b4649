"""The deep belief net as a family: greedy layer-wise training (each RBM by
:func:`inference.learning.fit`), up-down fine-tuning, the importance estimate and bound with
the top RBM's log Z, samples by Gibbs at the top and one ancestral pass."""

from __future__ import annotations

import torch

from models.directed import DBN

from ..dbn import fit_greedy, fit_up_down
from ..learning.fit import fit as fit_energy
from ..learning.options import SHORTHAND
from .arguments import COUNT, UsageError, check_exact, real
from .protocol import Family, _keywords, final_numbers

__all__ = ["DBNFamily"]

_LAYER_METHODS = ("cd", "pcd", "pt", "sml")


class DBNFamily(Family):
    """Deep belief nets: ``method="greedy"`` trains the layers (``fit_greedy``; each RBM
    takes :func:`inference.learning.fit`'s options), ``"up_down"`` fine-tunes a trained
    net (``fit_up_down``; k = 10 top-level sweeps by default). ``pgm fit dbn --method
    up_down`` runs the greedy layers, then ``--up-down-epochs`` of up-down at
    ``--up-down-lr``."""

    cls = DBN
    methods = ("greedy", "up_down")
    evaluation = "importance"
    fit_evaluations = ("exact", "ais", "auto")
    pictures = ("samples", "reconstructions")
    resumable = "checkpoint.layer1.pt"
    epochs_help = " of each greedy layer"
    lr_help = " of each greedy layer (up-down: --up-down-lr)"
    evaluate_help = "the bound after each layer; exact needs small layers, auto picks per layer"

    def options(self, method=None) -> dict:
        greedy = {**_keywords(fit_energy), **{k: None for keys in SHORTHAND.values() for k in keys},
                  **_keywords(fit_greedy)}  # fit_greedy passes what it does not take on to each layer's fit
        if method == "greedy":
            return greedy
        if method == "up_down":
            return _keywords(fit_up_down)
        return {**greedy, **_keywords(fit_up_down)}

    def default_lr_text(self) -> str:
        return "0.1, the RBM's"

    def fit(self, model, data, *, method=None, **options):
        if method == "up_down":
            return fit_up_down(model, data, **options)
        return fit_greedy(model, data, method=method, **options)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--layer-method", choices=_LAYER_METHODS, default=None,
                            help="learning rule of each greedy layer's RBM (default cd)")
        parser.add_argument("--k", type=COUNT, default=None, help="Gibbs sweeps per greedy update (default 1)")
        parser.add_argument("--temperatures", type=COUNT, default=None,
                            help="replicas per chain for --layer-method pt (default 5)")
        parser.add_argument("--momentum", type=real(0.0, 1.0, high_open=True), default=None,
                            help="constant momentum of the greedy layers in [0, 1) (default: 0.5, then 0.9 after 5 "
                                 "epochs)")
        parser.add_argument("--average", choices=["none", "polyak"], default="none",
                            help="average each greedy layer's parameters over the second half of its training "
                                 "(default %(default)s)")
        parser.add_argument("--propagate", choices=["mean", "sample"], default=None,
                            help="train each upper RBM on the up-pass probabilities or on one binary draw "
                                 "(default mean)")
        parser.add_argument("--samples", type=COUNT, default=None,
                            help="K, importance draws of --evaluate per example (default 1000)")
        parser.add_argument("--up-down-epochs", type=COUNT, default=None,
                            help="epochs of up-down fine-tuning after the greedy layers, with --method up_down "
                                 "(default 10)")
        parser.add_argument("--up-down-lr", type=real(0.0, low_open=True), default=None,
                            help="learning rate of up-down fine-tuning, with --method up_down (default 0.01)")
        parser.add_argument("--up-down-k", type=COUNT, default=None,
                            help="Gibbs sweeps in the top RBM per up-down update, with --method up_down (default 10)")

    def training_options(self, args) -> dict:
        given = {"layer_method": args.layer_method, "k": args.k, "n_temperatures": args.temperatures,
                 "momentum": args.momentum, "propagate": args.propagate, "n_samples": args.samples,
                 "average": None if args.average == "none" else args.average}
        return {k: v for k, v in given.items() if v is not None}

    def check_cli_fit(self, model, args) -> None:
        up_down = [opt for opt, value in (("--up-down-epochs", args.up_down_epochs), ("--up-down-lr", args.up_down_lr),
                                          ("--up-down-k", args.up_down_k)) if value is not None]
        if args.method != "up_down" and up_down:
            raise UsageError(f"{up_down[0]} applies with --method up_down (greedy layers, then up-down fine-tuning)")
        if args.evaluate == "exact":
            for l in range(1, model.n_layers + 1):
                check_exact(model.layer_rbm(l), "--evaluate exact", "--evaluate ais or a smaller layer")

    def cli_fit(self, model, data, args, common):
        """The greedy layers (checkpointed per layer), then with ``--method up_down`` the
        up-down fine-tuning (checkpointed to ``checkpoint.up_down.pt``)."""
        common = dict(common)
        common.pop("method", None)
        checkpoint = common.get("checkpoint")
        history = self.fit(model, data, method="greedy", **common, **self.training_options(args))
        record = history.as_dict()
        if args.method == "up_down":
            up = {key: common[key] for key in ("batch_size", "seed", "evaluate", "eval_data", "progress", "resume")
                  if key in common}
            if up.get("evaluate") == "auto":  # as greedy's "auto": exact log Z where the top RBM enumerates
                from ..partition.exact import enumeration_set

                up["evaluate"] = "exact" if enumeration_set(model.top)[1] <= 20 else "ais"
            for key, value in (("epochs", args.up_down_epochs), ("lr", args.up_down_lr), ("k", args.up_down_k),
                               ("n_samples", args.samples)):
                if value is not None:
                    up[key] = value
            if checkpoint is not None:
                up["checkpoint"] = checkpoint.with_name("checkpoint.up_down.pt")
                up["resume"] = "auto" if common.get("resume") else False
            history = fit_up_down(model, data, **up)
            record["up_down"] = history.as_dict()
        return record, final_numbers(history)

    def split_evaluation(self, model, args):
        """Split under a launcher: the top RBM's log Z (states or AIS chains) and the rows of
        the importance estimate (:func:`~inference.dbn.dbn_log_likelihood`)."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..dbn import dbn_log_likelihood
        from ..partition import default_schedule
        from ..partition.exact import MAX_EXACT_UNITS, enumeration_set

        if args.method == "importance":
            raise UsageError("--method picks the top RBM's log Z for a dbn: exact or ais (the likelihood is "
                             "always the importance estimate)")
        method = args.method or ("exact" if enumeration_set(model.top)[1] <= MAX_EXACT_UNITS else "ais")
        if method == "exact":
            check_exact(model.top, "--method exact", "--method ais")
        betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
        ais = {"n_chains": args.chains, "betas": betas, "base": args.base, "progress": not args.no_progress}
        est = dbn_log_likelihood(model, data, method, n_samples=args.samples, seed=args.seed,
                                 train_data=load_train() if args.base == "data" else None, ais_options=ais,
                                 progress=not args.no_progress)
        return {"model": "dbn", "method": "importance", "n_samples": args.samples, "log_z": est.log_z._asdict(),
                "log_likelihood": {"mean": est.mean, "lower": est.lower, "upper": est.upper, "sem": est.sem,
                                   "n": est.importance.n},
                "elbo": {"mean": est.elbo, "lower": est.elbo_lower, "upper": est.elbo_upper, "sem": est.elbo_sem},
                "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation; "
                        "lower/upper carry the top RBM's log Z bracket",
                "units": "nats per example"}

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None):
        from ..dbn import set_dbn_prior

        set_dbn_prior(model, None, n_gibbs=steps, generator=generator)  # steps Gibbs sweeps in the top RBM
        return model.sample(n, generator)

    def reconstruct(self, model, x):
        return model.reconstruct(x)
