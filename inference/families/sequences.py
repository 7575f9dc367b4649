"""Sequence RBMs as families: ``condrbm`` (the conditional RBM of Taylor, Hinton & Roweis
2007) and ``rnnrbm`` (the RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent 2012).

Their data are sequences, (n_sequences, length, frame) (``sequences = True``): ``--data
balls`` or ``digit-rows``. Both train by CD-k with the bias gradients back-propagated
into the context (:func:`~inference.sequences.fit_sequences`), are judged by the per-frame
log-likelihood −(1/T) Σ_t log p(v_t | past) with log Z_t exact or by AIS per frame and by
the next-frame prediction error, and generate sequences from a seed prefix, pictured as
frame strips (real above generated).
"""

from __future__ import annotations

import torch

from models.energy import RNNRBM, ConditionalRBM, TemporalRBM
from models.energy.marginals import column_means

from ..sequences import fit_sequences
from ..sequences.likelihood import MAX_EXACT_UNITS
from .arguments import COUNT, UsageError
from .protocol import Family, register

__all__ = ["SequenceFamily"]


class SequenceFamily(Family):
    """A family of :class:`~models.energy.TemporalRBM` s: ``build_fn``, ``sizes_fn`` and
    ``model_arguments`` give the model; training, evaluation and sampling are shared."""

    cls = TemporalRBM
    methods = ("cd",)
    evaluation = "exact"
    fit_evaluations = ("exact", "ais")
    pictures = ("samples", "filters")
    sequences = True
    default_data = "balls"
    evaluate_help = "per-frame NLL; exact needs a layer of at most 16 units"
    epochs_help = ""
    trainer = staticmethod(fit_sequences)

    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--k", type=COUNT, default=None, help="Gibbs sweeps per CD update (default 1)")

    def training_options(self, args) -> dict:
        return {} if args.k is None else {"k": args.k}

    def check_cli_fit(self, model, args) -> None:
        if args.evaluate == "exact" and min(model.n_visible, model.n_hidden) > MAX_EXACT_UNITS:
            raise UsageError(f"--evaluate exact: log Z_t enumerates the smaller layer, but the model has "
                             f"{model.n_visible} visible and {model.n_hidden} hidden units (more than "
                             f"{MAX_EXACT_UNITS}); use --evaluate ais or --hidden {MAX_EXACT_UNITS}")

    def split_evaluation(self, model, args):
        """Split under a launcher: the sequences, each scored and predicted whole on one rank
        (its frames' log Z_t depend on its past; :func:`~inference.sequences.sequence_log_likelihood`,
        :func:`~inference.sequences.next_frame_prediction`)."""
        return None

    def evaluate(self, model, data, args, load_train) -> dict:
        from ..partition import default_schedule
        from ..sequences import next_frame_prediction, sequence_log_likelihood

        if args.method == "importance":
            raise UsageError(f"--method importance needs a directed model (sbn, vae), not {self.label(model)}; use "
                             "--method exact or ais")
        method = args.method or ("exact" if min(model.n_visible, model.n_hidden) <= MAX_EXACT_UNITS else "ais")
        if method == "exact" and min(model.n_visible, model.n_hidden) > MAX_EXACT_UNITS:
            raise UsageError(f"--method exact: the model has {model.n_visible} visible and {model.n_hidden} hidden "
                             f"units, more than {MAX_EXACT_UNITS} in either layer; use --method ais")
        x = model.check_sequences(data, "--data", "pgm eval")
        ais = {}
        if method == "ais":
            betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas,
                                                                                   dtype=torch.float64)
            base = None
            if args.base == "data":
                base = torch.logit(column_means(load_train().reshape(-1, model.n_visible)).clamp(1e-3, 1 - 1e-3))
            ais = {"n_chains": args.chains, "betas": betas, "base": base, "seed": args.seed,
                   "progress": not args.no_progress}
        # distributed=None: split across the ranks of a process group that pgm eval under torchrun holds open
        nll = sequence_log_likelihood(model, x, method, **ais)
        pred = next_frame_prediction(model, x, seed=args.seed)
        return {"model": self.label(model), "method": nll.method,
                "per_frame_nll": {"mean": nll.nll, "sem": nll.sem, "n_sequences": x.shape[0],
                                  "frames": int(nll.per_frame.shape[1])},
                "prediction_mse": {"mean": pred.mse, "sem": pred.sem,
                                   "how": "Gibbs with the past clamped from the previous frame, 20 sweeps, the "
                                          "mean σ(b_t + W h) averaged over the last 10"},
                "units": "nats per frame; squared error per pixel"}

    @torch.no_grad()
    def sample(self, model, n, generator, steps, clamp=None, prefix=None, length=None):
        """``n`` sequences continuing the first frames of ``prefix`` (n, P, V) to ``length``
        frames by ``steps`` Gibbs sweeps per frame; the frames' means (n, length, V). Without
        a prefix the model's given frames are zeros (none for the RNN-RBM)."""
        from ..sequences.sampling import generate

        if prefix is None:
            prefix = torch.zeros(n, model.n_given, model.n_visible, dtype=model.dtype, device=model.device)
        length = max(prefix.shape[1] + 1, 20 if length is None else length)
        return generate(model, prefix[:n], length, generator, sweeps=max(1, steps)).means

    def visible_weights(self, model):
        return model.W.detach()


def _sizes(name, cls, example):
    def from_sizes(sizes):
        sizes = tuple(sizes)
        if len(sizes) not in (2, 3) or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ValueError(f"{name}: expected sizes FRAMExHIDDEN or FRAMExHIDDENx{example[1]} (e.g. {example[0]}), "
                             f"got {sizes}")
        return cls(*sizes)
    return from_sizes


def _condrbm_arguments(parser):
    parser.add_argument("--hidden", type=COUNT, default=16, help="hidden units (default 16)")
    parser.add_argument("--order", type=COUNT, default=2, help="previous frames the biases depend on (default 2)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial weights (default 0.01)")


def _rnnrbm_arguments(parser):
    parser.add_argument("--hidden", type=COUNT, default=16, help="hidden units of each frame's RBM (default 16)")
    parser.add_argument("--recurrent", type=COUNT, default=32, help="units of the RNN state (default 32)")
    parser.add_argument("--weight-std", type=float, default=0.01,
                        help="standard deviation of the initial RBM weights (default 0.01)")


def _check_sequences(data, args, given):
    if data.dim() != 3 or data.shape[1] <= given:
        raise UsageError(f"--data: expected sequences (n, length, frame) longer than {given} frames, got shape "
                         f"{tuple(data.shape)}; use --data balls or digit-rows")
    return data


register(SequenceFamily(
    name="condrbm", cls=ConditionalRBM,
    help="conditional RBM for sequences: an RBM over each frame, biases linear in the previous frames",
    build_fn=lambda data, args: ConditionalRBM.from_data(_check_sequences(data, args, args.order), args.hidden,
                                                         args.order, weight_std=args.weight_std, seed=args.seed),
    sizes_fn=_sizes("condrbm", ConditionalRBM, ("condrbm:64x16x2", "ORDER")), model_arguments=_condrbm_arguments))
register(SequenceFamily(
    name="rnnrbm", cls=RNNRBM,
    help="RNN-RBM: an RBM over each frame, biases from a recurrent network over the past frames",
    build_fn=lambda data, args: RNNRBM.from_data(_check_sequences(data, args, 0), args.hidden, args.recurrent,
                                                 weight_std=args.weight_std, seed=args.seed),
    sizes_fn=_sizes("rnnrbm", RNNRBM, ("rnnrbm:64x16x32", "RECURRENT")), model_arguments=_rnnrbm_arguments))
