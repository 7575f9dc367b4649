r"""Moment matching: the maximum mean discrepancy with a bank of Gaussian kernels
(:func:`mmd2`) and the training of generative moment matching networks by it
(:func:`fit_gmmn`, :func:`fit_gmmn_codes`), in the one epoch loop.

With k(a, b) = Σ_s exp(−‖a − b‖² / (2 s²)) (σ-parametrised, as Li, Swersky & Zemel 2015)
and samples x₁..x_n ~ P, y₁..y_m ~ Q,

.. math::

    \mathrm{MMD}^2_u = \frac{1}{n(n-1)} \sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{m(m-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{nm} \sum_{i, j} k(x_i, y_j),

the unbiased U-statistic (Gretton et al. 2012); the biased V-statistic MMD²_b, which the
paper trains with, keeps the diagonal terms (1/n² Σ_{i,j}) and is never negative.

Per minibatch x (rows shuffled by the run's generator), :func:`fit_gmmn` draws as many
z ~ N(0, I) (from the same generator) and minimises MMD²_b(x, g(z)), or its square root
(``sqrt=True``, the objective of the authors' code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import torch

from pgm import checks
from pgm.checks import check_bool, check_capable, check_int, validation_disabled

from ..mcmc.sampling import make_generator
from ..distributed import joined
from ..training import EpochTable, OptimizerTrainer, check_callbacks, run_epochs, training_data
from ..training.options import as_checkpoint, check_run_options, make_optimizer

__all__ = ["mmd2", "fit_gmmn", "fit_gmmn_codes", "GMMNHistory", "ESTIMATORS"]

#: The two MMD² estimators: the unbiased U-statistic and the biased V-statistic.
ESTIMATORS = ("unbiased", "biased")
#: What a moment matching network gives the trainer.
GMMN_NEEDS = ("generator", "n_latent", "check_data", "bandwidths")
check_choice = partial(checks.check_choice, where="fit_gmmn")


def _bank(x, bandwidths, where):
    seq = bandwidths if isinstance(bandwidths, (list, tuple)) else [bandwidths]
    if not seq:
        raise ValueError(f"{where}: bandwidths must hold at least one bandwidth, got {bandwidths!r}")
    many = isinstance(bandwidths, (list, tuple))
    return tuple(checks.check_float(s, f"bandwidths[{i}]" if many else "bandwidths", 0.0, low_open=True,
                                    high_open=True, where=where) for i, s in enumerate(seq))


def _rows(x, name, where):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a tensor of shape (n, d), got {type(x).__name__}")
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{where}: {name} must be a floating tensor of shape (n, d), got {x.dtype} of shape "
                         f"{tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"{where}: {name} needs at least 2 rows, got {x.shape[0]}")
    if checks.is_validation_enabled() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return x


def _kernel(a, b, scales):
    sq = (a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.t()).clamp_min(0)
    return sum(torch.exp(sq * (-0.5 / (s * s))) for s in scales)


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths, *, estimator: str = "unbiased") -> torch.Tensor:
    r"""MMD² between the rows of ``x`` (n, d) and ``y`` (m, d) with the kernel bank
    k(a, b) = Σ_s exp(−‖a − b‖² / (2 s²)); a differentiable scalar.

    Parameters
    ----------
    x, y : Tensor, shapes (n, d) and (m, d)
        Finite rows, n, m ≥ 2, the same width and dtype.
    bandwidths : float or sequence of float
        The s (> 0) of the bank, σ-parametrised (a length in the data's units).
    estimator : {"unbiased", "biased"}, default "unbiased"
        The U-statistic (diagonal terms left out; zero in expectation when P = Q, and can
        be negative) or the V-statistic (all pairs; ≥ 0, biased upwards by
        (E k(x, x) − E k(x, x')) / n + (same for y) / m).

    Returns
    -------
    Tensor
        A 0-dimensional tensor of the inputs' dtype, with gradients to both.

    Notes
    -----
    Time O((n + m)² d), memory O((n + m)²): meant for minibatches. For scoring large sets
    with a standard error use :func:`inference.evaluation.quality.kernel_distance`.
    """
    where = "mmd2"
    x, y = _rows(x, "x", where), _rows(y, "y", where)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{where}: x and y must have the same width, got {x.shape[1]} and {y.shape[1]}")
    if x.dtype != y.dtype:
        raise ValueError(f"{where}: x and y must have the same dtype, got {x.dtype} and {y.dtype}")
    scales = _bank(x, bandwidths, where)
    checks.check_choice(estimator, "estimator", ESTIMATORS, where)
    return _mmd2(x, y, scales, estimator == "unbiased")


def _mmd2(x, y, scales, unbiased):
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = _kernel(x, x, scales).sum(), _kernel(y, y, scales).sum(), _kernel(x, y, scales).sum()
    if unbiased:
        diag = float(len(scales))  # k(a, a) = number of kernels
        return (kxx - n * diag) / (n * (n - 1)) + (kyy - m * diag) / (m * (m - 1)) - 2 * kxy / (n * m)
    return kxx / (n * n) + kyy / (m * m) - 2 * kxy / (n * m)


@dataclass
class GMMNHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_gmmn`, one entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean training objective over the epoch's minibatches (MMD²_b, or MMD_b with
        ``sqrt=True``), weighted by rows.
    lr : list[float]
    seconds : list[float]
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def fit_gmmn(model, data: torch.Tensor, *, epochs: int = 50, batch_size: int = 100, lr: float = 1e-3,
             optimizer=None, weight_decay: float = 0.0, sqrt: bool = False, seed: int | None = 0,
             checkpoint=None, checkpoint_every: int = 1, resume=False, callbacks=(),
             progress: bool = True, distributed=None) -> GMMNHistory:
    r"""Train a generative moment matching network (:class:`models.adversarial.GMMN`) by
    minimising the MMD to the data.

    Parameters
    ----------
    model : GMMN
        Trained in place; anything with ``generator(z)``, ``n_latent``, ``bandwidths`` and
        ``check_data``.
    data : Tensor, shape (n, n_visible)
    epochs : int, default 50
    batch_size : int, default 100
        Data rows per step, and as many generated rows (the paper uses 1000 of each).
    lr : float, default 1e-3
    optimizer : torch.optim.Optimizer class, optional
        Called as ``optimizer(params, lr=lr, weight_decay=weight_decay)``; default Adam.
    weight_decay : float, default 0
    sqrt : bool, default False
        Minimise MMD_b = √MMD²_b (clamped at 10⁻¹²) rather than MMD²_b.
    seed : int or None, default 0
        Seeds the shuffling and the draws of z.
    checkpoint, checkpoint_every, resume
        Atomic, resumable checkpoints (:class:`~inference.training.Checkpoint`); a resumed
        run is bit-identical to an uninterrupted one.
    callbacks : callable or sequence
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops.
    progress : bool, default True
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the rows and its own draws
        of z, the MMD's gradient averaged over the ranks at every step (each rank's MMD
        is taken within its own batch); ``None`` joins one when a launcher such as
        ``torchrun`` set the environment.

    Returns
    -------
    GMMNHistory

    Examples
    --------
    >>> from models.adversarial import GMMN
    >>> x = torch.randn(200, 2) * 0.5 + 1
    >>> g = GMMN(2, 4, hidden=(32,), bandwidths=(0.5, 1.0, 2.0), output="linear", seed=0)
    >>> h = fit_gmmn(g, x, epochs=5, batch_size=50, lr=1e-2, progress=False)
    >>> h.loss[-1] < h.loss[0]
    True
    """
    where = "fit_gmmn"
    check_capable(model, GMMN_NEEDS, where, "a moment matching network such as a models.adversarial.GMMN")
    lr, weight_decay = check_run_options(epochs=epochs, batch_size=batch_size, eval_every=1, lr=lr,
                                         weight_decay=weight_decay, seed=seed, monitor=0, progress=progress,
                                         where=where)
    check_bool(sqrt, "sqrt", where)
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume, where)
    callbacks = check_callbacks(callbacks, where)
    data, _ = training_data(model, data, where=where)
    if data.shape[0] < 2:
        raise ValueError(f"{where}: data needs at least 2 rows, got {data.shape[0]}")
    opt, opt_name = make_optimizer(model.generator.parameters(), optimizer, lr, weight_decay, where)
    settings = {"method": "mmd", "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "seed": seed,
                "optimizer": opt_name, "sqrt": sqrt, "bandwidths": list(model.bandwidths)}
    with joined(distributed, model.device, where) as replicas:  # the process group, closed at the end
        trainer = _GMMNTrainer(model, data, settings, opt, make_generator(seed, model.device)).distribute(replicas)
        return run_epochs(trainer, epochs, checkpoint=checkpoint, callbacks=callbacks, progress=progress)


def fit_gmmn_codes(model, data: torch.Tensor, **options) -> GMMNHistory:
    r"""GMMN+AE: train ``model.gmmn`` on the codes h = encode(x) of ``model.autoencoder``
    (a :class:`models.adversarial.GMMNAutoencoder`, whose autoencoder is trained already and
    is not changed); ``options`` as :func:`fit_gmmn`. Sample with ``model.sample(n)``."""
    if not all(hasattr(model, a) for a in ("codes", "gmmn", "autoencoder")):
        raise TypeError(f"fit_gmmn_codes: model must be a models.adversarial.GMMNAutoencoder, got "
                        f"{type(model).__name__}")
    return fit_gmmn(model.gmmn, model.codes(data), **options)


class _GMMNTrainer(OptimizerTrainer):
    """A moment matching network's run in the epoch loop."""

    postfix = {"loss": "loss"}
    where = "fit_gmmn"

    def __init__(self, model, data, settings, opt, gen):
        super().__init__(model, data, opt, gen, settings)
        self.scales = tuple(float(s) for s in model.bandwidths)
        self.history, self.desc = GMMNHistory(), f"fit_gmmn {type(model).__name__}"

    def train_epoch(self, epoch: int) -> dict:
        data, model, opt, gen = self.data, self.model, self.opt, self.gen
        model.train()
        perm = self.order(epoch)
        total = torch.zeros((), dtype=torch.float64, device=data.device)
        sqrt = self._settings["sqrt"]
        with validation_disabled():
            for batch in perm.split(self._settings["batch_size"]):
                if batch.shape[0] < 2:  # a last batch of one row has no pairs
                    continue
                x = data[batch]
                z = torch.randn(x.shape[0], model.n_latent, generator=gen, dtype=x.dtype, device=x.device)
                opt.zero_grad(set_to_none=True)
                loss = _mmd2(x, model.generator(z), self.scales, False)
                if sqrt:
                    loss = loss.clamp_min(1e-12).sqrt()
                loss.backward()
                opt.step()
                total += loss.detach().double() * x.shape[0]
        return {"loss": float(total) / perm.shape[0], "lr": float(opt.param_groups[0]["lr"])}
