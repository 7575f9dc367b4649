r"""Sample-quality scores for models without a tractable likelihood.

Computed on features of a network of our own (:class:`models.FeatureNet`, a classifier of
the labelled digits) rather than on pixels:

* :func:`frechet_distance` — ‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}) between
  Gaussians fitted to the two feature sets (the FID of Heusel et al. 2017 on our features);
* :func:`kernel_distance` — the unbiased MMD² with the cubic polynomial kernel
  k(a, b) = (aᵀb / d + 1)³ (the KID of Bińkowski et al. 2018), mean and standard error over
  disjoint subsets;
* :func:`class_coverage` — the histogram of the classes the classifier predicts for the
  samples, its KL divergence to the uniform, and the classes never produced;
* :func:`mode_counts` — on 2-D toys with known modes, the modes covered and the fraction
  of samples near a mode (the mode-collapse diagnostic);
* :func:`memorisation` — each sample's distance to its nearest training example against
  held-out examples' distances to theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

import torch.nn.functional as F

from pgm.checks import check_int

from ..mcmc.sampling import make_generator
from ..training import EpochTable, OptimizerTrainer, run_epochs

__all__ = ["frechet_distance", "kernel_distance", "KernelDistance", "class_coverage", "Coverage", "mode_counts",
           "ModeCounts", "memorisation", "fit_features"]


def _features(x, name, where, min_rows=2):
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{where}: {name} must be a floating tensor of shape (n, d), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{where}: {name} needs at least {min_rows} rows, got {x.shape[0]}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return x.double()


def _sqrtm_psd(a):
    vals, vecs = torch.linalg.eigh((a + a.t()) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.t()


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (n, d) and (m, d).

    tr((Σ_r Σ_g)^{1/2}) is computed as tr((Σ_r^{1/2} Σ_g Σ_r^{1/2})^{1/2}), a symmetric
    square root, in float64.
    """
    r = _features(real, "real", "frechet_distance")
    g = _features(fake, "fake", "frechet_distance")
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"frechet_distance: real and fake must have the same width, got {r.shape[1]} and "
                         f"{g.shape[1]}")
    mr, mg = r.mean(0), g.mean(0)
    cr, cg = torch.cov(r.t()).reshape(r.shape[1], -1), torch.cov(g.t()).reshape(g.shape[1], -1)
    root = _sqrtm_psd(cr)
    cross = _sqrtm_psd(root @ cg @ root)
    return float((mr - mg).square().sum() + torch.trace(cr) + torch.trace(cg) - 2 * torch.trace(cross))


class KernelDistance(NamedTuple):
    """The unbiased MMD² estimate (``mean`` over ``n_subsets`` subsets) and its standard error."""

    mean: float
    sem: float
    n_subsets: int


def _mmd2(x, y):
    d = x.shape[1]
    kxx = (x @ x.t() / d + 1) ** 3
    kyy = (y @ y.t() / d + 1) ** 3
    kxy = (x @ y.t() / d + 1) ** 3
    n, m = x.shape[0], y.shape[0]
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
            - 2 * kxy.mean())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, n_subsets: int = 10,
                    generator: torch.Generator | None = None) -> KernelDistance:
    """The kernel distance: unbiased MMD² with k(a, b) = (aᵀb / d + 1)³ on features
    standardised by the real set's per-feature mean and standard deviation, averaged over
    ``n_subsets`` disjoint random subsets of both sets (at least 2 rows each), with the
    standard error of that mean."""
    r = _features(real, "real", "kernel_distance", 4)
    g = _features(fake, "fake", "kernel_distance", 4)
    if r.shape[1] != g.shape[1]:
        raise ValueError(f"kernel_distance: real and fake must have the same width, got {r.shape[1]} and {g.shape[1]}")
    n_subsets = check_int(n_subsets, "n_subsets", 1, "kernel_distance")
    size = min(r.shape[0], g.shape[0]) // n_subsets
    if size < 2:
        raise ValueError(f"kernel_distance: {n_subsets} subsets of at least 2 rows need {2 * n_subsets} rows in each "
                         f"set, got {r.shape[0]} and {g.shape[0]}")
    center, scale = r.mean(0), r.std(0).clamp_min(1e-12)  # features standardised on the real set
    r, g = (r - center) / scale, (g - center) / scale
    pr = torch.randperm(r.shape[0], generator=generator)[: size * n_subsets].view(n_subsets, size)
    pg = torch.randperm(g.shape[0], generator=generator)[: size * n_subsets].view(n_subsets, size)
    values = torch.stack([_mmd2(r[a], g[b]) for a, b in zip(pr, pg)])
    sem = float(values.std() / math.sqrt(n_subsets)) if n_subsets > 1 else math.inf
    return KernelDistance(float(values.mean()), sem, n_subsets)


class Coverage(NamedTuple):
    """``histogram`` (K,) of predicted classes (fractions), ``kl_to_uniform`` (nats) and
    ``missing``, the classes never produced."""

    histogram: torch.Tensor
    kl_to_uniform: float
    missing: list


def class_coverage(labels: torch.Tensor, n_classes: int) -> Coverage:
    """How evenly samples cover the classes: KL(histogram ‖ uniform) = log K − H(histogram)."""
    n_classes = check_int(n_classes, "n_classes", 2, "class_coverage")
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.numel() == 0 or labels.is_floating_point():
        raise ValueError(f"class_coverage: labels must be a non-empty 1-D integer tensor, got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    if bool(((labels < 0) | (labels >= n_classes)).any()):
        raise ValueError(f"class_coverage: labels must lie in 0..{n_classes - 1}")
    hist = torch.bincount(labels.long(), minlength=n_classes).double() / labels.numel()
    nz = hist[hist > 0]
    kl = math.log(n_classes) + float((nz * nz.log()).sum())
    return Coverage(hist, kl, [int(k) for k in (hist == 0).nonzero().flatten()])


class ModeCounts(NamedTuple):
    """``covered`` modes (with at least ``min_count`` samples within the radius), of
    ``n_modes``; ``near``: the fraction of samples within the radius of some mode."""

    covered: int
    n_modes: int
    near: float


def mode_counts(samples: torch.Tensor, modes: torch.Tensor, radius: float, min_count: int = 1) -> ModeCounts:
    """Mode coverage of samples on a toy with known modes (radius: e.g. 3 standard deviations)."""
    x = _features(samples, "samples", "mode_counts", 1)
    m = _features(modes, "modes", "mode_counts", 1)
    dist = torch.cdist(x, m)
    nearest = dist.min(1)
    near = nearest.values <= radius
    counts = torch.bincount(nearest.indices[near], minlength=m.shape[0])
    return ModeCounts(int((counts >= min_count).sum()), m.shape[0], float(near.double().mean()))


def memorisation(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> dict:
    """Nearest-neighbour distances to the training set: of the samples, and of held-out
    examples (the reference a model that does not copy should match). A sample median far
    below the held-out median means training examples are being reproduced."""
    s = _features(samples, "samples", "memorisation", 1)
    t = _features(train, "train", "memorisation", 1)
    h = _features(held_out, "held_out", "memorisation", 1)
    if not s.shape[1] == t.shape[1] == h.shape[1]:
        raise ValueError(f"memorisation: samples, train and held_out must have the same width, got {s.shape[1]}, "
                         f"{t.shape[1]} and {h.shape[1]}")
    exact = "donot_use_mm_for_euclid_dist"  # an exact copy is at distance 0, not at rounding noise
    ds = torch.cdist(s, t, compute_mode=exact).min(1).values
    dh = torch.cdist(h, t, compute_mode=exact).min(1).values
    return {"samples_median": float(ds.median()), "held_out_median": float(dh.median()),
            "ratio": float(ds.median() / dh.median()) if float(dh.median()) > 0 else math.inf,
            "copies": float((ds == 0).double().mean())}


class _FeatureTrainer(OptimizerTrainer):
    desc = "fit features"
    postfix = {"loss": "loss"}

    def __init__(self, net, x, y, batch_size, lr, seed):
        super().__init__(net, x, torch.optim.Adam(net.parameters(), lr=lr), make_generator(seed, x.device),
                         {"method": "cross_entropy", "batch_size": batch_size, "lr": lr, "seed": seed})
        self.labels, self.batch_size = y, batch_size
        self.history = _FeatureHistory()

    def train_epoch(self, epoch: int) -> dict:
        total = 0.0
        for batch in torch.randperm(self.data.shape[0], generator=self.gen).split(self.batch_size):
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(self.data[batch]), self.labels[batch])
            loss.backward()
            self.opt.step()
            total += float(loss.detach()) * batch.numel()
        return {"loss": total / self.data.shape[0]}


@dataclass
class _FeatureHistory(EpochTable):
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def fit_features(net, x: torch.Tensor, labels: torch.Tensor, *, epochs: int = 30, batch_size: int = 50,
                 lr: float = 1e-3, seed: int | None = 0, progress: bool = False):
    """Train a :class:`models.FeatureNet` by cross-entropy on labelled rows (Adam, the one
    epoch loop); returns its history."""
    x = net.check_data(x, "x")
    labels = torch.as_tensor(labels)
    if labels.shape != (x.shape[0],) or labels.is_floating_point():
        raise ValueError(f"fit_features: labels must be {x.shape[0]} integer class indices, got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    check_int(epochs, "epochs", 1, "fit_features"), check_int(batch_size, "batch_size", 1, "fit_features")
    return run_epochs(_FeatureTrainer(net, x, labels.long(), batch_size, lr, seed), epochs, progress=progress)
