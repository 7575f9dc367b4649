"""The covariance families: ``mcrbm`` (:class:`~models.energy.MeanCovarianceRBM`) and
``mpot`` (:class:`~models.energy.MPoT`), real-valued data (by default the whitened 8 × 8
natural-image patches, ``--data patches``).

Trained by a persistent HMC negative phase on the free energy (method ``"hmc"``, the
default; :class:`~inference.learning.PersistentHMC`) or by block Gibbs (``"pcd"``,
``"cd"``: the Gaussian conditional of v has a full covariance), judged by AIS with HMC
transitions on the annealed free energy (:func:`~inference.partition.hmc_ais_log_partition`)
or exactly for tiny models (the mcRBM by enumerating its hidden units, the mPoT by
quadrature for D ≤ 2), sampled by block Gibbs; their pictures are the factor filters C
and samples, drawn as pixels through the model's ``pixel_map`` (the patches' dewhitening).
"""

from __future__ import annotations

from models.energy import MeanCovarianceRBM, MPoT

from ..learning.hamiltonian import PersistentHMC
from .arguments import COUNT, UsageError, real
from .energy import EnergyFamily
from .protocol import register

__all__ = ["CovarianceFamily", "COVARIANCE_METHODS"]

#: Learning rules of the covariance families, the default first.
COVARIANCE_METHODS = ("hmc", "pcd", "cd")
#: AIS steps of ``pgm eval`` when ``--betas`` is not given.
EVAL_STEPS = 1000


class CovarianceFamily(EnergyFamily):
    """An energy family of real-valued data with covariance units (module docstring)."""

    methods = COVARIANCE_METHODS
    cli_methods = COVARIANCE_METHODS
    visible_kind = "gaussian"
    default_data = "patches"
    fit_evaluations = ()
    pictures = ("samples", "filters")
    evaluate_help = ""

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--k", type=COUNT, default=None,
                            help="HMC transitions (hmc) or Gibbs sweeps (pcd, cd) per update (default 1)")
        parser.add_argument("--momentum", type=real(0.0, 1.0, high_open=True), default=None,
                            help="constant momentum in [0, 1) (default: 0.5, then 0.9 after 5 epochs)")
        parser.add_argument("--average", choices=["none", "polyak"], default="none",
                            help="average the parameters over the second half of training (default %(default)s)")
        parser.add_argument("--leapfrog", type=COUNT, default=None, help="hmc: leapfrog steps per transition "
                            "(default 20)")
        parser.add_argument("--target-accept", type=real(0.0, 1.0, low_open=True, high_open=True), default=None,
                            help="hmc: acceptance rate the step sizes adapt toward (default 0.9)")

    def training_options(self, args) -> dict:
        given = {"k": args.k, "momentum": args.momentum, "average": None if args.average == "none" else args.average}
        out = {k: v for k, v in given.items() if v is not None}
        hmc = {k: v for k, v in (("n_leapfrog", args.leapfrog), ("target_accept", args.target_accept))
               if v is not None}
        method = args.method or self.cli_default_method()
        if hmc and method != "hmc":
            raise UsageError(f"--leapfrog and --target-accept apply with --method hmc, not --method {method}")
        if method == "hmc":
            out["hmc"] = PersistentHMC(**hmc)
        return out

    def check_cli_fit(self, model, args) -> None:
        """Nothing to refuse beyond the parser's checks."""

    def split_evaluation(self, model, args):
        """Split under a launcher: log Z by AIS with HMC transitions over chain shares
        (:func:`~inference.partition.hmc_ais_log_partition`) or, for the mcRBM, by
        enumeration of its hidden units over state ranges; the rows' free energies on each
        rank's rows. The quadrature of a model with at most 2 visible units (a grid of
        801² free energies) runs whole on every rank: it is cheap."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        """log Z and the rows' log-likelihood; under an open process group (``pgm eval``
        under ``torchrun``) the estimators split their work across its ranks
        (:meth:`split_evaluation`)."""
        from ..evaluation import log_likelihood
        from ..partition import hmc_ais_log_partition, quadrature_log_partition
        from ..partition.exact import MAX_EXACT_UNITS, enumeration_set
        from ..partition.named import log_partition

        if args.method == "importance":
            raise UsageError(f"--method importance needs a directed model (sbn, vae), not {self.label(model)}; "
                             "use --method exact or ais")
        if args.method == "exact":
            try:  # binary hidden units (the mcRBM's) enumerate, with v integrated as a Gaussian
                groups, units = enumeration_set(model, "pgm eval")
            except TypeError:  # continuous covariance units (the mPoT's): no set to enumerate
                groups = None
            if groups is not None:
                if units > MAX_EXACT_UNITS:
                    raise UsageError(f"--method exact enumerates the {units} hidden units of the "
                                     f"{self.label(model)}, above {MAX_EXACT_UNITS}; use --method ais")
                log_z = log_partition(model, "exact")  # the hidden states over ranges of the ranks
            elif model.n_visible <= 2:
                log_z = quadrature_log_partition(model)  # whole on every rank: a grid of at most 801² points
            else:
                raise UsageError(f"--method exact: the {self.label(model)} has continuous covariance units and "
                                 f"{model.n_visible} visible units; its exact log Z is a quadrature in at most 2 "
                                 "dimensions: use --method ais")
        else:
            log_z = hmc_ais_log_partition(model, n_chains=args.chains, n_steps=(args.betas or EVAL_STEPS + 1) - 1,
                                          base="data" if args.base == "data" else "standard",
                                          data=load_train() if args.base == "data" else None, seed=args.seed,
                                          progress=not args.no_progress)
        return {"model": self.label(model), "log_z": log_z._asdict(),
                "log_likelihood": log_likelihood(model, data, log_z)._asdict(),
                "units": "nats per example, log-density on the data's scale"}

    def picture_group(self, model):
        import pgm

        n = getattr(model, "n_pixels", 0)
        return pgm.VariableGroup("pixels", n, "gaussian", observed=True) if n else self.visible(model)

    def to_pixels(self, model, x):
        return model.to_pixels(x)

    def visible_weights(self, model):
        """The factor filters C as pixels (n_pixels or D, F)."""
        return model.to_pixels(model.C.detach().t()).t()


def _arguments(parser):
    parser.add_argument("--factors", type=COUNT, default=64, help="factors F, the filters of C (default 64)")
    parser.add_argument("--covariance", type=COUNT, default=None,
                        help="covariance units N pooling the factors through P (default: F, P the identity)")
    parser.add_argument("--mean", type=COUNT, default=16, help="mean units M (default 16)")
    parser.add_argument("--weight-std", type=float, default=0.02,
                        help="standard deviation of the initial C and W (default 0.02)")


def _build(cls):
    def build(data, args):
        pixel_map = None
        if getattr(args, "data", None) in (None, "patches"):
            from pgm.image_patches import load_patches

            transform = load_patches(n=1, return_transform=True)[1]
            if transform.dewhiten_matrix.shape[1] == data.shape[1]:
                pixel_map = transform.dewhiten_matrix.float()
        return cls.from_data(data, args.factors, args.covariance, args.mean, weight_std=args.weight_std,
                             seed=args.seed, pixel_map=pixel_map)
    return build


def _sizes(name, cls):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) not in (3, 4) or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected positive sizes VISIBLExFACTORSxMEAN or "
                             f"VISIBLExFACTORSxCOVARIANCExMEAN (e.g. {name}:63x64x16), got {sizes}")
        d, f, *rest = sizes
        return cls(d, f, rest[0] if len(rest) == 2 else None, rest[-1])
    return from_sizes


register(CovarianceFamily(
    name="mcrbm", cls=MeanCovarianceRBM, fit_evaluations=("exact",),
    evaluate_help="exact enumerates the covariance and mean units, at most 25",
    help="mean-covariance RBM: real visible units, binary covariance units gating a full covariance, binary mean "
         "units; trained by HMC on the free energy",
    build_fn=_build(MeanCovarianceRBM), sizes_fn=_sizes("mcrbm", MeanCovarianceRBM), model_arguments=_arguments))
register(CovarianceFamily(
    name="mpot", cls=MPoT,
    help="mean product of Student-t experts: real visible units, Gamma covariance units, binary mean units; "
         "trained by HMC on the free energy",
    build_fn=_build(MPoT), sizes_fn=_sizes("mpot", MPoT), model_arguments=_arguments))
