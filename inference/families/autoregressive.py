"""Autoregressive models as families: ``fvsbn``, ``nade``, ``oanade`` (order-agnostic deep
NADE), ``made`` and ``rnade``, trained by maximum likelihood
(:func:`~inference.autoregressive.fit_autoregressive`) and judged by their exact
log-likelihood (``evaluation = "autoregressive"``), per ordering and for ensembles of
orderings; sampled ancestrally, and in-painted exactly along an ordering that puts the
observed pixels first."""

from __future__ import annotations

import argparse
import math

import torch

import pgm
from models.autoregressive import FVSBN, MADE, NADE, RNADE, OrderAgnosticNADE

from ..autoregressive import fit_autoregressive
from .arguments import COUNT, UsageError
from .protocol import Family, register

__all__ = ["AutoregressiveFamily"]


class AutoregressiveFamily(Family):
    """A family of :class:`~models.autoregressive.AutoregressiveModel` s: ``build_fn``,
    ``sizes_fn`` and ``model_arguments`` give the model; everything else is shared."""

    methods = ("likelihood",)
    evaluation = "autoregressive"
    fit_evaluations = ("exact",)
    pictures = ("samples",)
    sample_steps = False  # ancestral: one pass along the ordering
    graph_reduced = True
    evaluate_help = "the exact test log-likelihood"
    trainer = staticmethod(fit_autoregressive)

    def visible(self, model):
        return pgm.VariableGroup("x", model.n_visible, model.visible_kind, observed=True)

    def split_evaluation(self, model, args):
        """Split under a launcher: each rank the exact log-likelihoods of its rows."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        if args.method not in (None, "exact"):
            raise UsageError(f"--method {args.method}: the {self.label(model)} model's log-likelihood is exact; leave "
                             "--method out (or --method exact)")
        x = model.check_data(data, "data")
        k = getattr(args, "ensemble", 1) or 1
        try:
            members = model.members(k, seed=args.seed) if k > 1 else [None]
        except ValueError as err:
            raise UsageError(f"--ensemble {k}: {err}") from None
        from ..distributed import joined, map_rows

        # under pgm eval's launcher (torchrun): each rank its rows, gathered back in order
        with joined(None, x.device, "pgm eval") as replicas, torch.no_grad():
            per = torch.stack(map_rows(lambda rows: tuple(model.log_prob(rows, m).double() for m in members), x,
                                       replicas))
        result = {"model": self.label(model), "method": "exact", "log_likelihood": _summary(per[0])}
        if k > 1:
            ensemble = torch.logsumexp(per, 0) - math.log(k)
            result["members"] = [_summary(row) for row in per]
            result["ensemble"] = {"k": k, **_summary(ensemble)}
        result["units"] = ("nats per example, log-density on the data's scale" if model.visible_kind != "bernoulli"
                           else "nats per example")
        return result

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None):
        return model.sample(n, generator)

    def label(self, model) -> str:
        return self.name or type(model).__name__

    def visible_weights(self, model):
        weights = getattr(model, "visible_weights", None)
        return None if weights is None else weights()


def _summary(lp: torch.Tensor) -> dict:
    n = lp.numel()
    sem = float(lp.std() / math.sqrt(n)) if n > 1 else None
    return {"mean": float(lp.mean()), "sem": sem, "n": n}


def _sizes(name, cls, arity, example):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) != arity or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected {arity} positive size{'s' if arity > 1 else ''} (e.g. {example}), got "
                             f"{sizes}")
        return cls(*sizes)
    return from_sizes


def _hidden(parser, default):
    parser.add_argument("--hidden", type=COUNT, default=default, help=f"hidden units (default {default})")


def hidden_sizes(text):
    """An argparse type: comma-separated hidden layer sizes, one or more (``500`` or ``500,500``)."""
    try:
        sizes = [int(t) for t in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive hidden layer sizes such as 500 or 500,500, "
                                         f"got {text!r}")
    return sizes


def _made_arguments(parser):
    parser.add_argument("--hidden", type=hidden_sizes, default=[500],
                        help="hidden layer sizes (default 500; e.g. --hidden 500,500)")
    parser.add_argument("--masks", type=COUNT, default=1,
                        help="mask sets, one drawn per minibatch; an ensemble averages them (default 1)")
    parser.add_argument("--order-agnostic", action="store_true",
                        help="each mask set draws its own input ordering (default: all share the natural order)")
    parser.add_argument("--direct", action="store_true", help="masked direct input-to-output connections")


def _made_sizes(sizes):
    if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"made: expected two or more positive sizes VISIBLExH1[x...] (e.g. made:64x500), got "
                         f"{tuple(sizes)}")
    return MADE(sizes[0], tuple(sizes[1:]))


def _oanade_arguments(parser):
    parser.add_argument("--hidden", type=hidden_sizes, default=[500, 500],
                        help="hidden layer sizes (default 500,500)")


def _oanade_sizes(sizes):
    if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"oanade: expected two or more positive sizes VISIBLExH1[x...] (e.g. oanade:64x500x500), "
                         f"got {tuple(sizes)}")
    return OrderAgnosticNADE(sizes[0], tuple(sizes[1:]))


def _rnade_arguments(parser):
    _hidden(parser, 64)
    parser.add_argument("--components", type=COUNT, default=10,
                        help="mixture components per dimension (default 10)")
    parser.add_argument("--kind", choices=["gaussian", "laplace"], default="gaussian",
                        help="component densities (default gaussian)")


def _register():

    register(AutoregressiveFamily(
        name="fvsbn", cls=FVSBN, help="fully visible sigmoid belief net: one logistic regression per pixel on the "
        "pixels before it", build_fn=lambda data, args: FVSBN(data.shape[1], seed=args.seed),
        sizes_fn=_sizes("fvsbn", FVSBN, 1, "fvsbn:64")))
    register(AutoregressiveFamily(
        name="nade", cls=NADE, help="NADE: a hidden layer shared across the conditionals (running sum), Bernoulli "
        "pixels", build_fn=lambda data, args: NADE(data.shape[1], args.hidden, seed=args.seed),
        sizes_fn=_sizes("nade", NADE, 2, "nade:64x64"), pictures=("samples", "filters"), model_arguments=lambda p: _hidden(p, 64)))
    register(AutoregressiveFamily(
        name="made", cls=MADE, help="MADE: a masked MLP giving every conditional in one pass; several mask sets "
        "for connectivity-agnostic training and ensembles",
        build_fn=lambda data, args: MADE(data.shape[1], tuple(args.hidden), n_masks=args.masks,
                                         order_agnostic=args.order_agnostic, direct=args.direct, seed=args.seed),
        sizes_fn=_made_sizes, model_arguments=_made_arguments))
    register(AutoregressiveFamily(
        name="oanade", cls=OrderAgnosticNADE, help="order-agnostic deep NADE: trained over all orderings with the "
        "mask as input; any ordering is a member, ensembles average them, in-painting of any pixels is exact",
        build_fn=lambda data, args: OrderAgnosticNADE(data.shape[1], tuple(args.hidden), seed=args.seed),
        sizes_fn=_oanade_sizes, model_arguments=_oanade_arguments))
    register(AutoregressiveFamily(
        name="rnade", cls=RNADE, visible_kind="gaussian", default_data="digits-real",
        help="RNADE: NADE for real-valued data, a mixture of Gaussians (or Laplacians) per dimension",
        build_fn=lambda data, args: RNADE.from_data(data, args.hidden, n_components=args.components,
                                                    components=args.kind, seed=args.seed),
        sizes_fn=_sizes("rnade", RNADE, 2, "rnade:64x64"), model_arguments=_rnade_arguments))


_register()
