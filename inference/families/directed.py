"""Directed models as a family: Pyro programs with a guide, trained by
:func:`inference.directed.fit_directed` (ELBO, NVIL, IWAE, RWS, wake-sleep), judged by the
K-sample importance estimate with the ELBO beside it, sampled ancestrally, reconstructed
through the guide's means."""

from __future__ import annotations

import torch

from models.directed import DirectedModel

from ..directed.train import METHODS, PARTICLE_METHODS, fit_directed
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
    sample_steps = False  # ancestral samples: one pass down the layers, no Gibbs sweeps

    def fit(self, model, data, *, method=None, **options):
        if method is not None and method not in self.methods and method in METHODS:
            raise ValueError(f"fit: method must be one of {list(self.methods)} for the {self.name} family, "
                             f"got {method!r}")
        return fit_directed(model, data, method=method, **options)

    def particle_methods(self) -> tuple:
        """The family's methods that draw importance particles (``--particles``)."""
        return tuple(m for m in (self.cli_methods or self.methods) if m in PARTICLE_METHODS)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--particles", type=COUNT, default=None,
                            help=f"K, importance particles of --method {' and '.join(self.particle_methods())} "
                                 f"(default {self.options().get('n_particles')})")

    def check_cli_fit(self, model, args) -> None:
        """Refuse ``--particles`` with a method that draws no particles."""
        method = args.method or self.cli_default_method()
        if args.particles is not None and method not in PARTICLE_METHODS:
            raise UsageError(f"--particles applies to --method {' and '.join(self.particle_methods())} (importance "
                             f"particles); --method {method} draws none")

    def training_options(self, args) -> dict:
        return {} if args.particles is None else {"n_particles": args.particles}

    def split_evaluation(self, model, args):
        """Split under a launcher: each rank the importance estimates of its rows (its draws
        seeded ``--seed`` + rank), gathered back in order."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..evaluation import importance_log_likelihood

        if args.method not in (None, "importance"):
            raise UsageError(f"--method {args.method} applies to energy models; {self.name or type(model).__name__} "
                             "is evaluated with --method importance")
        # distributed=None: split across the ranks of a process group that pgm eval under torchrun holds open
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

    def decoder(self, model):
        if not hasattr(model, "decoder_log_prob"):  # a sigmoid belief net's latents are binary
            return None
        return model.decoder_log_prob, model.n_latent
