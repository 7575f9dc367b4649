"""The library's families, one registration each: how each model is built from data or
from sizes and which model options it takes on the command line.

``rbm``, ``grbm``, ``bm``, ``hopfield``, ``dbm``, ``crbm``, ``ssrbm`` (energy models),
``sbn``, ``helmholtz``, ``vae`` (directed models) and ``dbn``; unnamed families serve any
other :class:`~models.energy.EnergyModel` or :class:`~models.directed.DirectedModel`.
"""

from __future__ import annotations

from models.directed import DBN, VAE, DirectedModel, SigmoidBeliefNet
from models.energy import DBM, RBM, BoltzmannMachine, ClassRBM, EnergyModel, GaussianRBM, Hopfield, SpikeSlabRBM
from models.energy.hopfield import RULES

from .arguments import COUNT, UsageError, add_sizes_argument, sizes_for
from .dbn import DBNFamily
from .directed import DirectedFamily
from .energy import EnergyFamily, HopfieldFamily
from .protocol import register

__all__ = []


def _two_sizes(name, cls):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) != 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected two positive sizes VISIBLExHIDDEN (e.g. {name}:64x16), got {sizes}")
        return cls(*sizes)
    return from_sizes


def _weight_std(parser, what="weights"):
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help=f"standard deviation of the initial {what} (default 0.01)")


def _rbm_arguments(parser):
    parser.add_argument("--hidden", type=COUNT, default=16, help="hidden units (default 16)")
    _weight_std(parser)


def _rbm_unit_arguments(parser):
    _rbm_arguments(parser)
    parser.add_argument("--units", choices=("binary", "stepped", "nrelu"), default="binary",
                        help="hidden unit type: binary, stepped sigmoid (exact, N copies) or NReLU (its "
                             "approximate sampler) (default binary)")
    parser.add_argument("--copies", type=COUNT, default=None,
                        help="copies N of a stepped or NReLU hidden unit (default 10)")


def _units(args):
    """``hidden``/``n_steps`` keywords of the RBM and the Gaussian RBM from ``--units``/``--copies``."""
    if args.units == "binary":
        if args.copies is not None:
            raise UsageError("--copies is the number of copies N of a rectified hidden unit; use it with "
                             "--units stepped or --units nrelu")
        return {}
    return {"hidden": args.units, "n_steps": args.copies}


def _grbm_arguments(parser):
    _rbm_unit_arguments(parser)
    parser.add_argument("--fixed-sigma", action="store_true",
                        help="keep the visible standard deviations at the data's (default: learn them)")


register(EnergyFamily(
    name="rbm", cls=RBM, help="binary RBM: binary visible and hidden units",
    build_fn=lambda data, args: RBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed,
                                              **_units(args)),
    sizes_fn=_two_sizes("rbm", RBM), model_arguments=_rbm_unit_arguments))
register(EnergyFamily(
    name="grbm", cls=GaussianRBM, visible_kind="gaussian", default_data="digits-real",
    help="Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units",
    build_fn=lambda data, args: GaussianRBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed,
                                                      learn_sigma=not args.fixed_sigma, **_units(args)),
    sizes_fn=_two_sizes("grbm", GaussianRBM), model_arguments=_grbm_arguments))


def _bm_arguments(parser):
    parser.add_argument("--hidden", type=COUNT, default=4, help="hidden units (default 4)")
    parser.add_argument("--visible-only", action="store_true", help="no hidden units: a fully visible machine")
    _weight_std(parser, "couplings")


def _bm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) not in (1, 2) or sizes[0] < 1 or any(not isinstance(s, int) or s < 0 for s in sizes):
        raise ValueError(f"bm: expected VISIBLE or VISIBLExHIDDEN sizes (e.g. bm:9x4), got {sizes}")
    return BoltzmannMachine(*sizes)


def _hopfield_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) != 1 or sizes[0] < 1:
        raise ValueError(f"hopfield: expected one positive size N (e.g. hopfield:64), got {sizes}")
    return Hopfield(sizes[0])


register(EnergyFamily(
    name="bm", cls=BoltzmannMachine, help="Boltzmann machine: binary units all coupled, visible and hidden",
    build_fn=lambda data, args: BoltzmannMachine.from_data(data, 0 if args.visible_only else args.hidden,
                                                           weight_std=args.weight_std, seed=args.seed),
    sizes_fn=_bm_sizes, model_arguments=_bm_arguments))
register(HopfieldFamily(
    name="hopfield", cls=Hopfield, visible_kind="spin",
    help="Hopfield net: ±1 units storing the data's first rows as patterns",
    build_fn=lambda data, args: Hopfield(data.shape[1], args.rule), sizes_fn=_hopfield_sizes,
    model_arguments=lambda parser: parser.add_argument("--rule", choices=RULES, default="hebbian",
                                                       help="storage rule (default hebbian)")))


def _sizes_text(sizes):
    return ",".join(map(str, sizes))


def _dbm_arguments(parser):
    add_sizes_argument(parser, (32, 16))
    parser.add_argument("--centered", action="store_true", help="centred energy with offsets tracking layer means")
    parser.add_argument("--pretrain", type=COUNT, default=None, metavar="EPOCHS",
                        help="greedy layer-wise pre-training, EPOCHS of CD-1 per layer (default: none)")
    _weight_std(parser)


def _dbm_build(data, args):
    sizes = sizes_for(args.sizes, data, (32, 16))  # a size that does not fit the data: a usage error (status 2)
    model = DBM.from_data(data, sizes[1:], centered=args.centered, weight_std=args.weight_std, seed=args.seed)
    if args.pretrain:
        from ..learning.pretrain import pretrain_dbm

        pretrain_dbm(model, data, epochs=args.pretrain, seed=args.seed, progress=not args.no_progress)
    return model


def _dbm_sizes(sizes):
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"dbm: expected two or more positive sizes VISIBLExH1x... (e.g. dbm:64x32x16), got {sizes}")
    return DBM(sizes)


register(EnergyFamily(
    name="dbm", cls=DBM, evaluation="bound", cli_methods=("sml", "pcd", "cd", "pt", "mp"),
    help="deep Boltzmann machine: binary layers in a chain, trained by variational SML or --method mp",
    build_fn=_dbm_build, sizes_fn=_dbm_sizes, model_arguments=_dbm_arguments))


def _crbm_arguments(parser):
    _rbm_arguments(parser)
    parser.add_argument("--classes", type=COUNT, default=10,
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


register(EnergyFamily(
    name="crbm", cls=ClassRBM, default_data="digits-labels",
    help="classification RBM p(v, y): binary pixels and a softmax label sharing binary hidden units",
    build_fn=_crbm_build, sizes_fn=_crbm_sizes, model_arguments=_crbm_arguments))
register(EnergyFamily(
    name="ssrbm", cls=SpikeSlabRBM, visible_kind="gaussian", default_data="digits-real",
    help="spike-and-slab RBM: real-valued visible units, binary spikes, real slabs",
    build_fn=lambda data, args: SpikeSlabRBM.from_data(data, args.hidden, weight_std=args.weight_std, seed=args.seed),
    sizes_fn=_two_sizes("ssrbm", SpikeSlabRBM), model_arguments=_rbm_arguments))


def _sbn_arguments(parser):
    parser.add_argument("--layers", type=COUNT, nargs="+", default=[16],
                        help="latent layer sizes from the bottom up (default 16; e.g. --layers 32 16)")
    _weight_std(parser)


def _sbn_sizes(sizes):
    if len(sizes) < 2:
        raise ValueError(f"sbn: expected at least two sizes VISIBLExLATENT[x...] (e.g. sbn:64x32x16), got {sizes}")
    return SigmoidBeliefNet(list(sizes))


def _sbn_build(data, args):
    return SigmoidBeliefNet.from_data(data, [data.shape[1], *args.layers], weight_std=args.weight_std, seed=args.seed)


def _vae_arguments(parser):
    parser.add_argument("--hidden", type=COUNT, default=200, help="hidden units of both MLPs (default 200)")
    parser.add_argument("--latent", type=COUNT, default=10, help="latent dimensions (default 10)")


def _vae_sizes(sizes):
    if len(sizes) != 3:
        raise ValueError(f"vae: expected three sizes VISIBLExHIDDENxLATENT (e.g. vae:64x200x10), got {sizes}")
    return VAE(*sizes)


register(DirectedFamily(
    name="sbn", cls=SigmoidBeliefNet, help="sigmoid belief net (Helmholtz machine): binary layers, bottom-up "
    "recognition net", build_fn=_sbn_build, sizes_fn=_sbn_sizes, model_arguments=_sbn_arguments))
register(DirectedFamily(
    name="helmholtz", cls=SigmoidBeliefNet, methods=("rws", "wake_sleep"),
    help="Helmholtz machine: the sigmoid belief net by reweighted wake-sleep or wake-sleep",
    build_fn=_sbn_build, sizes_fn=_sbn_sizes, model_arguments=_sbn_arguments))
register(DirectedFamily(
    name="vae", cls=VAE, sample_means=True, help="variational autoencoder: Gaussian latent, MLP decoder, Bernoulli "
    "pixels", build_fn=lambda data, args: VAE(data.shape[1], args.hidden, args.latent, seed=args.seed),
    sizes_fn=_vae_sizes, model_arguments=_vae_arguments))


def _dbn_arguments(parser):
    add_sizes_argument(parser, (32, 16), ", at least three")
    _weight_std(parser)


def _dbn_build(data, args):
    if args.sizes is not None and len(args.sizes) < 3:  # sizes that do not fit are usage errors (exit status 2)
        raise UsageError(f"--sizes {_sizes_text(args.sizes)}: a DBN needs at least three layers "
                         "(two make an RBM: pgm fit rbm)")
    return DBN(sizes_for(args.sizes, data, (32, 16)), weight_std=args.weight_std, seed=args.seed)


def _dbn_sizes(sizes):
    if len(sizes) < 3 or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(f"dbn: expected three or more positive sizes VISIBLExH1xH2[x...] (e.g. dbn:64x32x16), "
                         f"got {tuple(sizes)}")
    return DBN(list(sizes))


register(DBNFamily(
    name="dbn", help="deep belief net: an RBM over the top two layers, sigmoid layers below, trained greedily",
    build_fn=_dbn_build, sizes_fn=_dbn_sizes, model_arguments=_dbn_arguments))

# every other energy model and directed model: the shared families, with no command-line name
register(EnergyFamily())
register(DirectedFamily())

from . import autoencoders  # noqa: E402,F401  (registers ae, dae, sae, cae and stacked)
from . import autoregressive  # noqa: E402,F401  (registers fvsbn, nade, oanade, made and rnade)
from . import adversarial  # noqa: E402,F401  (registers gan, cgan, dcgan and gmmn)
from . import sequences  # noqa: E402,F401  (registers condrbm and rnnrbm)
from . import convolutional  # noqa: E402,F401  (registers convrbm and convdbn)
from . import covariance  # noqa: E402,F401  (registers mcrbm and mpot)
