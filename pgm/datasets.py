"""Small binary and grey-level image data sets for tests, tutorials and benchmarks.

- :func:`load_digits`: scikit-learn's bundled 8x8 digits (no download);
- :func:`bars_and_stripes`: the classic bars-and-stripes toy distribution;
- :func:`load_mnist`: MNIST from IDX files already on disk (nothing is downloaded).

Images come back as float32 tensors of shape ``(n, pixels)`` with values in [0, 1] (or
exactly 0.0 / 1.0 when binarized; in [0, 1) for the dequantised digits); labels as int64
tensors of shape ``(n,)``.
"""

from __future__ import annotations

import gzip
import itertools
import os
import zlib

import numpy as np
import torch

__all__ = ["load_digits", "bars_and_stripes", "load_mnist", "DIGITS_TRAIN_SIZE"]

#: Number of the 1797 digits in the ``"train"`` split of :func:`load_digits`.
DIGITS_TRAIN_SIZE = 1438
_N_DIGITS = 1797
_DEQUANTIZE_SEED = 1  # numpy.random.RandomState seed of the dequantisation noise


def _check_bool(value, name: str, func: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check_split(split, allowed: tuple[str, ...], func: str) -> str:
    if split not in allowed:
        raise ValueError(f"{func}: split must be one of {', '.join(map(repr, allowed))}, got {split!r}")
    return split


def load_digits(binarize: bool = True, split: str = "train", return_labels: bool = False, *,
                dequantize: bool = False):
    r"""The 8x8 handwritten digits bundled with scikit-learn, as a torch tensor.

    Pixels (0..16 in the source) are scaled to ``pixel / 16`` in [0, 1]; with
    ``binarize`` they become ``1.0`` where ``pixel >= 8`` and ``0.0`` elsewhere; with
    ``dequantize`` (and ``binarize=False``) they become continuous values

    .. math::

        x = (\text{pixel} + u) / 17, \qquad u \sim U[0, 1),

    in [0, 1), with ``u = numpy.random.RandomState(1).rand(1797, 64)`` drawn for the
    digits in their original order, before the split. The noise is fixed, so every split
    of every call holds the same values, and densities (nats per image, on the scale of
    ``x``) compare across models and libraries. A density q on the dequantised values
    bounds the discrete log-likelihood: log P(pixels) ≥ E_u[log q(x)] − 64 log 17.

    The split is fixed: ``numpy.random.RandomState(0).permutation(1797)`` puts its first
    1438 indices in ``"train"`` and its last 359 in ``"test"`` (in permutation order);
    ``"all"`` is all 1797 digits in their original order.

    Parameters
    ----------
    binarize : bool, default True
        Threshold the pixels at half intensity.
    split : {"train", "test", "all"}, default "train"
    return_labels : bool, default False
        Also return the digit classes.
    dequantize : bool, default False
        Return the dequantised values (pixel + u) / 17 instead of pixel / 16; needs
        ``binarize=False``.

    Returns
    -------
    x : torch.Tensor, float32, shape (n, 64)
        Row-major 8x8 images; n is 1438, 359 or 1797.
    y : torch.Tensor, int64, shape (n,)
        Digit classes 0..9; only when ``return_labels``.

    Raises
    ------
    ValueError
        If ``split`` is not one of the three names, or ``dequantize`` is combined with
        ``binarize=True``.
    TypeError
        If a flag is not a bool.

    Examples
    --------
    >>> x, y = load_digits(split="test", return_labels=True)
    >>> x.shape, x.dtype, y.shape
    (torch.Size([359, 64]), torch.float32, torch.Size([359]))
    >>> x = load_digits(binarize=False, dequantize=True)
    >>> bool((x > 0).all() and (x < 1).all())
    True
    """
    binarize = _check_bool(binarize, "binarize", "load_digits")
    return_labels = _check_bool(return_labels, "return_labels", "load_digits")
    dequantize = _check_bool(dequantize, "dequantize", "load_digits")
    _check_split(split, ("train", "test", "all"), "load_digits")
    if dequantize and binarize:
        raise ValueError(
            "load_digits: dequantize=True adds continuous noise to the grey levels, but "
            "binarize=True asks for binary pixels; pass binarize=False with dequantize=True"
        )
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    pixels = np.asarray(bunch.data, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    if pixels.shape != (_N_DIGITS, 64):  # pragma: no cover - guards a changed sklearn
        raise RuntimeError(f"load_digits: expected scikit-learn digits of shape (1797, 64), got {pixels.shape}")
    if dequantize:  # the noise belongs to the original order, drawn before the split
        pixels = pixels + np.random.RandomState(_DEQUANTIZE_SEED).rand(_N_DIGITS, 64)
    if split == "all":
        index = np.arange(_N_DIGITS)
    else:
        perm = np.random.RandomState(0).permutation(_N_DIGITS)
        index = perm[:DIGITS_TRAIN_SIZE] if split == "train" else perm[DIGITS_TRAIN_SIZE:]
    pixels, labels = pixels[index], labels[index]
    if binarize:
        x = (pixels >= 8).astype(np.float32)
    elif dequantize:
        x = (pixels / 17.0).astype(np.float32)
    else:
        x = (pixels / 16.0).astype(np.float32)
    x = torch.from_numpy(np.ascontiguousarray(x))
    if return_labels:
        return x, torch.from_numpy(np.ascontiguousarray(labels))
    return x


def bars_and_stripes(side: int) -> torch.Tensor:
    """All distinct bars-and-stripes images of ``side`` x ``side`` pixels.

    A *stripes* image switches whole rows on or off, a *bars* image whole columns. Each
    family has ``2**side`` members, but the all-off and all-on images belong to both and
    are kept once, so there are ``2**(side + 1) - 2`` distinct images (14 for ``side=3``).
    Order: the ``2**side`` stripes images, row ``i`` on iff bit ``i`` of ``k`` is set, for
    ``k = 0 .. 2**side - 1``; then the bars images in the same order, without the all-off
    and all-on ones.

    Parameters
    ----------
    side : int
        Image side length, at least 1.

    Returns
    -------
    torch.Tensor, float32, shape (2**(side + 1) - 2, side * side)
        Row-major images with values 0.0 and 1.0.

    Examples
    --------
    >>> bars_and_stripes(3).shape
    torch.Size([14, 9])
    """
    if not isinstance(side, (int, np.integer)) or isinstance(side, (bool, np.bool_)):
        raise TypeError(f"bars_and_stripes: side must be an int, got {type(side).__name__}")
    if side < 1:
        raise ValueError(f"bars_and_stripes: side must be >= 1, got {side}")
    side = int(side)
    bits = np.array(list(itertools.product((0, 1), repeat=side)), dtype=np.float32)[:, ::-1]
    # bits[k, i] is bit i of k.
    stripes = np.repeat(bits[:, :, None], side, axis=2)  # (2**side, row, col): rows on/off
    bars = np.repeat(bits[:, None, :], side, axis=1)[1:-1]  # columns on/off, no all-off/on
    images = np.concatenate([stripes, bars]).reshape(-1, side * side)
    return torch.from_numpy(np.ascontiguousarray(images))


# -- MNIST from IDX files ------------------------------------------------------------------

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_UBYTE = 0x08


def _find(folder: str, name: str, split: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    expected = [n for f in _MNIST_FILES[split] for n in (f, f + ".gz")]
    raise FileNotFoundError(
        f"load_mnist: no {name!r} (or {name + '.gz'!r}) in folder {folder!r}; split={split!r} "
        f"expects the files {' / '.join(expected[:2])} and {' / '.join(expected[2:])} "
        "(plain or gzipped IDX files, e.g. from the MNIST distribution)"
    )


def _read_bytes(path: str) -> bytes:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        with open(path, "rb") as fh:
            return fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"load_mnist: {path!r} is not a readable gzip file ({err})") from err


def _read_idx(path: str, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file with ``ndim`` dimensions.

    The header is two zero bytes, a type code (``0x08`` for unsigned bytes), the number
    of dimensions, then each dimension as a big-endian uint32; the data follow row-major.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"load_mnist: {path!r} is truncated: {len(raw)} bytes, shorter than the 4-byte IDX magic number")
    magic = int.from_bytes(raw[:4], "big")
    expected_magic = (_UBYTE << 8) | ndim
    if magic != expected_magic:
        raise ValueError(
            f"load_mnist: {path!r} has IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''}); is it the right "
            "(and uncompressed or .gz-named) file?"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_mnist: {path!r} is truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    n_values = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != n_values:
        state = "truncated" if len(raw) - header < n_values else "longer than its header says"
        raise ValueError(
            f"load_mnist: {path!r} is {state}: header dims {dims} need {n_values} data bytes, "
            f"found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(folder, split: str = "train", binarize: bool = False, *, dequantize: bool = False):
    """MNIST (or any data set in the same IDX layout) from files in a local folder.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``split="train"``)
    or ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (``split="test"``), each
    either plain or gzipped with a ``.gz`` suffix (the plain file wins when both exist).
    Nothing is downloaded.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder holding the IDX files.
    split : {"train", "test"}, default "train"
    binarize : bool, default False
        Return ``1.0`` where ``pixel >= 128`` and ``0.0`` elsewhere instead of
        ``pixel / 255``.
    dequantize : bool, default False
        Return continuous values x = (pixel + u) / 256 in [0, 1), u ~ U[0, 1) drawn by
        ``numpy.random.RandomState(1)`` for the training file and ``RandomState(2)`` for
        the test file (fixed, so every call holds the same values), for densities: a
        density q on them bounds the discrete log-likelihood, log P(pixels) ≥ E_u[log q(x)]
        − D log 256 (D pixels, 784 for MNIST). Needs ``binarize=False``.

    Returns
    -------
    images : torch.Tensor, float32, shape (n, rows * cols)
        Row-major images in [0, 1]; ``(60000, 784)`` / ``(10000, 784)`` for MNIST.
    labels : torch.Tensor, int64, shape (n,)

    Raises
    ------
    FileNotFoundError
        If the folder or a file is missing; the message lists the expected file names.
    ValueError
        If ``split`` is unknown, or a file has a wrong magic number, is truncated, or the
        image and label counts differ.
    """
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"load_mnist: folder must be a str or os.PathLike, got {type(folder).__name__}")
    _check_split(split, tuple(_MNIST_FILES), "load_mnist")
    binarize = _check_bool(binarize, "binarize", "load_mnist")
    dequantize = _check_bool(dequantize, "dequantize", "load_mnist")
    if dequantize and binarize:
        raise ValueError("load_mnist: dequantize=True adds continuous noise to the grey levels, but binarize=True "
                         "asks for binary pixels; pass binarize=False with dequantize=True")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        expected = ", ".join(n for f in _MNIST_FILES[split] for n in (f, f + ".gz"))
        raise FileNotFoundError(f"load_mnist: folder {folder!r} does not exist; it should hold {expected}")
    image_file, label_file = (_find(folder, name, split) for name in _MNIST_FILES[split])
    images = _read_idx(image_file, 3)
    labels = _read_idx(label_file, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"load_mnist: {image_file!r} holds {images.shape[0]} images but {label_file!r} "
            f"holds {labels.shape[0]} labels"
        )
    flat = images.reshape(images.shape[0], -1)
    if binarize:
        x = (flat >= 128).astype(np.float32)
    elif dequantize:
        u = np.random.RandomState(1 if split == "train" else 2).rand(*flat.shape)
        x = ((flat + u) / 256.0).astype(np.float32)
    else:
        x = flat.astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
