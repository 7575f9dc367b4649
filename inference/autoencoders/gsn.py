r"""Training and sampling generative stochastic networks: :func:`fit_gsn`, :func:`sample_gsn`.

Walk-back training through the unrolled chain (Bengio et al. 2014): per batch x, the
chain runs K = ``model.walkback`` steps from the corrupted data with the hidden layers at
zero, and the loss is the mean over the steps of the cross-entropy of x under each
visible reconstruction p_t, back-propagated through the whole unrolled chain (the noise
held fixed), in the one epoch loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pgm.checks import check_bool, check_capable, check_float, check_int, validation_disabled

from ..mcmc.sampling import make_generator
from ..training import EpochTable, OptimizerTrainer, check_callbacks, monitor_subset, run_epochs, training_data
from ..distributed import joined, map_rows, rank_seed
from ..training.options import as_checkpoint

__all__ = ["GSNHistory", "fit_gsn", "sample_gsn", "gsn_loss"]


@dataclass
class GSNHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_gsn`: ``loss`` (mean walk-back cross-entropy per
    example, nats), ``recon_error`` (squared error of the last step's reconstruction of the
    monitoring subset), ``lr``, ``seconds``."""

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    recon_error: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def gsn_loss(model, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The walk-back loss of one batch: (1/K) Σ_t −(1/B) Σ_b log P(x_b | p_t,b), a scalar."""
    recs = model.reconstructions(x, generator)
    return sum(-model.log_prob(x, p).mean() for p in recs) / len(recs)


def fit_gsn(model, data: torch.Tensor, *, method: str | None = None, epochs: int = 50, batch_size: int = 20,
            lr: float = 1e-3, seed: int | None = 0, checkpoint=None, checkpoint_every: int = 1, resume=False,
            callbacks=(), monitor="auto", progress: bool = True, distributed=None) -> GSNHistory:
    """Train a :class:`~models.autoencoders.GSN` by walk-back through its unrolled chain
    (Adam at ``lr``; ``method`` is ``"walkback"``, the only one). Checkpoints, resume,
    callbacks and progress as for every trainer; ``distributed`` as for
    :func:`~inference.autoencoders.fit_autoencoder` (data-parallel over a
    ``torch.distributed`` group; ``None`` joins one under a launcher)."""
    check_capable(model, ("check_data", "reconstructions", "step", "initial_state", "log_prob"), "fit",
                  "a generative stochastic network such as a models.GSN")
    if method not in (None, "walkback"):
        raise ValueError(f"fit: method must be one of ['walkback'] for a GSN, got {method!r}")
    check_int(epochs, "epochs", 1, "fit"), check_int(batch_size, "batch_size", 1, "fit")
    lr = check_float(lr, "lr", 0.0, low_open=True, where="fit")
    if seed is not None:
        check_int(seed, "seed", 0, "fit")
    if monitor != "auto":
        check_int(monitor, "monitor", 0, "fit")
    check_bool(progress, "progress", "fit")
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data, _ = training_data(model, data)
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        trainer = _GSNTrainer(model, data, batch_size, lr, seed, monitor_subset(data, monitor)).distribute(replicas)
        return run_epochs(trainer, epochs, checkpoint=checkpoint, callbacks=callbacks, progress=progress)


class _GSNTrainer(OptimizerTrainer):
    desc = "fit walkback"
    postfix = {"loss": "loss", "recon_error": "recon"}

    def __init__(self, model, data, batch_size, lr, seed, subset):
        super().__init__(model, data, torch.optim.Adam(model.parameters(), lr=lr), make_generator(seed, model.device),
                         {"method": "walkback", "batch_size": batch_size, "lr": lr, "seed": seed})
        self.batch_size, self._lr, self.subset = batch_size, lr, subset
        self.history = GSNHistory()

    def train_epoch(self, epoch: int) -> dict:
        data, losses, perm = self.data, [], self.order(epoch)
        with validation_disabled():
            for batch in perm.split(self.batch_size):
                x = data[batch]
                self.opt.zero_grad(set_to_none=True)
                loss = gsn_loss(self.model, x, self.gen)
                loss.backward()
                self.opt.step()
                losses.append(loss.detach() * x.shape[0])
        return {"loss": float(torch.stack(losses).double().sum()) / perm.shape[0], "lr": self._lr}

    @torch.no_grad()
    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        if self.subset is None:
            return {"recon_error": None}
        # in a data-parallel run each rank reconstructs its rows r, r + W, ..., its noise seeded 12345 + rank
        seed = rank_seed(12345, self.replicas)

        def errors(x):
            p = self.model.reconstructions(x, make_generator(seed, x.device))[-1]
            return (p - x).double().square().sum(-1)

        return {"recon_error": float(map_rows(errors, self.subset, self.replicas).mean())}


@torch.no_grad()
def sample_gsn(model, n: int, steps: int, generator: torch.Generator, record_every: int | None = None):
    """``n`` chains of ``steps`` steps from uniform noise, drawing x from p at each step;
    returns the last step's visible probabilities (n, n_visible), or with ``record_every``
    those of every ``record_every``-th step, (records, n, n_visible)."""
    n = check_int(n, "n", 1, "sample_gsn")
    steps = check_int(steps, "steps", 1, "sample_gsn")
    x = torch.rand(n, model.n_visible, generator=generator, dtype=model.dtype, device=model.device)
    state, frames, p = model.initial_state(x), [], None
    for t in range(steps):
        state, p = model.step(state, generator, sample=True)
        if record_every and (t + 1) % record_every == 0:
            frames.append(p)
    return torch.stack(frames) if record_every else p
