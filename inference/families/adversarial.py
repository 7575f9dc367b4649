"""Adversarial and moment-matching generators as families: ``gan`` and ``cgan``
(:class:`~models.adversarial.GAN`, MLPs; the conditional GAN takes ``--data digits-labels``),
``dcgan`` (:class:`~models.adversarial.DCGAN`) and ``gmmn``
(:class:`~models.adversarial.GMMN`). They have no tractable likelihood
(``evaluation = "samples"``): ``pgm eval`` reports decoder AIS under a Gaussian observation
model of a stated σ (``--method ais --sigma``) or the sample-quality scores.
"""

from __future__ import annotations

import math

import torch

from models.adversarial import DCGAN, GAN, GMMN

from ..adversarial import fit_gan, fit_gmmn
from .arguments import COUNT, UsageError
from .autoregressive import hidden_sizes
from .protocol import Family, final_numbers, register

__all__ = ["GeneratorFamily", "AdversarialFamily", "GMMNFamily"]


def _split_labels(model, data, where):
    """``(pixels, labels)`` of rows [pixels, one-hot label] for a conditional model, else ``(data, None)``."""
    k = getattr(model, "n_classes", 0)
    if not k:
        return data, None
    if data.shape[1] != model.n_visible + k:
        raise UsageError(f"{where}: the conditional model takes rows [{model.n_visible} pixels, {k}-way one-hot "
                         f"label] ({model.n_visible + k} columns), got {data.shape[1]}; use --data digits-labels")
    label = data[:, model.n_visible:]
    if not bool((((label == 0) | (label == 1)).all(1) & (label.sum(1) == 1)).all()):
        raise UsageError(f"{where}: the last {k} columns of the data are not one-hot labels; use --data "
                         "digits-labels")
    return data[:, :model.n_visible], label.argmax(1)


class GeneratorFamily(Family):
    """What the generator families share: no tractable likelihood (decoder AIS at a stated
    σ on request), ancestral samples (a conditional model's labels from ``clamp["y"]``)."""

    evaluation = "samples"
    fit_evaluations = ()
    pictures = ("samples",)
    sample_steps = False
    evaluate_help = "decoder AIS at a stated sigma, or nothing"

    def evaluate(self, model, data, args, load_train) -> dict:
        return _evaluate(self, model, data, args)

    def split_evaluation(self, model, args):
        """Split under a launcher: each rank runs the decoder AIS of its rows (seeded
        seed + rank), a conditional model's labels travelling with their rows."""
        return None

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None):
        y = None if not clamp else clamp.get("y")
        return model.sample(n, generator, y=y)

    def label(self, model) -> str:
        if self.name in ("gan", "cgan"):
            return "cgan" if getattr(model, "n_classes", 0) else "gan"
        return self.name or type(model).__name__


class AdversarialFamily(GeneratorFamily):
    """GANs (MLP or convolutional): trained by :func:`~inference.adversarial.fit_gan`."""

    methods = ("non_saturating", "minimax")
    trainer = staticmethod(fit_gan)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--d-steps", type=COUNT, default=None,
                            help="discriminator steps per generator step, k (default 1)")

    def training_options(self, args) -> dict:
        return {} if args.d_steps is None else {"d_steps": args.d_steps}

    def cli_fit(self, model, data, args, common: dict):
        x, labels = _split_labels(model, data, f"pgm fit {self.name}")
        common = {k: v for k, v in common.items() if k not in ("evaluate", "eval_data")}
        history = fit_gan(model, x, labels=labels, **common, **self.training_options(args))
        return history.as_dict(), final_numbers(history)


class GMMNFamily(GeneratorFamily):
    """Generative moment matching networks: trained by the MMD
    (:func:`~inference.adversarial.fit_gmmn`)."""

    methods = ("mmd",)
    trainer = staticmethod(fit_gmmn)

    def fit(self, model, data, *, method=None, **options):
        if method not in (None, "mmd"):
            raise ValueError(f"fit: method must be 'mmd' for a GMMN, got {method!r}")
        return fit_gmmn(model, data, **options)

    def cli_fit(self, model, data, args, common: dict):
        common = {k: v for k, v in common.items() if k not in ("evaluate", "eval_data", "method")}
        history = fit_gmmn(model, data, **common)
        return history.as_dict(), final_numbers(history)


def _evaluate(family, model, data, args) -> dict:
    """``pgm eval`` of a generator: decoder AIS at ``--sigma`` with ``--method ais`` (of a
    conditional model: log p(x | y) with y the label of each row), over ``--betas`` evenly
    spaced βs when given, else the 500-step sigmoid schedule. Under ``pgm eval``'s process
    group (``torchrun``) each rank anneals its rows, seeded seed + rank (:func:`decoder_ais`
    with ``distributed=None``)."""
    from ..evaluation.decoder_ais import decoder_ais

    x, labels = _split_labels(model, data, "pgm eval")
    if args.method != "ais":
        raise UsageError(f"pgm eval: a {family.label(model)} has no tractable likelihood; --method ais --sigma S "
                         "estimates log p(x) under a Gaussian observation model N(x; G(z), S² I) by decoder AIS "
                         "(benchmarks/leaderboard.py scores its samples)")
    if args.sigma is None:
        raise UsageError("--method ais: give the observation model's --sigma (e.g. 0.1); choose it on validation "
                         "data, it sets the likelihood's scale")
    log_lik, n_latent = _row_log_lik(model, args.sigma, labels)
    betas = None if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
    # under pgm eval's launcher (torchrun): each rank the AIS of its rows, seeded seed + rank
    est = decoder_ais(log_lik, n_latent, x if labels is None else data, n_chains=args.chains, betas=betas,
                      seed=args.seed)
    lp = est.log_likelihood
    n = int(lp.numel())
    return {"model": family.label(model), "method": "decoder AIS", "sigma": args.sigma, "n_chains": args.chains,
            "n_steps": est.n_steps,
            "log_likelihood": {"mean": float(lp.mean()), "sem": float(lp.std() / math.sqrt(n)) if n > 1 else None,
                               "n": n},
            "note": "a stochastic lower bound of log p(x) under the Gaussian observation model, a density on the "
                    "data's scale", "units": "nats per example"}


def _row_log_lik(model, sigma, labels):
    """``(log_lik, n_latent)`` of decoder AIS for the rows that ``pgm eval`` reads.

    Unconditional: ``model.decoder(sigma)``, scoring rows of pixels. Conditional (``labels``
    (n,) given): ``log_lik(z, rows)`` = log p(pixels | z, y) with y read from each row's
    last ``n_classes`` columns (one-hot), so that the labels go wherever their rows go: to
    the rank that anneals them under a process group, repeated for each row's chains.
    """
    log_lik, n_latent = model.decoder(sigma, labels)  # checks σ and the labels
    if labels is None:
        return log_lik, n_latent
    n_visible = model.n_visible

    def labelled(z, rows):
        return model.decoder_log_prob(z, rows[:, :n_visible], sigma, rows[:, n_visible:].argmax(1))

    return labelled, n_latent


def _gan_arguments(parser, conditional=False):
    parser.add_argument("--latent", type=COUNT, default=10, help="latent dimensions (default 10)")
    parser.add_argument("--hidden", type=hidden_sizes, default=[128], help="hidden layer sizes of G and D (default 128)")
    if conditional:
        parser.add_argument("--classes", type=COUNT, default=10,
                            help="classes K: the data's last K columns are the one-hot label (default 10)")


def _dcgan_build(data, args):
    side = math.isqrt(data.shape[1])
    if side * side != data.shape[1]:
        raise UsageError(f"pgm fit dcgan: the data's {data.shape[1]} columns are not a square image")
    return DCGAN(side, args.latent, args.channels, seed=args.seed)


def _dcgan_arguments(parser):
    parser.add_argument("--latent", type=COUNT, default=10, help="latent dimensions (default 10)")
    parser.add_argument("--channels", type=COUNT, default=64,
                        help="feature maps of the first discriminator layer, doubled at each stride (default 64)")


def _bandwidths(text):
    import argparse

    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive bandwidths such as 2,5,10,20,40,80, "
                                         f"got {text!r}")
    return values


def _gmmn_arguments(parser):
    parser.add_argument("--latent", type=COUNT, default=10, help="latent dimensions (default 10)")
    parser.add_argument("--hidden", type=hidden_sizes, default=[64, 256, 256],
                        help="hidden layer sizes (default 64,256,256)")
    parser.add_argument("--bandwidths", type=_bandwidths, default=[2, 5, 10, 20, 40, 80],
                        help="σ of the Gaussian kernels of the MMD (default 2,5,10,20,40,80)")


def _sizes(name, build, example, least=2):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) < least or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected sizes like {example}, got {sizes}")
        return build(sizes)
    return from_sizes


def _register():
    register(AdversarialFamily(
        name="gan", cls=GAN, help="GAN: MLP generator and discriminator, the minimax game (non-saturating or "
        "minimax generator loss)",
        build_fn=lambda data, args: GAN(data.shape[1], args.latent, tuple(args.hidden), seed=args.seed),
        sizes_fn=_sizes("gan", lambda s: GAN(s[0], s[-1], tuple(s[1:-1]) or (128,)),
                        "gan:64x128x10 (visible, hidden..., latent)"),
        model_arguments=_gan_arguments))
    register(AdversarialFamily(
        name="cgan", cls=GAN, default_data="digits-labels",
        help="conditional GAN: labels into G and D (rows [pixels, one-hot label], --data digits-labels)",
        build_fn=lambda data, args: GAN(data.shape[1] - args.classes, args.latent, tuple(args.hidden),
                                        n_classes=args.classes, seed=args.seed),
        sizes_fn=_sizes("cgan", lambda s: GAN(s[0], s[-2], tuple(s[1:-2]) or (128,), n_classes=s[-1]),
                        "cgan:64x128x10x10 (visible, hidden..., latent, classes)", least=3),
        model_arguments=lambda parser: _gan_arguments(parser, conditional=True)))
    register(AdversarialFamily(
        name="dcgan", cls=DCGAN, help="DCGAN: transposed-convolution generator, strided-convolution "
        "discriminator with batch normalisation (square images)",
        build_fn=_dcgan_build, sizes_fn=_sizes("dcgan", lambda s: DCGAN(math.isqrt(s[0]), s[-1]),
                                               "dcgan:64x10 (visible, latent)"),
        model_arguments=_dcgan_arguments))
    register(GMMNFamily(
        name="gmmn", cls=GMMN, help="generative moment matching network: a generator trained by the MMD with a "
        "bank of Gaussian kernels",
        build_fn=lambda data, args: GMMN(data.shape[1], args.latent, tuple(args.hidden), tuple(args.bandwidths),
                                         seed=args.seed),
        sizes_fn=_sizes("gmmn", lambda s: GMMN(s[0], s[-1], tuple(s[1:-1]) or (64, 256, 256)),
                        "gmmn:64x64x256x256x10 (visible, hidden..., latent)"),
        model_arguments=_gmmn_arguments))


_register()
