"""Directed models as a family: Pyro programs with a guide, trained by
:func:`inference.directed.fit_directed` (ELBO, NVIL, IWAE, RWS, wake-sleep), judged by the
K-sample importance estimate with the ELBO beside it, sampled ancestrally, reconstructed
through the guide's means."""

from __future__ import annotations

import torch

from models.directed import DirectedModel

from ..directed.train import METHODS, fit_directed
from .arguments import COUNT, UsageError
from .protocol import Family

__all__ = ["DirectedFamily"]


class DirectedFamily(Family):
    """A family of :class:`~models.directed.DirectedModel` s.

    Attributes
    ----------
    sample_means : bool
        Whether ``pgm sample`` draws the decoder's means (the VAE's pictures) rather
        than binary samples.
    """

    cls = DirectedModel
    methods = METHODS
    evaluation = "importance"
    fit_evaluations = ("importance",)
    pictures = ("samples", "reconstructions")
    evaluate_help = "the K-sample importance estimate"
    trainer = staticmethod(fit_directed)
    sample_means = False

    def fit(self, model, data, *, method=None, **options):
        if method is not None and method not in self.methods and method in METHODS:
            raise ValueError(f"fit: method must be one of {list(self.methods)} for the {self.name} family, "
                             f"got {method!r}")
        return fit_directed(model, data, method=method, **options)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--particles", type=COUNT, default=None,
                            help="K, importance particles of --method iwae and rws (default 5)")

    def training_options(self, args) -> dict:
        return {} if args.particles is None else {"n_particles": args.particles}

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..evaluation import importance_log_likelihood

        if args.method not in (None, "importance"):
            raise UsageError(f"--method {args.method} applies to energy models; {self.name or type(model).__name__} "
                             "is evaluated with --method importance")
        est = importance_log_likelihood(model, data, n_samples=args.samples, seed=args.seed,
                                        progress=not args.no_progress)
        return {"model": self.name or type(model).__name__, "method": "importance", "n_samples": est.n_samples,
                "log_likelihood": {"mean": est.mean, "sem": est.sem, "n": est.n},
                "elbo": {"mean": est.elbo, "sem": est.elbo_sem},
                "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation",
                "units": "nats per example"}

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None):
        return model.sample(n, generator, mean=True) if self.sample_means else model.sample(n, generator)

    def reconstruct(self, model, x):
        return model.reconstruct(x)
