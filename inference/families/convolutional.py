"""Convolutional models as families: ``convrbm`` (the conv RBM with probabilistic max-pooling,
an energy model trained by CD/PCD, judged by AIS) and ``convdbn`` (two of them stacked,
trained greedily, judged by the importance estimate and bound with the top layer's log Z)."""

from __future__ import annotations

import argparse

import torch

from models.directed import ConvDBN
from models.energy import ConvRBM

from ..convdbn import conv_dbn_log_likelihood, fit_conv_dbn, sample_conv_dbn
from ..learning.fit import fit as fit_energy
from ..learning.options import SHORTHAND
from .arguments import COUNT, UsageError, check_exact, real
from .energy import EnergyFamily
from .protocol import Family, _keywords, final_numbers, register

__all__ = ["ConvRBMFamily", "ConvDBNFamily", "scaled_filters"]


def scaled_filters(filters, side: int) -> torch.Tensor:
    """Filters (n, h, w), each scaled to a largest absolute value of 1 and centred on a side × side canvas, as the
    columns of a (side², n) matrix for :func:`pgm.filter_grid`."""
    filters = filters.detach().cpu().double()
    n, h, w = filters.shape
    scale = filters.reshape(n, -1).abs().amax(1).clamp(min=1e-12)
    out = torch.zeros(n, side, side, dtype=torch.float64)
    top, left = (side - h) // 2, (side - w) // 2
    out[:, top:top + h, left:left + w] = filters / scale.reshape(-1, 1, 1)
    return out.reshape(n, -1).t()


def _side(image_shape):
    """An int or HxW (``8`` or ``28x28``) for ``--image-shape``."""
    parts = image_shape.lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an image side or HEIGHTxWIDTH such as 28x28, got "
                                         f"{image_shape!r}") from None
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected an image side or HEIGHTxWIDTH of positive ints, got "
                                         f"{image_shape!r}")
    return tuple(sizes * 2)[:2]


def _image(data, args, where):
    """(H, W) of the data's images: ``--image-shape`` or the square side of its columns."""
    if args.image_shape is not None:
        h, w = args.image_shape
        if h * w != data.shape[1]:
            raise UsageError(f"--image-shape {h}x{w}: the data has {data.shape[1]} columns, not {h * w}")
        return (h, w)
    side = int(round(data.shape[1] ** 0.5))
    if side * side != data.shape[1]:
        raise UsageError(f"{where} takes square images; the data's {data.shape[1]} columns are not a square number "
                         "of pixels: give --image-shape HEIGHTxWIDTH")
    return (side, side)


def _sparsity_arguments(parser):
    parser.add_argument("--sparsity", type=real(0.0, 1.0, low_open=True, high_open=True), default=None,
                        help="target mean activation of the detection units, a penalty on the hidden biases "
                             "(default: none)")
    parser.add_argument("--sparsity-cost", type=real(0.0), default=1.0,
                        help="weight λ of the sparsity penalty λ Σ_k (target − mean_k)² (default %(default)s)")
    parser.add_argument("--image-shape", type=_side, default=None,
                        help="HEIGHTxWIDTH of the images (default: square)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial filters (default 0.01)")


def _convrbm_arguments(parser):
    parser.add_argument("--filters", type=COUNT, default=8, help="K, number of filters (default 8)")
    parser.add_argument("--filter-size", type=COUNT, default=5, help="side of a filter (default 5)")
    parser.add_argument("--pool", type=COUNT, default=2, help="C, side of a pooling block (default 2)")
    _sparsity_arguments(parser)


def _convrbm_build(data, args):
    shape = _image(data, args, "convrbm")
    try:
        return ConvRBM.from_data(data, args.filters, args.filter_size, args.pool, image_shape=shape,
                                 weight_std=args.weight_std, seed=args.seed, sparsity=args.sparsity,
                                 sparsity_cost=args.sparsity_cost)
    except ValueError as err:  # sizes that do not fit the image are usage errors (exit status 2)
        raise UsageError(f"--filter-size {args.filter_size} --pool {args.pool}: {err}") from None


def _convrbm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) != 4 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"convrbm: expected four positive sizes SIDExFILTERSxFILTER_SIZExPOOL (e.g. convrbm:8x8x5x2), "
                         f"got {sizes}")
    return ConvRBM(sizes[0], *sizes[1:])


class ConvRBMFamily(EnergyFamily):
    """The conv RBM: an energy family (AIS or exact log Z) whose filters are drawn as
    n_w × n_w pictures; ``pgm fit convrbm`` offers CD and PCD (``fit`` takes every energy
    rule)."""

    cls = ConvRBM
    cli_methods = ("cd", "pcd")
    evaluate_help = "exact needs a tiny model, at most 25 units on its smaller side"

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--k", type=COUNT, default=None, help="Gibbs sweeps per update (default 1)")
        parser.add_argument("--momentum", type=real(0.0, 1.0, high_open=True), default=None,
                            help="constant momentum in [0, 1) (default: 0.5, then 0.9 after 5 epochs)")
        parser.add_argument("--average", choices=["none", "polyak"], default="none",
                            help="average the parameters over the second half of training (useful with PCD) "
                                 "(default %(default)s)")

    def training_options(self, args) -> dict:
        given = {"k": args.k, "momentum": args.momentum, "average": None if args.average == "none" else args.average}
        return {k: v for k, v in given.items() if v is not None}

    def visible_weights(self, model):
        return None

    def filters(self, model):
        """The K filters, (n_w², K) with image shape (n_w, n_w) (channels stacked vertically)."""
        w = model.W.detach().cpu()
        k, ch, f, _ = w.shape
        return w.reshape(k, ch * f * f).t(), (ch * f, f), f"{self.label(model)}: the {k} filters"

    def default_lr_text(self) -> str:
        return f"{ConvRBM.lr_per_position:g} / the detection positions, 0.05 for 8x8 images and 5x5 filters"


class ConvDBNFamily(Family):
    """The conv DBN: ``method="greedy"`` trains the two conv RBMs (:func:`inference.convdbn.fit_conv_dbn`;
    each takes :func:`inference.learning.fit`'s options); judged by the importance estimate
    and the variational bound with the top layer's log Z; samples by Gibbs in the top layer
    and one pass down."""

    cls = ConvDBN
    methods = ("greedy",)
    evaluation = "importance"
    fit_evaluations = ()
    pictures = ("samples", "reconstructions", "filters")
    resumable = "checkpoint.layer1.pt"
    epochs_help = " of each layer"
    lr_help = " of each layer"

    def options(self, method=None) -> dict:
        return {**_keywords(fit_energy), **{k: None for keys in SHORTHAND.values() for k in keys},
                **_keywords(fit_conv_dbn)}

    def default_lr_text(self) -> str:
        return f"{ConvRBM.lr_per_position:g} / each layer's detection positions, the conv RBM's"

    def fit(self, model, data, *, method=None, **options):
        return fit_conv_dbn(model, data, method=method, **options)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--layer-method", choices=("cd", "pcd"), default=None,
                            help="learning rule of each layer (default cd)")
        parser.add_argument("--k", type=COUNT, default=None, help="Gibbs sweeps per update (default 1)")
        parser.add_argument("--momentum", type=real(0.0, 1.0, high_open=True), default=None,
                            help="constant momentum in [0, 1) (default: 0.5, then 0.9 after 5 epochs)")

    def training_options(self, args) -> dict:
        given = {"layer_method": args.layer_method, "k": args.k, "momentum": args.momentum}
        return {k: v for k, v in given.items() if v is not None}

    def cli_fit(self, model, data, args, common):
        common = dict(common)
        common.pop("method", None)
        common.pop("evaluate", None)
        common.pop("eval_data", None)
        history = self.fit(model, data, method="greedy", **common, **self.training_options(args))
        return history.as_dict(), final_numbers(history)

    def split_evaluation(self, model, args):
        """Split under a launcher: the second layer's log Z (states or AIS chains) and the
        rows of the importance estimate (:func:`~inference.convdbn.conv_dbn_log_likelihood`)."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..partition import default_schedule

        if args.method == "importance":
            raise UsageError("--method picks the top layer's log Z for a convdbn: exact or ais (the likelihood is "
                             "always the importance estimate)")
        if args.method == "exact":
            check_exact(model.layer2, "--method exact", "--method ais")
        betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
        ais = {"n_chains": args.chains, "betas": betas, "base": args.base, "progress": not args.no_progress}
        # distributed=None: split across the ranks of a process group that pgm eval under torchrun holds open
        est = conv_dbn_log_likelihood(model, data, args.method or "auto", n_samples=args.samples, seed=args.seed,
                                      train_data=load_train() if args.base == "data" else None, ais_options=ais)
        return {"model": "convdbn", "method": "importance", "n_samples": args.samples, "log_z": est.log_z._asdict(),
                "log_likelihood": {"mean": est.mean, "lower": est.lower, "upper": est.upper, "sem": est.sem,
                                   "n": data.shape[0]},
                "elbo": {"mean": est.elbo, "lower": est.elbo_lower, "upper": est.elbo_upper, "sem": est.elbo_sem},
                "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation, the "
                        "elbo a lower bound; lower/upper carry the top layer's log Z bracket",
                "units": "nats per example"}

    def sample(self, model, n, generator, steps, clamp=None):
        return sample_conv_dbn(model, n, generator, steps)

    def reconstruct(self, model, x):
        return model.reconstruct(x)

    def filters(self, model):
        """Both layers' filters in pixel space, each scaled to a largest absolute value of 1: layer 1's, then
        layer 2's as weighted combinations of layer 1's (:meth:`~models.ConvDBN.pixel_filters`)."""
        first, second = model.pixel_filters()
        side = max(first.shape[-1], second.shape[-1])
        weights = torch.cat([scaled_filters(first, side), scaled_filters(second, side)], 1)
        return weights, (side, side), (f"{self.label(model)}: {first.shape[0]} layer-1 filters, then "
                                       f"{second.shape[0]} layer-2 filters in pixel space (each scaled to max |w| 1)")


def _convdbn_arguments(parser):
    pair = _pair_of("two ints such as 8,16")
    parser.add_argument("--filters", type=pair, default=(8, 16), help="K1,K2, filters per layer (default 8,16)")
    parser.add_argument("--filter-sizes", type=pair, default=(3, 2),
                        help="filter sides of the two layers (default 3,2)")
    parser.add_argument("--pools", type=pair, default=(2, 2), help="pooling block sides C1,C2 (default 2,2)")
    _sparsity_arguments(parser)


def _pair_of(what):
    def parse(text):
        try:
            values = tuple(int(t) for t in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if len(values) != 2 or min(values) < 1:
            raise argparse.ArgumentTypeError(f"expected {what} (positive), got {text!r}")
        return values
    parse.__name__ = what
    return parse


def _convdbn_build(data, args):
    shape = _image(data, args, "convdbn")
    try:
        return ConvDBN(shape, args.filters, args.filter_sizes, args.pools, weight_std=args.weight_std, seed=args.seed,
                       sparsity=args.sparsity, sparsity_cost=args.sparsity_cost)
    except ValueError as err:
        raise UsageError(f"--filters/--filter-sizes/--pools: {err}") from None


def _convdbn_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) != 7 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"convdbn: expected seven positive sizes SIDExK1xF1xC1xK2xF2xC2 "
                         f"(e.g. convdbn:8x8x3x2x16x2x2), got {sizes}")
    return ConvDBN(sizes[0], sizes[1::3], sizes[2::3], sizes[3::3])


register(ConvRBMFamily(
    name="convrbm", help="convolutional RBM with probabilistic max-pooling: shared filters, binary images",
    build_fn=_convrbm_build, sizes_fn=_convrbm_sizes, model_arguments=_convrbm_arguments))
register(ConvDBNFamily(
    name="convdbn", help="convolutional DBN: two conv RBMs with probabilistic max-pooling, trained greedily",
    build_fn=_convdbn_build, sizes_fn=_convdbn_sizes, model_arguments=_convdbn_arguments))
