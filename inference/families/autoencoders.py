"""Autoencoders as families: ``ae`` (plain), ``dae`` (denoising), ``sae`` (sparse), ``cae``
(contractive), one :class:`~models.autoencoders.Autoencoder` class with each variant's
defaults and options, and ``stacked`` (:class:`~models.autoencoders.StackedAutoencoder`).

They have no tractable likelihood (``evaluation = "samples"``): ``pgm eval`` reports the
reconstruction and denoising errors, and the denoising autoencoder samples by its Markov
chain (:mod:`inference.autoencoders.chain`). Under a launcher (``torchrun``) each rank
scores its rows r, r + W, ... (corruptions and walk-back noise drawn from seed + rank) and
the means are taken over the gathered rows.
"""

from __future__ import annotations

import torch

from models.autoencoders import GSN, NOISES, Autoencoder, StackedAutoencoder

from ..autoencoders import chain as dae_chain
from ..autoencoders import errors, fit_autoencoder, fit_stacked
from ..autoencoders.gsn import fit_gsn, sample_gsn
from ..distributed import joined, map_rows, rank_seed
from .arguments import COUNT, UsageError, add_sizes_argument, real, sizes_for
from .protocol import Family, _keywords, final_numbers, register

__all__ = ["AutoencoderFamily", "StackedFamily", "GSNFamily", "variant"]

_VARIANT_OPTIONS = {"dae": ("noise",), "sae": ("sparsity",), "cae": ("contraction",), "ae": ()}


def variant(model) -> str:
    """The variant an autoencoder is, from its configuration: ``"dae"`` with a corruption,
    else ``"sae"`` with a sparsity target, ``"cae"`` with a contraction penalty, ``"ae"``."""
    if model.corruption is not None and model.corruption.level > 0:
        return "dae"
    if model.sparsity_weight > 0:
        return "sae"
    return "cae" if model.contraction > 0 else "ae"


def _split_rows(fn, x: torch.Tensor, seed):
    """``fn(rows, seed)``, per-row tensors (or a tuple of them), over all rows of ``x``:
    under a process group (``pgm eval`` under ``torchrun``) each rank its rows r, r + W, ...
    with ``seed + rank``, gathered back in the rows' order; on one process ``fn(x, seed)``."""
    with joined(None, x.device, "pgm eval") as replicas, torch.no_grad():
        return map_rows(lambda rows: fn(rows, rank_seed(seed, replicas)), x, replicas)


class _SplitRows:
    """What the autoencoder families share: ``pgm eval`` splits the rows under a launcher."""

    def split_evaluation(self, model, args):
        """Split under a launcher: each rank scores its rows (its draws seeded seed + rank),
        the means taken over all rows."""
        return None


def _add_variant_arguments(parser, variant: str, defaults: dict) -> None:
    parser.add_argument("--hidden", type=COUNT, default=64, help="hidden units (default 64)")
    parser.add_argument("--activation", choices=["sigmoid", "relu"], default="sigmoid",
                        help="hidden units (default sigmoid)")
    parser.add_argument("--tied", action="store_true", help="decoder weights W' = Wᵀ")
    parser.add_argument("--weight-std", type=float, default=None,
                        help="standard deviation of the initial weights (default 1/sqrt(n_visible))")
    if variant == "dae":
        parser.add_argument("--noise", choices=NOISES, default=defaults["noise"],
                            help=f"corruption C(x̃ | x) (default {defaults['noise']})")
        parser.add_argument("--level", type=real(0.0), default=defaults["noise_level"],
                            help="p of masking and salt-and-pepper noise (< 1), σ of Gaussian noise "
                                 f"(default {defaults['noise_level']})")
    if variant == "sae":
        parser.add_argument("--sparsity", type=real(0.0, 1.0, low_open=True, high_open=True),
                            default=defaults["sparsity"], help=f"target mean activation ρ (default {defaults['sparsity']})")
        parser.add_argument("--beta", type=real(0.0), default=defaults["sparsity_weight"],
                            help=f"weight β of Σ_j KL(ρ ‖ ρ̂_j) (default {defaults['sparsity_weight']})")
        parser.add_argument("--l1", type=real(0.0), default=0.0, help="weight of the L1 activation penalty (default 0)")
    if variant == "cae":
        parser.add_argument("--contraction", type=real(0.0), default=defaults["contraction"],
                            help=f"weight λ of ‖∂h/∂x‖²_F (default {defaults['contraction']})")


def _variant_kwargs(args, variant: str) -> dict:
    out = {"activation": args.activation, "tied": args.tied, "weight_std": args.weight_std}
    if variant == "dae":
        out.update(noise=args.noise, noise_level=args.level)
    if variant == "sae":
        out.update(sparsity=args.sparsity, sparsity_weight=args.beta, l1=args.l1)
    if variant == "cae":
        out.update(contraction=args.contraction)
    return out


class AutoencoderFamily(_SplitRows, Family):
    """One autoencoder variant: its defaults (``defaults``, keywords of
    :class:`~models.autoencoders.Autoencoder`) and command-line options."""

    cls = Autoencoder
    methods = ("reconstruction", "walkback")
    evaluation = "samples"
    fit_evaluations = ("reconstruction",)
    pictures = ("samples", "reconstructions", "filters")
    evaluate_help = "reconstruction and denoising error"
    trainer = staticmethod(fit_autoencoder)
    defaults: dict = {}

    def build(self, data, args):
        return Autoencoder(data.shape[1], args.hidden, seed=args.seed, **_variant_kwargs(args, self.name))

    def from_sizes(self, sizes):
        sizes = tuple(sizes)
        if len(sizes) != 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{self.name}: expected two positive sizes VISIBLExHIDDEN (e.g. {self.name}:64x32), "
                             f"got {sizes}")
        return Autoencoder(*sizes, **self.defaults)

    def add_model_arguments(self, parser) -> None:
        _add_variant_arguments(parser, self.name, self.defaults)

    def add_training_arguments(self, parser) -> None:
        if self.name == "dae":
            parser.add_argument("--walkback", type=COUNT, default=None,
                                help="with --method walkback: chain steps whose corrupted points are trained (default 5)")
        if self.name == "sae":
            parser.add_argument("--sparsity-decay", type=real(0.0, 1.0, high_open=True), default=None,
                                help="weight d of the running average in ρ̂ = d r + (1 − d) ρ̂_batch (default 0.9)")

    def training_options(self, args) -> dict:
        given = {"walkback": getattr(args, "walkback", None), "sparsity_decay": getattr(args, "sparsity_decay", None)}
        return {k: v for k, v in given.items() if v is not None}

    def evaluate(self, model, data, args, load_train) -> dict:
        if args.method is not None:
            raise UsageError(f"--method {args.method}: an autoencoder has no likelihood to estimate; pgm eval "
                             "reports its reconstruction and denoising errors")
        x = model.check_data(data, "data")
        result = errors(model, x, seed=args.seed)  # joins pgm eval's group under a launcher: each rank its rows
        nll = _split_rows(lambda rows, _: -model.log_prob(rows, model.encode(rows)).double(), x, args.seed)
        nll = float(nll.mean())
        return {"model": variant(model), "n": int(x.shape[0]), "reconstruction_nll": nll, **result,
                "note": "an autoencoder has no tractable likelihood; -log P(x | h(x)) is a reconstruction loss, not "
                        "a log-likelihood", "units": "squared error and nats per example"}

    def sample(self, model, n, generator, steps, clamp=None):
        if model.corruption is None or model.corruption.level == 0:
            raise UsageError(f"{self.name} model without a corruption: only a denoising autoencoder (pgm fit dae) "
                             "samples, by its Markov chain")
        state = dae_chain.run(model, dae_chain.init(model, n, generator), steps, generator)
        return state.mean

    def reconstruct(self, model, x):
        return model.reconstruct(x)

    def label(self, model) -> str:
        return variant(model)

    def visible_weights(self, model):
        return model.W.detach().t()


class StackedFamily(_SplitRows, Family):
    """Stacked autoencoders: ``method="greedy"`` trains the layers one by one,
    ``"finetune"`` the whole stack end to end; ``pgm fit stacked --method finetune`` runs
    the greedy layers first."""

    cls = StackedAutoencoder
    methods = ("greedy", "finetune")
    evaluation = "samples"
    fit_evaluations = ()
    pictures = ("reconstructions", "filters")
    resumable = "checkpoint.layer1.pt"
    epochs_help = " (of each greedy layer)"
    trainer = staticmethod(fit_stacked)

    def options(self, method=None) -> dict:
        return {**_keywords(fit_stacked), **_keywords(fit_autoencoder), "layer_method": None}

    def fit(self, model, data, *, method=None, **options):
        return fit_stacked(model, data, method=method or "greedy", **options)

    def build(self, data, args):
        sizes = sizes_for(args.sizes, data, (32, 16))
        kwargs = {"activation": args.activation, "tied": args.tied}
        if args.noise is not None:
            kwargs.update(noise=args.noise, noise_level=args.level)
        return StackedAutoencoder(sizes, seed=args.seed, **kwargs)

    def from_sizes(self, sizes):
        if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"stacked: expected two or more positive sizes (e.g. stacked:64x32x16), got {tuple(sizes)}")
        return StackedAutoencoder(list(sizes))

    def add_model_arguments(self, parser) -> None:
        add_sizes_argument(parser, (32, 16))
        parser.add_argument("--activation", choices=["sigmoid", "relu"], default="sigmoid",
                            help="hidden units of every layer (default sigmoid)")
        parser.add_argument("--tied", action="store_true", help="decoder weights W' = Wᵀ in every layer")
        parser.add_argument("--noise", choices=NOISES, default=None,
                            help="denoising layers with this corruption (default: none)")
        parser.add_argument("--level", type=real(0.0), default=0.25, help="its p or σ (default 0.25)")

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--finetune-epochs", type=COUNT, default=None,
                            help="with --method finetune: epochs of end-to-end training after the greedy layers "
                                 "(default: --epochs)")

    def cli_fit(self, model, data, args, common):
        common = {k: v for k, v in common.items() if k not in ("method", "evaluate", "eval_data")}
        history = fit_stacked(model, data, method="greedy", **common)
        record = history.as_dict()
        if args.method == "finetune":
            tune = {k: v for k, v in common.items() if k in ("batch_size", "lr", "seed", "progress")}
            if "checkpoint" in common:
                tune.update(checkpoint=common["checkpoint"].with_name("checkpoint.finetune.pt"),
                            resume="auto" if common.get("resume") else False)
            epochs = args.finetune_epochs or common.get("epochs", 50)
            history = fit_stacked(model, data, method="finetune", epochs=epochs, **tune)
            record["finetune"] = history.finetune.as_dict()
        return record, final_numbers(history)

    def evaluate(self, model, data, args, load_train) -> dict:
        x = model.check_data(data, "data")

        def per_row(rows, _):
            h = model.encode(rows)
            return (model.decode(h) - rows).double().square().sum(-1), -model.log_prob(rows, h).double()

        err, nll = (float(t.mean()) for t in _split_rows(per_row, x, args.seed))
        return {"model": "stacked", "n": int(x.shape[0]), "recon_error": err, "reconstruction_nll": nll,
                "note": "an autoencoder has no tractable likelihood", "units": "squared error and nats per example"}

    def reconstruct(self, model, x):
        return model.reconstruct(x)

    def visible_weights(self, model):
        return model.layers[0].W.detach().t()


class GSNFamily(_SplitRows, Family):
    """Generative stochastic networks: trained by walk-back through the unrolled chain
    (:func:`~inference.autoencoders.gsn.fit_gsn`), sampled by running it."""

    cls = GSN
    methods = ("walkback",)
    evaluation = "samples"
    pictures = ("samples", "reconstructions", "filters")
    trainer = staticmethod(fit_gsn)

    def build(self, data, args):
        return GSN(sizes_for(args.sizes, data, (128, 128)), input_noise=args.input_noise,
                   hidden_noise=args.hidden_noise, walkback=args.walkback, seed=args.seed)

    def from_sizes(self, sizes):
        if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"gsn: expected two or more positive sizes (e.g. gsn:64x128x128), got {tuple(sizes)}")
        return GSN(list(sizes))

    def add_model_arguments(self, parser) -> None:
        add_sizes_argument(parser, (128, 128))
        parser.add_argument("--input-noise", type=real(0.0, 1.0, high_open=True), default=0.4,
                            help="salt-and-pepper probability of the visible layer (default 0.4)")
        parser.add_argument("--hidden-noise", type=real(0.0), default=2.0,
                            help="σ of the Gaussian noise before and after each hidden activation (default 2)")
        parser.add_argument("--walkback", type=COUNT, default=None,
                            help="chain steps unrolled in training (default twice the number of hidden layers)")

    def evaluate(self, model, data, args, load_train) -> dict:
        x = model.check_data(data, "data")

        def per_row(rows, seed):  # the walk-back noise of each rank's rows drawn from seed + rank
            last = model.reconstructions(rows, torch.Generator(device=rows.device).manual_seed(seed))[-1]
            return (last - rows).double().square().sum(-1), -model.log_prob(rows, last).double()

        err, nll = (float(t.mean()) for t in _split_rows(per_row, x, args.seed))
        return {"model": "gsn", "n": int(x.shape[0]), "walkback_recon_error": err, "walkback_nll": nll,
                "note": "a GSN has no tractable likelihood; the numbers score the chain's reconstruction of "
                        "corrupted data after the walk-back steps", "units": "squared error and nats per example"}

    def sample(self, model, n, generator, steps, clamp=None):
        return sample_gsn(model, n, max(1, steps), generator)

    def reconstruct(self, model, x):
        return model.reconstruct(x)

    def visible_weights(self, model):
        return model.weights[0].detach().t()


_DEFAULTS = {"ae": {}, "dae": {"noise": "masking", "noise_level": 0.25},
             "sae": {"sparsity": 0.05, "sparsity_weight": 3.0}, "cae": {"contraction": 0.1}}
_HELP = {"ae": "autoencoder: sigmoid code, Bernoulli reconstruction (cross-entropy)",
         "dae": "denoising autoencoder: reconstructs x from x̃ ~ C(x̃ | x); samples by its Markov chain",
         "sae": "sparse autoencoder: KL(ρ ‖ ρ̂) penalty on the mean activations",
         "cae": "contractive autoencoder: penalty λ ‖∂h/∂x‖²_F"}

for _name in ("ae", "dae", "sae", "cae"):
    register(AutoencoderFamily(name=_name, help=_HELP[_name], defaults=_DEFAULTS[_name]))
register(StackedFamily(name="stacked", help="stacked autoencoders: greedy layer-wise, then fine-tuned end to end"))
register(GSNFamily(name="gsn", help="generative stochastic network: a noisy deep chain trained by walk-back"))
