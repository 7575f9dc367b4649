r"""Pictures of adversarial training and of implicit generators.

* :func:`plot_gan_history` — the game per epoch, from a :class:`~.train.GANHistory`: the
  discriminator's and the generator's losses (2 log 2 ≈ 1.386 for D at the equilibrium
  D = ½), and the mean D(x) on real minibatches and D(G(z)) on generated ones (both ½ at
  the equilibrium; with the fixed monitoring set, its two curves dashed);
* :func:`plot_discriminator_outputs` — histograms of D's outputs σ(logit) on real rows and
  on as many generated rows, overlaid: two separated humps mean D tells them apart, one
  hump at ½ is the equilibrium of the game;
* :class:`SampleSnapshots` — a training callback (``fit_gan(..., callbacks=...)``,
  ``fit_gmmn``) that draws samples from a fixed set of latent points every few epochs and
  saves them as a grid, so that successive pictures show the same z evolving; it keeps the
  samples for :meth:`SampleSnapshots.plot_evolution`, one row per snapshot.

A callback draws from a ``torch.Generator`` of its own, under ``torch.no_grad`` and with
the model in eval mode for the draw (each submodule's mode given back), so a run with it is
bit-identical to a run without it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from models.adversarial.generator import evaluation_mode
from pgm.checks import check_capable, check_int, check_path, check_title
from pgm.plots._common import new_figure, save
from pgm.plots.images import check_image_shape, image_grid, tile

__all__ = ["plot_gan_history", "plot_discriminator_outputs", "SampleSnapshots", "GAME_COLUMNS"]

#: The columns of a history :func:`plot_gan_history` draws.
GAME_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake")
DISCRIMINATED = ("discriminator", "sample", "n_latent", "n_classes", "check_data")
SAMPLER = ("sample", "n_latent")


def _model_dtype(model):
    p = next(iter(model.parameters()), None)
    return (torch.get_default_dtype(), None) if p is None else (p.dtype, p.device)


def _columns(history, where):
    missing = [c for c in GAME_COLUMNS if not hasattr(history, c)]
    if missing:
        raise TypeError(f"{where}: history must be a GANHistory (fit_gan's result) with {list(GAME_COLUMNS)}, got "
                        f"{type(history).__name__} without {missing}")
    cols = {c: list(getattr(history, c)) for c in GAME_COLUMNS}
    n = len(cols["d_loss"])
    if n == 0:
        raise ValueError(f"{where}: history holds no epoch; train for at least one epoch first")
    if any(len(v) != n for v in cols.values()):
        raise ValueError(f"{where}: history's columns {list(GAME_COLUMNS)} must have one entry per epoch, got "
                         f"lengths {[len(v) for v in cols.values()]}")
    for c, values in cols.items():
        arr = np.asarray(values, dtype=float)
        if not np.isfinite(arr).all():
            raise ValueError(f"{where}: history.{c} holds non-finite values")
    return cols


def plot_gan_history(history, path=None, title: str | None = None):
    """The two players' losses and D's mean outputs per epoch, in two panels.

    Parameters
    ----------
    history : GANHistory
        From :func:`inference.adversarial.fit_gan` (any object with the list attributes
        ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``, one entry per epoch; ``epoch``,
        ``monitor_real`` and ``monitor_fake`` are used when present).
    path : str or Path, optional
        Save the picture there.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the losses (nats; a dotted line at 2 log 2, the discriminator's loss at
        the equilibrium) and D(x), D(G(z)) (a dotted line at ½).
    """
    where = "plot_gan_history"
    check_path(path, where), check_title(title, where)
    cols = _columns(history, where)
    n = len(cols["d_loss"])
    epochs = list(getattr(history, "epoch", []))
    x = np.asarray(epochs if len(epochs) == n else range(1, n + 1), dtype=float)
    fig = new_figure((8.0, 3.0))
    ax_loss, ax_d = fig.subplots(1, 2)
    ax_loss.plot(x, cols["d_loss"], label="D loss", color="C0")
    ax_loss.plot(x, cols["g_loss"], label="G loss", color="C1")
    ax_loss.axhline(2 * math.log(2), color="grey", ls=":", lw=1, label="2 log 2")
    ax_loss.set_xlabel("epoch"), ax_loss.set_ylabel("nats"), ax_loss.set_title("losses", fontsize=9)
    ax_loss.legend(fontsize=8)
    ax_d.plot(x, cols["d_real"], label="D(x), real", color="C2")
    ax_d.plot(x, cols["d_fake"], label="D(G(z)), generated", color="C3")
    for name, color in (("monitor_real", "C2"), ("monitor_fake", "C3")):
        values = list(getattr(history, name, []))
        if len(values) == n and all(v is not None for v in values):
            ax_d.plot(x, values, color=color, ls="--", lw=1,
                      label=f"{'D(x)' if name.endswith('real') else 'D(G(z))'}, fixed set")
    ax_d.axhline(0.5, color="grey", ls=":", lw=1)
    ax_d.set_ylim(0, 1)
    ax_d.set_xlabel("epoch"), ax_d.set_ylabel("mean D"), ax_d.set_title("the discriminator's outputs", fontsize=9)
    ax_d.legend(fontsize=8)
    fig.suptitle(title or "the game per epoch", fontsize=10)
    save(fig, path)
    return fig


@torch.no_grad()
def _discriminator_outputs(model, data, n, generator, labels, where):
    x = model.check_data(data, "data")
    n = min(check_int(n, "n", 1, where), x.shape[0])
    x = x[:n]
    if model.n_classes:
        if labels is None:
            raise ValueError(f"{where}: a conditional model (n_classes={model.n_classes}) needs labels, the class "
                             f"of each row of data")
        y = torch.as_tensor(labels)
        if y.is_floating_point() or y.dtype == torch.bool or y.dim() != 1 or y.shape[0] < n:
            raise ValueError(f"{where}: labels must be integer classes, one per row of data (shape "
                             f"({len(data)},)), got {y.dtype} of shape {tuple(y.shape)}")
        y = y[:n].long().to(x.device)
        if int(y.min()) < 0 or int(y.max()) >= model.n_classes:
            raise ValueError(f"{where}: labels must hold classes in 0..{model.n_classes - 1}, got values in "
                             f"{int(y.min())}..{int(y.max())}")
        onehot = F.one_hot(y, model.n_classes).to(x.dtype)
    elif labels is not None:
        raise ValueError(f"{where}: labels are only for a conditional model (n_classes > 0); this one has "
                         "n_classes=0, so pass labels=None")
    else:
        y = onehot = None
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{where}: generator must be a torch.Generator or None, got {type(generator).__name__}")
    with evaluation_mode(model):
        fake = model.sample(n, generator, y=y)
        d = (lambda v: model.discriminator(v)) if onehot is None else (lambda v: model.discriminator(v, onehot))
        real_out = torch.sigmoid(d(x)).double().cpu().numpy()
        fake_out = torch.sigmoid(d(fake)).double().cpu().numpy()
    return real_out, fake_out


def plot_discriminator_outputs(model, data, n: int = 500, generator=None, labels=None, path=None,
                               title: str | None = None):
    """Histograms of D(x) = σ(logit) on the first ``n`` rows of ``data`` and on ``n``
    generated rows, overlaid on [0, 1].

    Parameters
    ----------
    model : GAN or DCGAN
        Or any model with ``discriminator``, ``sample``, ``n_latent``, ``n_classes`` and
        ``check_data``.
    data : Tensor, shape (N, n_visible)
        Real rows (held-out ones show what D learned beyond the training set).
    n : int, default 500
        Rows of each kind (at most N).
    generator : torch.Generator, optional
        For the draws of z.
    labels : Tensor of int, shape (N,), optional
        The class of each row of ``data``: required for a conditional model, whose
        generated rows then take the same labels; refused otherwise.
    path : str or Path, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the legend gives each kind's mean output.
    """
    where = "plot_discriminator_outputs"
    check_path(path, where), check_title(title, where)
    check_capable(model, DISCRIMINATED, where, "an adversarial model such as a models.adversarial.GAN",
                  name="model")
    real_out, fake_out = _discriminator_outputs(model, data, n, generator, labels, where)
    fig = new_figure((5.0, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    bins = np.linspace(0, 1, 41)
    ax.hist(real_out, bins=bins, alpha=0.6, color="C2", label=f"real: mean {real_out.mean():.2f}")
    ax.hist(fake_out, bins=bins, alpha=0.6, color="C3", label=f"generated: mean {fake_out.mean():.2f}")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("D(x) = σ(logit)"), ax.set_ylabel("rows")
    ax.set_title(title or f"{type(model).__name__}: the discriminator on {real_out.shape[0]} real and "
                          f"{fake_out.shape[0]} generated rows", fontsize=9)
    ax.legend(fontsize=8)
    save(fig, path)
    return fig


class SampleSnapshots:
    """A callback ``(epoch, history, model)`` for :func:`~inference.adversarial.fit_gan` and
    :func:`~inference.adversarial.fit_gmmn` that saves a grid of samples from fixed latent
    points every ``every`` epochs (the loop's epochs count from 1).

    A conditional model's samples take the classes in turn, 0, 1, …, K − 1, 0, …, drawn K
    to a row of the grid, so each column is one class.

    Parameters
    ----------
    path : str or Path
        A pattern with an ``{epoch}`` field, e.g. ``"runs/samples_{epoch:03d}.png"``, or a
        folder, where the pictures are ``epoch_0005.png`` and so on.
    every : int, default 5
    n : int, default 64
        Samples per picture.
    image_shape : (int, int)
        (height, width) of one sample, e.g. ``(8, 8)``.
    seed : int, default 0
        Seeds the callback's own generator for the fixed z, drawn at the first call (the
        model's n_latent, dtype and device); the training run's draws are not touched.

    Attributes
    ----------
    paths : list of Path
        The pictures written, in order.
    samples : dict
        ``{epoch: Tensor (n, n_visible)}`` of every snapshot (on the CPU).
    """

    def __init__(self, path, every: int = 5, n: int = 64, image_shape=None, seed: int = 0):
        where = "SampleSnapshots"
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"{where}: path must be a folder or a pattern with {{epoch}} (str or os.PathLike), got "
                            f"{type(path).__name__}")
        text = os.fspath(path)
        if "{" in text:
            try:
                probe = text.format(epoch=1)
            except (KeyError, IndexError, ValueError) as err:
                raise ValueError(f"{where}: path must be a folder or a pattern whose only field is {{epoch}}, got "
                                 f"{text!r} ({err})") from None
            check_path(probe, where)
            self.pattern = text
        else:
            self.pattern = os.path.join(text, "epoch_{epoch:04d}.png")
        self.every = check_int(every, "every", 1, where)
        self.n = check_int(n, "n", 1, where)
        if image_shape is None:
            raise ValueError(f"{where}: image_shape must be (height, width), e.g. (8, 8), got None")
        self.image_shape = check_image_shape(image_shape, where)
        self.seed = check_int(seed, "seed", 0, where)
        self.z = self.y = None
        self.paths, self.samples = [], {}

    def _fixed(self, model):
        dtype, device = _model_dtype(model)
        gen = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.n, model.n_latent, generator=gen, dtype=dtype)
        k = int(getattr(model, "n_classes", 0) or 0)
        y = torch.arange(self.n) % k if k else None
        return z.to(device) if device is not None else z, (y.to(device) if y is not None and device else y)

    def __call__(self, epoch, history, model):
        if epoch % self.every:
            return None
        check_capable(model, SAMPLER, "SampleSnapshots", "a generator with n_latent and sample(n, ..., z=...)",
                      name="model")
        h, w = self.image_shape
        if getattr(model, "n_visible", h * w) != h * w:
            raise ValueError(f"SampleSnapshots: image_shape {(h, w)} does not hold the model's {model.n_visible} "
                             "dimensions")
        if self.z is None:
            self.z, self.y = self._fixed(model)
        with torch.no_grad(), evaluation_mode(model):
            x = model.sample(self.n, z=self.z) if self.y is None else model.sample(self.n, y=self.y, z=self.z)
        x = x.detach().cpu()
        self.samples[int(epoch)] = x
        path = Path(self.pattern.format(epoch=int(epoch)))
        k = int(getattr(model, "n_classes", 0) or 0)
        inside = float(x.min()) >= 0 and float(x.max()) <= 1
        fig = image_grid(x, (h, w), path=path, ncols=k or None, normalize=None if inside else "global",
                         title=f"{type(model).__name__}: samples from fixed z after epoch {epoch}")
        del fig
        self.paths.append(path)
        return None

    def plot_evolution(self, k: int = 10, path=None, title: str | None = None):
        """The first ``k`` fixed latent points (columns) at each snapshot (rows, epochs
        down): the same z evolving over training."""
        where = "SampleSnapshots.plot_evolution"
        check_path(path, where), check_title(title, where)
        k = check_int(k, "k", 1, where)
        if not self.samples:
            raise ValueError(f"{where}: no snapshot yet; pass the callback to fit_gan or fit_gmmn first")
        h, w = self.image_shape
        epochs = sorted(self.samples)
        k = min(k, self.n)
        arr = torch.cat([self.samples[e][:k] for e in epochs]).double().numpy()
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            arr = (arr - lo) / max(hi - lo, 1e-12)
        canvas = tile(arr, h, w, k)
        fig = new_figure((max(2.5, 0.45 * k + 0.8), max(2.0, 0.45 * len(epochs) + 0.5)))
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([1 + (h + 1) * i + h / 2 - 0.5 for i in range(len(epochs))], [str(e) for e in epochs],
                      fontsize=7)
        ax.set_ylabel("epoch")
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(title or f"{k} fixed latent points over training", fontsize=9)
        save(fig, path)
        return fig
