r"""Walking in the latent space of a decoder x = G(z), z ~ N(0, I), and arithmetic on it.

* :func:`interpolate` — points between two latent vectors: linear, (1 − t) z₀ + t z₁, or
  spherical (slerp), sin((1 − t)θ)/sin θ · z₀ + sin(tθ)/sin θ · z₁ with θ the angle between
  them, which keeps the path at the norms typical of a Gaussian prior (a linear path through
  a high-dimensional N(0, I) passes near the origin, where the prior has little mass);
* :func:`latent_walks` — rows of decoded interpolations between random latent pairs;
* :func:`class_means` — the mean latent vector of each class, from the classes a
  classifier assigns to decoded samples (an unconditional model) — Radford et al.'s
  "vector arithmetic" averages latents of samples sharing a property;
* :func:`arithmetic` — G(z_a − z_b + z_c) for triples of latent vectors;
* :func:`transfer_rates` — how often the arithmetic does what it says: a sample of class b
  moved by the concept vector m_a − m_b (Radford et al.'s "smiling woman − neutral woman +
  neutral man", with class means as the concepts) is classified as a, against the same
  move in a random direction of the same length;
* :func:`plot_latent_walks`, :func:`plot_arithmetic` — the pictures.

A *decoder model* here is anything with ``n_latent`` and ``sample(n, generator=None, y=None,
z=None)`` returning G(z) as rows (the GAN, DCGAN and GMMN models, and any model following
that interface).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from pgm.checks import check_capable, check_choice, check_int
from pgm.plots._common import new_figure, save
from pgm.plots.images import check_image_shape, tile

__all__ = ["KINDS", "interpolate", "latent_walks", "class_means", "arithmetic", "TransferRates", "transfer_rates",
           "plot_latent_walks", "plot_arithmetic"]

#: Interpolation paths.
KINDS = ("linear", "spherical")
DECODER = ("n_latent", "sample")


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, kind: str = "spherical") -> torch.Tensor:
    """``steps`` points from ``z0`` to ``z1`` (both ends included), shape (..., steps, d) for
    z0, z1 of shape (..., d); ``kind`` "linear" or "spherical" (module docstring). Where the
    two vectors are (anti)parallel, slerp is undefined and the linear path is used."""
    steps = check_int(steps, "steps", 2, "interpolate")
    check_choice(kind, "kind", KINDS, "interpolate")
    if not isinstance(z0, torch.Tensor) or not isinstance(z1, torch.Tensor) or z0.shape != z1.shape \
            or z0.dim() == 0:
        raise ValueError(f"interpolate: z0 and z1 must be tensors of one shape (..., d), got "
                         f"{getattr(z0, 'shape', type(z0).__name__)} and {getattr(z1, 'shape', type(z1).__name__)}")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device).view(*([1] * (z0.dim() - 1)), steps, 1)
    a, b = z0.unsqueeze(-2), z1.unsqueeze(-2)
    linear = (1 - t) * a + t * b
    if kind == "linear":
        return linear
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True)).clamp_min(
        1e-12)
    theta = torch.arccos(cos.clamp(-1, 1))
    sin = torch.sin(theta)
    ok = sin.abs() > 1e-6
    safe = torch.where(ok, sin, torch.ones_like(sin))
    slerp = torch.sin((1 - t) * theta) / safe * a + torch.sin(t * theta) / safe * b
    return torch.where(ok, slerp, linear)


@torch.no_grad()
def latent_walks(model, n_rows: int = 6, steps: int = 10, generator=None, kind: str = "spherical",
                 y=None) -> torch.Tensor:
    """Decoded walks between ``n_rows`` random pairs z₀, z₁ ~ N(0, I): shape (n_rows, steps,
    n_visible); ``y`` (ints, (n_rows,)) fixes a conditional model's class along each row."""
    check_capable(model, DECODER, "latent_walks", "a decoder model with n_latent and sample(n, ..., z=...)")
    n_rows = check_int(n_rows, "n_rows", 1, "latent_walks")
    dtype = next(model.parameters()).dtype
    ends = torch.randn(2, n_rows, model.n_latent, generator=generator, dtype=dtype)
    z = interpolate(ends[0], ends[1], steps, kind).reshape(-1, model.n_latent)
    labels = None if y is None else torch.as_tensor(y).repeat_interleave(steps)
    x = model.sample(z.shape[0], z=z, y=labels)
    return x.reshape(n_rows, steps, -1)


@torch.no_grad()
def class_means(model, classify, n: int = 2000, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(means, counts)``: the mean latent vector of the samples ``classify`` (rows → int
    class labels, e.g. a ``FeatureNet``'s ``predict``) assigns to each class, (K, n_latent),
    and how many samples each mean averages, (K,); a class never produced has a NaN mean."""
    z, labels, means, counts = _classified_latents(model, classify, n, generator, "class_means")
    return means, counts


def _classified_latents(model, classify, n, generator, where):
    """``n`` latent draws, the classes ``classify`` gives their samples, the class means and
    counts (a class never produced: a NaN mean)."""
    check_capable(model, DECODER, where, "a decoder model with n_latent and sample(n, ..., z=...)")
    n = check_int(n, "n", 1, where)
    if not callable(classify):
        raise TypeError(f"{where}: classify must be a callable from rows to class labels, got {classify!r}")
    dtype = next(model.parameters()).dtype
    z = torch.randn(n, model.n_latent, generator=generator, dtype=dtype)
    labels = torch.as_tensor(classify(model.sample(n, z=z))).long().reshape(-1).cpu()  # beside z, on the CPU
    if labels.shape != (n,):
        raise ValueError(f"{where}: classify must return one label per row ({n}), got shape {tuple(labels.shape)}")
    k = int(labels.max()) + 1
    counts = torch.bincount(labels, minlength=k)
    means = torch.zeros(k, model.n_latent, dtype=dtype).index_add_(0, labels, z) / counts.unsqueeze(1).to(dtype)
    return z, labels, means, counts


@torch.no_grad()
def arithmetic(model, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, y=None) -> torch.Tensor:
    """G(a − b + c) for latent vectors a, b, c of shape (n, n_latent) (or (n_latent,)),
    shape (n, n_visible)."""
    check_capable(model, DECODER, "arithmetic", "a decoder model with n_latent and sample(n, ..., z=...)")
    z = torch.stack(torch.broadcast_tensors(*(torch.as_tensor(v) for v in (a, b, c)))).reshape(3, -1, model.n_latent)
    if not bool(torch.isfinite(z).all()):
        raise ValueError("arithmetic: a, b and c must be finite (a class never produced has a NaN mean)")
    target = z[0] - z[1] + z[2]
    return model.sample(target.shape[0], z=target, y=y)


class TransferRates(NamedTuple):
    """``rates`` (K, K): entry (a, b) the fraction of samples of class b that G(z + m_a − m_b)
    turns into class a (NaN on the diagonal and where a class is missing); ``baseline`` (K, K)
    the same for z + r, r uniform on the sphere of radius ‖m_a − m_b‖; ``means`` (K, n_latent)
    and ``counts`` (K,) as :func:`class_means` gives them; ``per_pair`` samples moved per pair."""

    rates: torch.Tensor
    baseline: torch.Tensor
    means: torch.Tensor
    counts: torch.Tensor
    per_pair: int

    def mean(self) -> tuple[float, float]:
        """The mean rate and the mean baseline over the pairs that have both."""
        ok = torch.isfinite(self.rates) & torch.isfinite(self.baseline)
        return float(self.rates[ok].mean()), float(self.baseline[ok].mean())


@torch.no_grad()
def transfer_rates(model, classify, n: int = 5000, per_pair: int = 100, generator=None) -> TransferRates:
    """Class arithmetic measured. From ``n`` samples z ~ N(0, I) classified by ``classify``,
    the class means m_k (:func:`class_means`); then for each ordered pair a ≠ b, up to
    ``per_pair`` samples z of class b are moved to z + m_a − m_b and classified again. The
    baseline moves them as far in a uniformly random direction, so a rate far above it says
    the difference of means is a direction of "a-ness" in the latent space (a rate near 1:
    adding the concept vector changes the class and nothing else is needed)."""
    per_pair = check_int(per_pair, "per_pair", 1, "transfer_rates")
    z, labels, means, counts = _classified_latents(model, classify, n, generator, "transfer_rates")
    k, dtype = counts.shape[0], z.dtype
    rates = torch.full((k, k), math.nan, dtype=torch.float64)
    baseline = rates.clone()
    for b in range(k):
        zb = z[labels == b][:per_pair]
        if zb.shape[0] == 0:
            continue
        for a in range(k):
            if a == b or counts[a] == 0:
                continue
            d = means[a] - means[b]
            r = torch.randn(zb.shape, generator=generator, dtype=dtype)
            r = r / r.norm(dim=1, keepdim=True) * d.norm()
            moved = torch.as_tensor(classify(model.sample(2 * zb.shape[0], z=torch.cat([zb + d, zb + r])))).long()
            rates[a, b] = (moved[: zb.shape[0]] == a).double().mean()
            baseline[a, b] = (moved[zb.shape[0]:] == a).double().mean()
    return TransferRates(rates, baseline, means, counts, per_pair)


def plot_latent_walks(model, image_shape, n_rows: int = 6, steps: int = 10, generator=None, kind: str = "spherical",
                      y=None, path=None, title: str | None = None):
    """Rows of decoded latent walks (:func:`latent_walks`) as a picture."""
    h, w = check_image_shape(image_shape, "plot_latent_walks")
    x = latent_walks(model, n_rows, steps, generator, kind, y)
    if x.shape[-1] != h * w:
        raise ValueError(f"plot_latent_walks: image_shape {image_shape} does not hold the {x.shape[-1]} dimensions")
    return _grid(x.reshape(-1, h * w).cpu().numpy(), h, w, steps,
                 title or f"{type(model).__name__}: {kind} walks between random latent points", path)


def plot_arithmetic(model, image_shape, triples, labels=None, path=None, title: str | None = None):
    """One row per triple (z_a, z_b, z_c): G(z_a), G(z_b), G(z_c) and G(z_a − z_b + z_c);
    ``labels`` names each row's terms (e.g. ``("7", "1", "0")``)."""
    h, w = check_image_shape(image_shape, "plot_arithmetic")
    with torch.no_grad():
        return _plot_arithmetic(model, h, w, triples, labels, path, title)


def _plot_arithmetic(model, h, w, triples, labels, path, title):
    rows = []
    for a, b, c in triples:
        terms = torch.stack([torch.as_tensor(v).reshape(-1) for v in (a, b, c)])
        rows.append(torch.cat([model.sample(3, z=terms), arithmetic(model, a, b, c)]))
    x = torch.cat(rows).cpu().numpy()
    if x.shape[-1] != h * w:
        raise ValueError(f"plot_arithmetic: image_shape {image_shape} does not hold the {x.shape[-1]} dimensions")
    if labels is not None:
        extra = "; ".join(f"{a} − {b} + {c}" for a, b, c in labels)
        title = title or f"{type(model).__name__}: G(a), G(b), G(c), G(a − b + c): {extra}"
    return _grid(x, h, w, 4, title or f"{type(model).__name__}: G(a), G(b), G(c), G(a − b + c)", path)


def _grid(arr, h, w, ncols, title, path):
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    canvas = tile((arr - lo) / (hi - lo) if hi > lo else arr, h, w, ncols)
    nrows = math.ceil(arr.shape[0] / ncols)
    fig = new_figure((max(2.0, 0.6 * ncols), max(2.0, 0.6 * nrows)))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    save(fig, path)
    return fig
