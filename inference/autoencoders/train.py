r"""Training autoencoders: :func:`fit_autoencoder`, in the one epoch loop.

Per batch x (rows shuffled by the run's generator):

* ``method="reconstruction"`` — x̃ ~ C(x̃ | x) (x̃ = x without corruption), h = f(W x̃ + b),
  and the loss −(1/B) Σ_b log P(x_b | h_b) + Ω;
* ``method="walkback"`` (Bengio, Yao, Alain & Vincent 2013) — the denoising chain is run
  from the data for ``walkback`` steps, x̃_1 ~ C(· | x), x_1 ~ P(· | f(x̃_1)),
  x̃_2 ~ C(· | x_1), …, and every visited corrupted point is trained to reconstruct the
  original: the loss averages −log P(x | f(x̃_t)) over t = 1 … k (the samples x_t are
  held fixed, as in the paper), plus Ω at the first step. A learned Gaussian σ is fitted
  at the first step only: the walked points train the reconstruction's mean, while its
  spread stays that of P(x | x̃) one corruption away from the data, the step the chain
  repeats.

Ω is the model's penalty (:meth:`models.autoencoders.Autoencoder.penalty`). The sparsity
penalty's mean activations ρ̂_j are the minibatch means blended with a running average
across minibatches: the penalty is evaluated at ρ̂ = d r + (1 − d) ρ̂_batch, with
r ← ρ̂ (detached) after each batch and d = ``sparsity_decay``, and its gradient flows into
the batch's activations at full weight (ρ̂ = ρ̂_batch + d (r − ρ̂_batch) with the second
term detached, as batch normalisation treats its running statistics). So ρ̂ tracks the
mean over the whole data set that the penalty is defined on (Ng's notes) at the cost of
one vector, and β keeps its meaning; r is part of the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import torch

from pgm import checks
from pgm.checks import check_capable, validation_disabled

from ..distributed import joined, map_rows, rank_seed
from ..mcmc.sampling import make_generator
from ..training import EpochTable, OptimizerTrainer, Part, check_callbacks, monitor_subset, run_epochs, training_data
from ..training.options import as_checkpoint, check_run_options, make_optimizer

__all__ = ["AutoencoderHistory", "fit_autoencoder", "METHODS", "batch_loss"]

#: Training methods of autoencoders.
METHODS = ("reconstruction", "walkback")
#: What an autoencoder gives the trainer (:class:`models.Autoencoder` has it all).
AUTOENCODER = ("check_data", "corruption", "default_method", "encode", "decode", "decoder_output", "log_prob",
               "penalty", "contraction_norm", "sparsity_weight", "l1", "contraction", "n_hidden")
check_int, check_float, check_choice = (partial(f, where="fit") for f in (checks.check_int, checks.check_float,
                                                                           checks.check_choice))


@dataclass
class AutoencoderHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_autoencoder`, one entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean training objective per example over the epoch's batches (nats of −log P(x | h)
        plus the penalty).
    recon_error : list[float | None]
        Mean squared error ‖x − r(x)‖² per example of clean reconstructions on the
        monitoring subset.
    denoise_error : list[float | None]
        The same for reconstructions from corrupted inputs (denoising autoencoders).
    mean_activation : list[float | None]
        Mean hidden activation on the monitoring subset (the ρ̂ a sparsity target aims at).
    contraction : list[float | None]
        Mean ‖∂h/∂x‖²_F per example on the monitoring subset.
    eval_recon_error, eval_denoise_error : list[float | None]
        With ``evaluate``: the same errors on ``eval_data``.
    lr : list[float]
    seconds : list[float]
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    recon_error: list = field(default_factory=list)
    denoise_error: list = field(default_factory=list)
    mean_activation: list = field(default_factory=list)
    contraction: list = field(default_factory=list)
    eval_recon_error: list = field(default_factory=list)
    eval_denoise_error: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def _sample_visible(model, h, generator):
    """x ~ P(x | h) of an autoencoder (Bernoulli draws or Gaussian ones)."""
    out = model.decoder_output(h)
    if model.likelihood == "bernoulli":
        return torch.bernoulli(torch.sigmoid(out), generator=generator)
    return out + model.log_sigma.exp() * torch.randn(out.shape, generator=generator, dtype=out.dtype,
                                                     device=out.device)


def batch_loss(model, x, generator, walkback: int = 1, running=None, sparsity_decay: float = 0.9):
    """The training loss of one batch (a scalar) and the new running mean activation.

    Parameters
    ----------
    model : Autoencoder
    x : Tensor, shape (B, n_visible)
    generator : torch.Generator
        Draws the corruption and the walk-back samples.
    walkback : int, default 1
        Chain steps k whose corrupted points are trained (1: plain denoising).
    running : Tensor, shape (n_hidden,), optional
        The running mean activation r (sparsity only); ``None`` before the first batch.
    sparsity_decay : float
        d of ρ̂ = d r + (1 − d) ρ̂_batch.

    Returns
    -------
    (loss, running) : (Tensor, Tensor or None)
    """
    corrupt = model.corruption
    x_in = x if corrupt is None else corrupt.sample(x, generator)
    h = model.encode(x_in)
    rec = -model.log_prob(x, h).mean()
    rho_hat = None
    if model.sparsity_weight > 0:
        batch = h.mean(0)
        # the value of the blend d r + (1 - d) ρ̂_batch, the gradient of the batch mean at full weight
        rho_hat = batch if running is None else batch + sparsity_decay * (running - batch).detach()
        running = rho_hat.detach()
    penalised = model.sparsity_weight > 0 or model.l1 > 0 or model.contraction > 0
    loss = rec + model.penalty(x_in, h, rho_hat) if penalised else rec
    if walkback > 1:
        total = rec
        with torch.no_grad():
            xt = _sample_visible(model, h, generator)
        for _ in range(walkback - 1):
            ht = model.encode(corrupt.sample(xt, generator))
            total = total + -model.log_prob(x, ht, fixed_sigma=True).mean()
            with torch.no_grad():
                xt = _sample_visible(model, ht, generator)
        loss = loss - rec + total / walkback
    return loss, running


def fit_autoencoder(model, data: torch.Tensor, *, method: str | None = None, walkback: int = 5, epochs: int = 50,
                    batch_size: int = 20, lr: float = 1e-3, optimizer=None, weight_decay: float = 0.0,
                    sparsity_decay: float = 0.9, seed: int | None = 0, evaluate: str | None = None,
                    eval_data: torch.Tensor | None = None, eval_every: int = 1, checkpoint=None,
                    checkpoint_every: int = 1, resume=False, callbacks=(), monitor="auto",
                    progress: bool = True, distributed=None) -> AutoencoderHistory:
    r"""Train an :class:`~models.autoencoders.Autoencoder` by its reconstruction loss.

    Parameters
    ----------
    model : Autoencoder
        Trained in place; its variant (corruption, penalties) is part of the model.
    data : Tensor, shape (n, n_visible)
        In [0, 1] for a Bernoulli likelihood, finite reals for a Gaussian one.
    method : {"reconstruction", "walkback"}, optional
        Default ``"reconstruction"``; ``"walkback"`` needs a corruption (module docstring).
    walkback : int, default 5
        Chain steps k of ``method="walkback"``.
    epochs : int, default 50
    batch_size : int, default 20
    lr : float, default 1e-3
    optimizer : torch.optim.Optimizer class, optional
        Called as ``optimizer(params, lr=lr, weight_decay=weight_decay)``; default Adam.
    weight_decay : float, default 0
    sparsity_decay : float in [0, 1), default 0.9
        d of the running mean activation (module docstring); 0 uses each batch alone.
    seed : int or None, default 0
        Seeds the shuffling, the corruption and the walk-back draws.
    evaluate : None or "reconstruction"
        Reconstruction (and denoising) error of ``eval_data`` every ``eval_every`` epochs
        and after the last.
    checkpoint, checkpoint_every, resume
        Atomic, resumable checkpoints (:class:`~inference.learning.Checkpoint`); a resumed
        run is bit-identical to an uninterrupted one.
    callbacks : callable or sequence
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops.
    monitor : "auto" or int
        Rows of the fixed monitoring subset (0: none; ``"auto"``: n / 20, 100 to 1000).
    progress : bool, default True
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the rows, gradients
        averaged at every step; ``None`` joins one when a launcher such as ``torchrun``
        set the environment.

    Returns
    -------
    AutoencoderHistory
    """
    check_capable(model, AUTOENCODER, "fit", "an autoencoder such as a models.Autoencoder")
    method = check_choice(model.default_method if method is None else method, "method", METHODS)
    if method == "walkback" and model.corruption is None:
        raise ValueError("fit: method 'walkback' runs the denoising chain, which needs a corruption: build the "
                         "model with noise='masking'|'salt_pepper'|'gaussian' and noise_level > 0")
    walkback = check_int(walkback, "walkback") if method == "walkback" else 1
    lr, weight_decay = check_run_options(epochs=epochs, batch_size=batch_size, eval_every=eval_every, lr=lr,
                                         weight_decay=weight_decay, seed=seed, monitor=monitor, progress=progress)
    sparsity_decay = check_float(sparsity_decay, "sparsity_decay", 0.0, 1.0, high_open=True)
    check_choice(evaluate, "evaluate", (None, "reconstruction"))
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data, eval_data = training_data(model, data, eval_data, evaluate)
    opt, opt_name = make_optimizer(model.parameters(), optimizer, lr, weight_decay)
    settings = {"method": method, "walkback": walkback, "batch_size": batch_size, "lr": lr,
                "weight_decay": weight_decay, "sparsity_decay": sparsity_decay, "seed": seed, "optimizer": opt_name}
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        trainer = _AutoencoderTrainer(model, data, settings, opt, make_generator(seed, model.device),
                                      monitor_subset(data, monitor),
                                      (eval_data, eval_every) if evaluate is not None else None).distribute(replicas)
        return run_epochs(trainer, epochs, checkpoint=checkpoint, callbacks=callbacks, progress=progress)


def errors(model, x: torch.Tensor, seed: int | None = 12345, *, distributed=None) -> dict:
    """Mean squared reconstruction error per example of clean inputs and, with a
    corruption, of corrupted ones, the mean activation and the mean contraction
    ‖∂h/∂x‖²_F, on ``x`` (checked).

    Parameters
    ----------
    model : Autoencoder
    x : Tensor, shape (n, n_visible)
    seed : int or None, default 12345
        Seeds the corruptions x̃ ~ C(x̃ | x) of the denoising error.
    distributed : bool or None, default None
        Split the rows across the ranks of a ``torch.distributed`` group: rank r scores
        the rows r, r + W, ... (:func:`~inference.distributed.map_rows`), its corruptions
        drawn from ``seed + r``, and the per-row values are gathered in the rows' order
        before the means are taken, so every rank returns the means over all n rows.
        ``None`` joins a group that is open or that a launcher (``torchrun``) describes;
        ``False`` scores every row on each process.

    Returns
    -------
    dict
        ``recon_error`` (1/n) Σ_i ‖r(x_i) − x_i‖², ``denoise_error`` (1/n) Σ_i
        ‖r(x̃_i) − x_i‖² (None without a corruption), ``mean_activation`` and
        ``contraction``, floats.
    """
    with joined(distributed, x.device, "errors") as replicas:
        seed = rank_seed(seed, replicas)  # this rank's corruptions
        per = map_rows(lambda rows: _row_errors(model, rows, seed), x, replicas)
    return {"recon_error": float(per[0].mean()), "denoise_error": float(per[3].mean()) if len(per) > 3 else None,
            "mean_activation": float(per[1].mean()), "contraction": float(per[2].mean())}


def _row_errors(model, x, seed) -> tuple:
    """Per row of ``x`` (n, n_visible), float64: the squared reconstruction error (n,), the
    activations (n, n_hidden), the contraction (n,) and, with a corruption, the squared
    error of the corrupted row's reconstruction (n,), the corruptions drawn from ``seed``."""
    with torch.no_grad(), validation_disabled():
        h = model.encode(x)
        out = ((model.decode(h) - x).double().square().sum(-1), h.double(), model.contraction_norm(x).double())
        if model.corruption is not None and model.corruption.level > 0:
            x_in = model.corruption.sample(x, make_generator(seed, x.device))
            out += ((model.decode(model.encode(x_in)) - x).double().square().sum(-1),)
    return out


class _AutoencoderTrainer(OptimizerTrainer):
    """An autoencoder's run in the epoch loop."""

    postfix = {"loss": "loss", "recon_error": "recon", "eval_recon_error": "eval"}
    rank_parts = ("generator", "running_activation")  # per rank in a data-parallel run

    def __init__(self, model, data, settings, opt, gen, subset, evaluation):
        super().__init__(model, data, opt, gen, settings)
        self.subset, self.evaluation = subset, evaluation
        self.running = None
        self.history, self.desc = AutoencoderHistory(), f"fit {settings['method']}"

    def parts(self) -> dict:
        def check(saved, bad):
            n = self.model.n_hidden
            if saved is not None and (not isinstance(saved, torch.Tensor) or saved.shape != (n,)
                                      or not saved.is_floating_point()):
                raise bad(f"must be None or the running mean activation, a float tensor of shape ({n},)")

        def load(saved):
            self.running = None if saved is None else saved.to(device=self.model.device, dtype=self.model.dtype)

        return {**super().parts(), "running_activation": Part(lambda: self.running, load, check)}

    def fresh_state(self, name: str) -> None:
        if name == "running_activation":
            self.running = None  # as at the start of a run
        else:
            super().fresh_state(name)

    def train_epoch(self, epoch: int) -> dict:
        data, s = self.data, self._settings
        perm = self.order(epoch)
        losses, sizes = [], []
        model, opt, gen, walkback, decay = self.model, self.opt, self.gen, s["walkback"], s["sparsity_decay"]
        with validation_disabled():
            for batch in perm.split(s["batch_size"]):
                x = data[batch]
                opt.zero_grad(set_to_none=True)
                loss, self.running = batch_loss(model, x, gen, walkback, self.running, decay)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
                sizes.append(x.shape[0])
        weights = torch.tensor(sizes, dtype=torch.float64, device=data.device)
        total = float(torch.stack(losses).double() @ weights)
        return {"loss": total / perm.shape[0], "lr": float(opt.param_groups[0]["lr"])}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        row = {"recon_error": None, "denoise_error": None, "mean_activation": None, "contraction": None,
               "eval_recon_error": None, "eval_denoise_error": None}
        if self.subset is not None:
            # in a data-parallel run each rank scores its rows, its corruptions seeded 12345 + rank
            row.update(errors(self.model, self.subset, distributed=self.replicas is not None))
        if self.evaluation is not None:
            eval_data, every = self.evaluation
            if (epoch + 1) % every == 0 or last:
                result = errors(self.model, eval_data, distributed=self.replicas is not None)
                row.update(eval_recon_error=result["recon_error"], eval_denoise_error=result["denoise_error"])
        return row
