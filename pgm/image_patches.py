r"""Grey natural-image patches from the two photographs scikit-learn ships (no download).

:func:`load_patches` cuts square patches out of ``china.jpg`` and ``flower.jpg``
(:func:`sklearn.datasets.load_sample_images`, 427 × 640 pixels each), converted to grey
levels in [0, 1) after dequantising each 8-bit colour level c to (c + u) / 256, u ~ U[0, 1)
drawn per patch (ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B). Dequantising matters for
densities: large flat regions (sky, blurred background) give many patches that differ
only by a colour level or two, often exactly equal ones, on which a flexible density's
likelihood grows without bound; on dequantised values it is bounded, as for the
library's dequantised digits. The split is by
region, so no pixel of a test patch is in a training patch: in both photographs the
left three quarters of the columns give the ``"train"`` patches, the right quarter the
``"test"`` ones. Patch positions are drawn uniformly inside the region with
``numpy.random.RandomState(seed)`` (``seed + 1`` for the test split).

Each patch x ∈ ℝ^{s²} then loses its own mean (its DC component, the brightness of the
patch). With ``whiten=True`` the patches are PCA-whitened by a transform fitted on the
training patches (the same transform for both splits, whatever ``n`` or ``seed`` the test
call is given: it is always fitted on the default training draw of that patch size),

.. math::

    v = \Lambda^{-1/2} U^\top (x - \bar x), \qquad
    x = \bar x + U \Lambda^{1/2} v ,

where U (s² × k) holds the leading eigenvectors of the training covariance and Λ their
eigenvalues. Per-patch mean removal makes the covariance singular (its DC direction has
zero variance), so k = s² − 1 by default: an 8 × 8 patch becomes 63 whitened coordinates,
each of unit variance on the training patches. :class:`PatchTransform` (returned with
``return_transform=True``) maps both ways and gives the matrix U Λ^{1/2} that draws
whitened vectors (samples, filters) as pixels.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["load_patches", "PatchTransform", "PATCH_REGIONS"]

#: Fraction of each photograph's columns (from the left) in the training region.
PATCH_REGIONS = 0.75
#: ITU-R 601 luma weights of R, G and B.
_LUMA = np.array([0.299, 0.587, 0.114])
#: Number of training patches the whitening transform is fitted on.
_FIT_PATCHES = 20000


class PatchTransform(NamedTuple):
    """The PCA whitening of :func:`load_patches`, v = Λ^{−1/2} Uᵀ (x − mean).

    Attributes
    ----------
    mean : Tensor, shape (s²,)
        Mean of the (DC-removed) training patches, float64.
    components : Tensor, shape (s², k)
        U: the leading eigenvectors of their covariance, columns, float64.
    variances : Tensor, shape (k,)
        Λ: the eigenvalues, descending, float64.
    size : int
        The side s of a patch.
    """

    mean: torch.Tensor
    components: torch.Tensor
    variances: torch.Tensor
    size: int

    @property
    def dewhiten_matrix(self) -> torch.Tensor:
        """U Λ^{1/2}, shape (s², k): pixels (less the mean) of a whitened vector, x = v Mᵀ."""
        return self.components * self.variances.sqrt()

    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """Whitened coordinates of DC-removed patches x (n, s²) → (n, k), float32."""
        x = torch.as_tensor(x, dtype=torch.float64)
        return (((x - self.mean) @ self.components) / self.variances.sqrt()).float()

    def dewhiten(self, v: torch.Tensor) -> torch.Tensor:
        """Patches (pixels, DC removed) of whitened vectors v (n, k) → (n, s²), float32."""
        v = torch.as_tensor(v, dtype=torch.float64)
        return (v @ self.dewhiten_matrix.T + self.mean).float()

    @property
    def log_det(self) -> float:
        """The log-determinant of x ↦ v on the k-dimensional subspace, −½ Σ log Λ: a
        density of v is one of the DC-removed pixels plus this (nats per patch)."""
        return float(-0.5 * self.variances.log().sum())


def _check(size, n, split, whiten, seed, n_components):
    from .checks import check_int, check_seed

    size = check_int(size, "size", 2, "load_patches")
    if size > 64:
        raise ValueError(f"load_patches: size must be at most 64 pixels, got {size}")
    n = check_int(n, "n", 1, "load_patches")
    if split not in ("train", "test"):
        raise ValueError(f"load_patches: split must be 'train' or 'test', got {split!r}")
    if not isinstance(whiten, (bool, np.bool_)):
        raise TypeError(f"load_patches: whiten must be True or False, got {whiten!r}")
    seed = check_seed(seed, "load_patches")
    if seed is None:
        raise TypeError("load_patches: seed must be an int (the draw of patch positions is fixed by it), got None")
    if n_components is not None:
        n_components = check_int(n_components, "n_components", 1, "load_patches")
        if n_components > size * size - 1:
            raise ValueError(f"load_patches: n_components must be at most size² − 1 = {size * size - 1} (the "
                             f"DC-removed patches span no more), got {n_components}")
    return size, n, bool(whiten), seed, n_components


@functools.lru_cache(maxsize=1)
def _photographs() -> tuple[np.ndarray, ...]:
    """The two sample photographs, RGB levels 0..255 as float64, (427, 640, 3) each."""
    from sklearn.datasets import load_sample_images

    return tuple(np.asarray(img, dtype=np.float64) for img in load_sample_images().images)


def _cut(size: int, n: int, split: str, seed: int) -> np.ndarray:
    """``n`` dequantised, DC-removed grey patches (n, size²) from the split's regions, float64."""
    rng = np.random.RandomState(seed + (split == "test"))
    images = _photographs()
    which = rng.randint(len(images), size=n)
    out = np.empty((n, size * size))
    for i, img in enumerate(images):
        rows = np.flatnonzero(which == i)
        h, w, _ = img.shape
        cut = int(w * PATCH_REGIONS)
        lo, hi = (0, cut - size) if split == "train" else (cut, w - size)
        ys = rng.randint(0, h - size + 1, size=len(rows))
        xs = rng.randint(lo, hi + 1, size=len(rows))
        grid = np.arange(size)
        idx_y = ys[:, None, None] + grid[None, :, None]
        idx_x = xs[:, None, None] + grid[None, None, :]
        rgb = img[idx_y, idx_x] + rng.rand(len(rows), size, size, 3)  # dequantised: (level + u) / 256
        out[rows] = (rgb @ _LUMA / 256.0).reshape(len(rows), size * size)
    return out - out.mean(1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _transform(size: int, n_components: int) -> PatchTransform:
    x = _cut(size, _FIT_PATCHES, "train", 0)
    mean = x.mean(0)
    cov = np.cov(x - mean, rowvar=False)
    lam, vecs = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1][:n_components]
    return PatchTransform(torch.from_numpy(mean), torch.from_numpy(vecs[:, order].copy()),
                          torch.from_numpy(lam[order].copy()), size)


def load_patches(size: int = 8, n: int = 10000, split: str = "train", whiten: bool = True, seed: int = 0, *,
                 n_components: int | None = None, return_transform: bool = False):
    r"""Grey natural-image patches, DC removed and (by default) PCA-whitened.

    Parameters
    ----------
    size : int, default 8
        Side of a square patch, 2 to 64 pixels.
    n : int, default 10000
        Number of patches.
    split : {"train", "test"}, default "train"
        The left three quarters of each photograph's columns, or the right quarter.
    whiten : bool, default True
        PCA-whiten with the transform fitted on the training patches (module docstring);
        ``False``: the DC-removed grey levels, (n, size²).
    seed : int, default 0
        Seed of the patch positions (the test split draws with ``seed + 1``).
    n_components : int, optional
        Whitened coordinates k kept, at most size² − 1 (the default).
    return_transform : bool, default False
        Also return the :class:`PatchTransform` (with ``whiten=False`` too).

    Returns
    -------
    Tensor, shape (n, k) or (n, size²), float32
        And the transform with ``return_transform``.

    Examples
    --------
    >>> x, t = load_patches(n=500, return_transform=True)
    >>> x.shape, t.dewhiten_matrix.shape
    (torch.Size([500, 63]), torch.Size([64, 63]))
    """
    size, n, whiten, seed, n_components = _check(size, n, split, whiten, seed, n_components)
    x = _cut(size, n, split, seed)
    k = size * size - 1 if n_components is None else n_components
    transform = _transform(size, k) if (whiten or return_transform) else None
    out = transform.whiten(x) if whiten else torch.from_numpy(x).float()
    return (out, transform) if return_transform else out
