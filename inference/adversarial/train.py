r"""Training a GAN by the minimax game (Goodfellow et al. 2014, Algorithm 1): :func:`fit_gan`,
in the one epoch loop.

An epoch is one pass over the data in shuffled minibatches (the run's generator). Each
minibatch x (with its labels y for a conditional GAN) gives one **discriminator step**
on fresh z ~ N(0, I): descend −[log D(x) + log(1 − D(G(z)))]. After every ``d_steps``
discriminator steps (and after the epoch's last one) comes one **generator step** on
fresh z, with the labels of the latest real minibatch: descend −log D(G(z))
(``"non_saturating"``) or log(1 − D(G(z))) (``"minimax"``); the discriminator is frozen
for it. Both objectives are computed from the discriminator's logits
(:mod:`inference.adversarial.losses`).

The model need not be a :class:`models.adversarial.GAN`: any ``torch.nn.Module`` with
``generator(z[, y_onehot])`` → samples, ``discriminator(x[, y_onehot])`` → logits (n,),
``n_latent``, ``n_classes`` and ``check_data`` trains here (a DCGAN, say). The two
players are the model's ``generator`` and ``discriminator`` submodules, each with an
optimizer of its own; all their parameters are the model's, so the loop's non-finite
guard and the checkpoint cover both.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F

from pgm import checks
from pgm.checks import check_capable, check_int

from ..mcmc.sampling import make_generator
from ..distributed import joined, map_rows
from ..training import EpochTable, OptimizerTrainer, check_callbacks, monitor_subset, run_epochs, training_data
from ..training.checkpointer import fingerprint, generator_part, optimizer_part
from ..training.options import as_checkpoint, check_run_options
from .losses import METHODS, discriminator_loss, generator_loss

__all__ = ["GANHistory", "ModeCollapseWarning", "fit_gan", "ADVERSARIAL", "COVERAGE_SAMPLES"]

#: What an adversarial model gives the trainer.
ADVERSARIAL = ("generator", "discriminator", "n_latent", "n_classes", "check_data")
#: Samples classified for the coverage column.
COVERAGE_SAMPLES = 500
check_choice = partial(checks.check_choice, where="fit")


class ModeCollapseWarning(UserWarning):
    """The generator's samples fall in fewer classes than asked for (``min_classes``)."""


@dataclass
class GANHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_gan`, one entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    d_loss : list[float]
        Mean discriminator loss −[log D(x) + log(1 − D(G(z)))] over the epoch's steps (nats);
        2 log 2 ≈ 1.386 at the game's equilibrium, D = ½.
    g_loss : list[float]
        Mean generator objective over the epoch's steps (nats; the method's).
    d_real, d_fake : list[float]
        Mean D(x) on the real minibatches and mean D(G(z)) on the fakes of the
        discriminator steps (both ½ at equilibrium).
    monitor_real, monitor_fake : list[float | None]
        The same with the end-of-epoch discriminator, on the fixed monitoring subset and on
        as many fixed draws of z (``None`` with ``monitor=0``).
    coverage_classes : list[int | None]
        With ``coverage``: how many classes the classifier finds among
        :data:`COVERAGE_SAMPLES` samples from fixed z (every ``coverage_every`` epochs and
        after the last; ``None`` otherwise).
    lr : list[float]
    seconds : list[float]
    """

    epoch: list = field(default_factory=list)
    d_loss: list = field(default_factory=list)
    g_loss: list = field(default_factory=list)
    d_real: list = field(default_factory=list)
    d_fake: list = field(default_factory=list)
    monitor_real: list = field(default_factory=list)
    monitor_fake: list = field(default_factory=list)
    coverage_classes: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def fit_gan(model, data: torch.Tensor, *, labels: torch.Tensor | None = None, method: str | None = None,
            d_steps: int = 1, epochs: int = 50, batch_size: int = 64, lr: float = 2e-4, betas=(0.5, 0.999),
            optimizer=None, weight_decay: float = 0.0, seed: int | None = 0, monitor="auto", coverage=None,
            coverage_every: int = 5, min_classes: int = 8, checkpoint=None, checkpoint_every: int = 1, resume=False,
            callbacks=(), progress: bool = True, distributed=None) -> GANHistory:
    r"""Train a GAN (or a conditional GAN) by alternating discriminator and generator steps.

    Parameters
    ----------
    model : GAN or a model with the same capabilities
        (``generator``, ``discriminator``, ``n_latent``, ``n_classes``, ``check_data``; module
        docstring). Trained in place.
    data : Tensor, shape (n, n_visible)
        What ``model.check_data`` accepts (in [0, 1] for a sigmoid output).
    labels : Tensor of int, shape (n,), optional
        The class of each row; required for a conditional model (``n_classes > 0``), refused
        otherwise.
    method : {"non_saturating", "minimax"}, optional
        The generator's objective (default ``"non_saturating"``; :mod:`.losses`).
    d_steps : int, default 1
        Discriminator steps per generator step (k of Algorithm 1).
    epochs : int, default 50
    batch_size : int, default 64
    lr : float, default 2e-4
        Both players' learning rate.
    betas : (float, float), default (0.5, 0.999)
        Adam's moment decays (Radford et al. 2016), passed to an optimizer class whose
        constructor takes ``betas`` (Adam, AdamW, NAdam, RAdam, Adamax...) and ignored for
        the others (SGD, RMSprop...).
    optimizer : torch.optim.Optimizer class, optional
        Called once per player as ``optimizer(params, lr=lr, weight_decay=weight_decay
        [, betas=betas])``; default Adam.
    weight_decay : float, default 0
    seed : int or None, default 0
        Seeds the shuffling and the draws of z; the fixed monitoring and coverage draws
        come from a generator of their own seeded alike, so they never change the run.
    monitor : "auto" or int
        Rows of the fixed monitoring subset (0: none; ``"auto"``: n / 20, 100 to 1000).
    coverage : classifier, optional
        A trained classifier of the data with ``predict(x)`` → classes and ``n_classes``
        (:class:`models.features.FeatureNet`, :func:`inference.evaluation.quality.fit_features`):
        the number of classes among :data:`COVERAGE_SAMPLES` samples is recorded every
        ``coverage_every`` epochs, with a :class:`ModeCollapseWarning` when fewer than
        ``min_classes``.
    coverage_every : int, default 5
    min_classes : int, default 8
    checkpoint, checkpoint_every, resume
        Atomic, resumable checkpoints (:class:`~inference.training.Checkpoint`) holding the
        model, both optimizers and the run's generator; a resumed run is bit-identical to
        an uninterrupted one.
    callbacks : callable or sequence
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops.
    progress : bool, default True
        A bar over the epochs with d_loss, g_loss, D(x) and D(G(z)).
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the rows and its own draws
        of z, both players' gradients averaged at each of their steps, rank 0's batch
        normalisation statistics copied to every rank after each epoch, the monitoring rows
        (with their z and labels) and the coverage draws split across the ranks; ``None``
        joins one when a launcher such as ``torchrun`` set the environment.

    Returns
    -------
    GANHistory

    Examples
    --------
    >>> from models.adversarial import GAN
    >>> x = torch.rand(200, 4)
    >>> history = fit_gan(GAN(4, n_latent=2, hidden=(16,), seed=0), x, epochs=2, progress=False)
    >>> len(history.d_loss)
    2
    """
    check_capable(model, ADVERSARIAL, "fit", "an adversarial model such as a models.adversarial.GAN")
    method = check_choice("non_saturating" if method is None else method, "method", METHODS)
    d_steps = check_int(d_steps, "d_steps", 1, "fit")
    lr, weight_decay = check_run_options(epochs=epochs, batch_size=batch_size, eval_every=1, lr=lr,
                                         weight_decay=weight_decay, seed=seed, monitor=monitor, progress=progress)
    betas = _check_betas(betas)
    coverage_every = check_int(coverage_every, "coverage_every", 1, "fit")
    min_classes = check_int(min_classes, "min_classes", 1, "fit")
    _check_coverage(coverage, model, min_classes)
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data = training_data(model, data)[0]
    labels = _check_labels(labels, model, data)
    opt_d, name = _make_optimizer(model.discriminator.parameters(), optimizer, lr, weight_decay, betas)
    opt_g, _ = _make_optimizer(model.generator.parameters(), optimizer, lr, weight_decay, betas)
    settings = {"method": method, "d_steps": d_steps, "batch_size": batch_size, "lr": lr,
                "betas": list(betas) if "betas" in opt_d.defaults else None, "weight_decay": weight_decay,
                "seed": seed, "optimizer": name,
                "labels": None if labels is None else fingerprint(labels.unsqueeze(1).double())}
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        trainer = _GANTrainer(model, data, labels, settings, opt_d, opt_g, make_generator(seed, data.device),
                              monitor_subset(data, monitor), monitor, (coverage, coverage_every, min_classes))
        return run_epochs(trainer.distribute(replicas, opt_d, opt_g), epochs, checkpoint=checkpoint,
                          callbacks=callbacks, progress=progress)


def _check_betas(betas):
    if (isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in betas)):
        raise TypeError(f"fit: betas must be a pair of floats (beta1, beta2), e.g. (0.5, 0.999), got {betas!r}")
    if not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"fit: betas must lie in [0, 1), got {tuple(betas)}")
    return float(betas[0]), float(betas[1])


def _check_coverage(coverage, model, min_classes):
    if coverage is None:
        return
    check_capable(coverage, ("predict", "n_classes"), "fit",
                  "a trained classifier such as a models.features.FeatureNet", name="coverage")
    n_inputs = getattr(coverage, "n_inputs", None)
    n_visible = getattr(model, "n_visible", None)
    if n_inputs is not None and n_visible is not None and n_inputs != n_visible:
        raise ValueError(f"fit: coverage classifies {n_inputs} inputs but the model makes {n_visible}; pass a "
                         "classifier of the model's data")
    if min_classes > coverage.n_classes:
        raise ValueError(f"fit: min_classes must be at most the classifier's {coverage.n_classes} classes, got "
                         f"{min_classes}")


def _check_labels(labels, model, data):
    n_classes = int(model.n_classes)
    if n_classes == 0:
        if labels is not None:
            raise ValueError("fit: labels are only for a conditional model (n_classes > 0); this model has "
                             "n_classes=0, so pass labels=None")
        return None
    if labels is None:
        raise ValueError(f"fit: a conditional model (n_classes={n_classes}) needs labels, an integer tensor of "
                         f"shape ({data.shape[0]},) with the class of each row of data")
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex() \
            or labels.dtype == torch.bool:
        raise TypeError(f"fit: labels must be an integer tensor of classes, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}; convert with labels.long()")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"fit: labels must have shape ({data.shape[0]},), one class per row of data, got "
                         f"{tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
        raise ValueError(f"fit: labels must hold classes in 0..{n_classes - 1}, got values in "
                         f"{int(labels.min())}..{int(labels.max())}")
    return labels.to(device=data.device, dtype=torch.long)


def _make_optimizer(params, optimizer, lr, weight_decay, betas):
    """``(optimizer, name)``: Adam by default; ``betas`` passed when the class takes them."""
    cls = torch.optim.Adam if optimizer is None else optimizer
    if not isinstance(cls, type) or not issubclass(cls, torch.optim.Optimizer):
        raise TypeError(f"fit: optimizer must be a torch.optim.Optimizer class, got {optimizer!r}")
    try:
        takes_betas = "betas" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        takes_betas = False
    kwargs = {"lr": lr, "weight_decay": weight_decay, **({"betas": betas} if takes_betas else {})}
    return cls(params, **kwargs), cls.__qualname__


@contextlib.contextmanager
def _frozen(module):
    """``module``'s parameters without gradients for the duration (the other player's step)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _rows(y, index):
    """The rows ``index`` of the one-hot labels ``y`` (``None`` stays ``None``)."""
    return None if y is None else y[index]


@contextlib.contextmanager
def _evaluating(model):
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


class _GANTrainer(OptimizerTrainer):
    """A GAN's run in the epoch loop: the discriminator's optimizer is the loop's ``opt``."""

    postfix = {"d_loss": "d_loss", "g_loss": "g_loss", "d_real": "D(x)", "d_fake": "D(G(z))"}

    def __init__(self, model, data, labels, settings, opt_d, opt_g, gen, subset, monitor, coverage):
        super().__init__(model, data, opt_d, gen, settings)
        self.labels, self.opt_g = labels, opt_g
        self.method, self.d_steps = settings["method"], settings["d_steps"]
        self.coverage, self.coverage_every, self.min_classes = coverage
        self.history, self.desc = GANHistory(), f"fit {type(model).__name__}"
        fixed = make_generator(settings["seed"], data.device)  # the fixed draws: never the run's generator
        if subset is None:
            self.subset = None
        else:
            rows = torch.arange(data.shape[0], device=data.device)
            idx = monitor_subset(rows.unsqueeze(1), monitor).squeeze(1)
            self.subset = (data[idx], self._onehot(None if labels is None else labels[idx]),
                           self._draw(idx.shape[0], fixed))
        n_cov = COVERAGE_SAMPLES
        y_cov = torch.arange(n_cov, device=data.device) % model.n_classes if model.n_classes else None
        self.cov_draw = (self._draw(n_cov, fixed), self._onehot(y_cov))

    def _draw(self, n, gen):
        return torch.randn(n, self.model.n_latent, generator=gen, dtype=self.data.dtype, device=self.data.device)

    def _onehot(self, y):
        return None if y is None else F.one_hot(y, self.model.n_classes).to(self.data.dtype)

    def _g(self, z, y):
        return self.model.generator(z) if y is None else self.model.generator(z, y)

    def _d(self, x, y):
        return self.model.discriminator(x) if y is None else self.model.discriminator(x, y)

    def _split(self, fn, n):
        """``fn(rows)`` over the row indices 0 … n − 1, each rank of a data-parallel run
        taking its rows r, r + W, ... and every rank getting all n results in order
        (:func:`~inference.distributed.map_rows`)."""
        return map_rows(fn, torch.arange(n, device=self.data.device), self.replicas)

    def parts(self) -> dict:
        return {"d_optimizer": optimizer_part(self.opt), "g_optimizer": optimizer_part(self.opt_g),
                "generator": generator_part(self.gen)}

    def train_epoch(self, epoch: int) -> dict:
        data, labels, gen, opt_d, opt_g = self.data, self.labels, self.gen, self.opt, self.opt_g
        batches = self.order(epoch).split(self._settings["batch_size"])
        sums = torch.zeros(4, dtype=torch.float64, device=data.device)  # d_loss, D(x), D(G(z)), g_loss
        n_d = n_g = 0
        for i, idx in enumerate(batches):
            x, y = data[idx], self._onehot(None if labels is None else labels[idx])
            b = x.shape[0]
            with torch.no_grad():
                fake = self._g(self._draw(b, gen), y)
            opt_d.zero_grad(set_to_none=True)
            real_logits, fake_logits = self._d(x, y), self._d(fake, y)
            loss = discriminator_loss(real_logits, fake_logits)
            loss.backward()
            opt_d.step()
            with torch.no_grad():
                sums[:3] += torch.stack([loss.detach().double() * b, torch.sigmoid(real_logits).double().sum(),
                                         torch.sigmoid(fake_logits).double().sum()])
            n_d += b
            if (i + 1) % self.d_steps == 0 or i + 1 == len(batches):
                opt_g.zero_grad(set_to_none=True)
                with _frozen(self.model.discriminator):
                    g_loss = generator_loss(self._d(self._g(self._draw(b, gen), y), y), self.method)
                    g_loss.backward()
                opt_g.step()
                sums[3] += g_loss.detach().double() * b
                n_g += b
        d_loss, d_real, d_fake, g_loss = (float(v) for v in sums / torch.tensor([n_d, n_d, n_d, n_g],
                                                                                 dtype=torch.float64,
                                                                                 device=sums.device))
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake,
                "lr": float(opt_d.param_groups[0]["lr"])}

    @torch.no_grad()
    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        row = {"monitor_real": None, "monitor_fake": None, "coverage_classes": None}
        with _evaluating(self.model):  # batch norm's running statistics: a row's score is its own, however split
            if self.subset is not None:
                x, y, z = self.subset

                def real_and_fake(i):  # the rows i of the subset, their labels and their fixed z
                    y_i = _rows(y, i)
                    return (torch.sigmoid(self._d(x[i], y_i)).double(),
                            torch.sigmoid(self._d(self._g(z[i], y_i), y_i)).double())

                d_real, d_fake = self._split(real_and_fake, x.shape[0])
                row["monitor_real"], row["monitor_fake"] = float(d_real.mean()), float(d_fake.mean())
            if self.coverage is not None and ((epoch + 1) % self.coverage_every == 0 or last):
                z, y = self.cov_draw
                classes = self._split(lambda i: self.coverage.predict(self._g(z[i], _rows(y, i))), z.shape[0])
                found = int(torch.unique(classes).numel())
                row["coverage_classes"] = found
                if found < self.min_classes:
                    warnings.warn(ModeCollapseWarning(
                        f"fit: after epoch {epoch + 1} the generator's {z.shape[0]} samples fall in {found} of the "
                        f"classifier's {self.coverage.n_classes} classes (fewer than min_classes={self.min_classes}): "
                        "the generator may have collapsed onto a few modes; try the non-saturating loss, a lower lr "
                        "or more discriminator steps"), stacklevel=2)
        return row
