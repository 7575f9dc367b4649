r"""Sample-quality scores for models without a tractable likelihood.

Computed on features of a network of our own (:class:`models.FeatureNet`, a classifier of
the labelled digits) rather than on pixels:

* :func:`frechet_distance` — ‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}) between
  Gaussians fitted to the two feature sets (the FID of Heusel et al. 2017 on our features);
* :func:`kernel_distance` — the unbiased MMD² on all rows with its jackknife standard
  error: by default with a sum of Gaussian kernels from the median distance down four
  octaves, or with the cubic polynomial kernel k(a, b) = (aᵀb / d + 1)³ (the KID of
  Bińkowski et al. 2018);
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

from pgm.checks import check_choice, check_float, check_int

from ..mcmc.sampling import make_generator
from ..training import EpochTable, OptimizerTrainer, run_epochs

__all__ = ["frechet_distance", "kernel_distance", "KernelDistance", "median_distance", "OCTAVES", "class_coverage",
           "Coverage", "mode_counts", "ModeCounts", "memorisation", "fit_features"]


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
    """The unbiased MMD² estimate ``mean`` on all rows, its jackknife standard error ``sem``,
    the ``kernel`` (``"gaussian"`` or ``"cubic"``), its ``bandwidths`` (empty for the cubic
    kernel) and the rows ``n_real`` and ``n_fake`` it used."""

    mean: float
    sem: float
    kernel: str
    bandwidths: tuple
    n_real: int
    n_fake: int


#: The Gaussian kernel's bandwidths as fractions of the median distance: four octaves down
#: from the median heuristic's global scale towards the scale of nearest neighbours.
OCTAVES = (1.0, 0.5, 0.25, 0.125)
_MEDIAN_ROWS = 2000  # rows (evenly spaced) whose pairwise distances give the median
_BLOCK = 1 << 22  # kernel entries held at once


def median_distance(x: torch.Tensor, max_rows: int = _MEDIAN_ROWS) -> float:
    """The median Euclidean distance between distinct rows of ``x`` (n, d), on at most
    ``max_rows`` evenly spaced rows: the median heuristic's bandwidth."""
    x = _features(x, "x", "median_distance")
    max_rows = check_int(max_rows, "max_rows", 2, "median_distance")
    if x.shape[0] > max_rows:
        x = x[torch.linspace(0, x.shape[0] - 1, max_rows, device=x.device).round().long()]
    return float(torch.pdist(x).median())


def _kernel_sums(a, b, kernel, scales, same):
    """Row sums (len(a),) and column sums (len(b),) of the kernel matrix k(a, b), computed
    over blocks of rows; with ``same`` (a is b) the diagonal k(a_i, a_i) is left out."""
    rows = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
    cols = torch.zeros(b.shape[0], dtype=a.dtype, device=a.device)
    step = max(1, _BLOCK // b.shape[0])
    b_sq = b.square().sum(1)
    for start in range(0, a.shape[0], step):
        blk = a[start: start + step]
        inner = blk @ b.t()
        if kernel == "cubic":
            k = (inner / a.shape[1] + 1) ** 3
        else:
            sq = (blk.square().sum(1, keepdim=True) + b_sq - 2 * inner).clamp_min(0)
            k = sum(torch.exp(sq / (-2 * s * s)) for s in scales)
        if same:
            i = torch.arange(blk.shape[0], device=a.device)
            k[i, i + start] = 0
        rows[start: start + blk.shape[0]] = k.sum(1)
        cols += k.sum(0)
    return rows, cols


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, *, kernel: str = "gaussian",
                    bandwidths=None) -> KernelDistance:
    r"""The kernel distance of two feature sets: the unbiased MMD² on all rows, with its
    jackknife standard error.

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{1}{n(n-1)} \sum_{i \ne j} k(x_i, x_j)
            + \frac{1}{m(m-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{nm} \sum_{i, j} k(x_i, y_j)

    with ``x = real`` and ``y = fake``; an unbiased estimate of MMD² (Gretton et al. 2012),
    zero in expectation when the two sets come from the same distribution, and it can then be
    negative. Every pair of rows enters (not disjoint subsets, whose means carry several
    times the standard error at a few hundred rows).

    Parameters
    ----------
    real : Tensor, shape (n, d)
        Features of real data (n ≥ 3, finite). The reference: the kernel's scale comes from
        it alone, so that every ``fake`` scored against the same ``real`` uses the same kernel.
    fake : Tensor, shape (m, d)
        Features of samples (m ≥ 3, finite, the same width d).
    kernel : {"gaussian", "cubic"}, default "gaussian"
        ``"gaussian"``: k(a, b) = Σ_s exp(−‖a − b‖² / (2 s²)) over the ``bandwidths``.
        ``"cubic"``: the KID kernel of Bińkowski et al. (2018), k(a, b) = (aᵀb / d + 1)³.
        Both on the features as they are (no standardisation: dividing by a per-feature
        standard deviation blows up units that are nearly constant on the real set, and a
        transformation estimated from the data is variance the jackknife does not see).
    bandwidths : float or sequence of float, optional
        The Gaussian kernel's bandwidths s (> 0). Default: σ · (1, 1/2, 1/4, 1/8)
        (:data:`OCTAVES`), σ the median distance between real rows
        (:func:`median_distance`, the median heuristic), so that the kernel compares the
        sets both at the scale of the whole data and at the scale of neighbouring rows.

    Returns
    -------
    KernelDistance
        ``mean``: the estimate above; ``sem``: the delete-one jackknife standard error of a
        two-sample U-statistic (Arvesen 1969),
        sem² = (n−1)/n Σ_i (U₋ᵢ − Ū₋ₓ)² + (m−1)/m Σ_j (U₋ⱼ − Ū₋ᵧ)², U₋ᵢ the estimate without
        real row i. Never negative, and conservative (its expectation is at least the
        variance, Efron & Stein 1981): on Gaussian test cases it matches the spread of
        repeated estimates when the distributions differ and is about √2 times it when they
        are the same. Then ``kernel``, ``bandwidths`` (empty for the cubic kernel), ``n_real``
        and ``n_fake``.

    Notes
    -----
    Time O((n + m)² d), memory O(n + m) beyond blocks of 2²² kernel entries; in float64.
    """
    where = "kernel_distance"
    x = _features(real, "real", where, 3)
    y = _features(fake, "fake", where, 3)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{where}: real and fake must have the same width, got {x.shape[1]} and {y.shape[1]}")
    check_choice(kernel, "kernel", ("gaussian", "cubic"), where)
    if kernel == "cubic":
        if bandwidths is not None:
            raise ValueError(f"{where}: bandwidths apply to the gaussian kernel only, got {bandwidths!r} with the "
                             f"cubic kernel")
        scales = ()
    elif bandwidths is None:
        sigma = median_distance(x)
        if not sigma > 0:
            raise ValueError(f"{where}: the median distance between real rows is 0 (more than half of them are "
                             f"equal); pass bandwidths")
        scales = tuple(sigma * f for f in OCTAVES)
    else:
        seq = bandwidths if isinstance(bandwidths, (list, tuple)) else [bandwidths]
        if not seq:
            raise ValueError(f"{where}: bandwidths must hold at least one bandwidth, got {bandwidths!r}")
        scales = tuple(check_float(s, f"bandwidths[{i}]" if isinstance(bandwidths, (list, tuple)) else "bandwidths",
                                   0.0, low_open=True, where=where) for i, s in enumerate(seq))
    n, m = x.shape[0], y.shape[0]
    rx, _ = _kernel_sums(x, x, kernel, scales, True)
    ry, _ = _kernel_sums(y, y, kernel, scales, True)
    a, b = _kernel_sums(x, y, kernel, scales, False)
    sx, sy, s = rx.sum(), ry.sum(), a.sum()
    exx, eyy, exy = sx / (n * (n - 1)), sy / (m * (m - 1)), s / (n * m)
    value = exx + eyy - 2 * exy
    # the estimate without real row i, and without fake row j
    drop_x = (sx - 2 * rx) / ((n - 1) * (n - 2)) + eyy - 2 * (s - a) / ((n - 1) * m)
    drop_y = exx + (sy - 2 * ry) / ((m - 1) * (m - 2)) - 2 * (s - b) / (n * (m - 1))
    var = ((n - 1) / n * (drop_x - drop_x.mean()).square().sum()
           + (m - 1) / m * (drop_y - drop_y.mean()).square().sum())
    return KernelDistance(float(value), float(var.sqrt()), kernel, scales, n, m)


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
        order = torch.randperm(self.data.shape[0], generator=self.gen, device=self.data.device)
        for batch in order.split(self.batch_size):
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
    return run_epochs(_FeatureTrainer(net, x, labels.long().to(x.device), batch_size, lr, seed), epochs,
                      progress=progress)
