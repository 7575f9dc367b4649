"""The data specs of ``pgm`` (``--data``): loading them and checking that a model takes them."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .. import families
from .options import UsageError

#: Named data specs: name → (kind of its values, description).
DATA_SPECS = {
    "digits": ("binary", "bundled 8x8 digits binarized at half intensity"),
    "digits-grey": ("grey", "bundled digits scaled to [0, 1] (pixel / 16)"),
    "digits-real": ("real", "bundled digits dequantised, (pixel + u) / 17, for densities"),
    "digits-spin": ("spin", "binarized digits as {-1, +1} spins (2 v - 1), for Hopfield nets"),
    "digits-labels": ("binary", "binarized digits with their one-hot labels: rows [64 pixels, 10 label columns]"),
    "mnist:FOLDER": ("binary", "MNIST IDX files in FOLDER, binarized at 128"),
    "mnist-grey:FOLDER": ("grey", "MNIST IDX files in FOLDER scaled to [0, 1] (pixel / 255)"),
    "mnist-real:FOLDER": ("real", "MNIST IDX files in FOLDER dequantised, (pixel + u) / 256, for densities"),
    "mnist-labels:FOLDER": ("binary", "MNIST IDX files in FOLDER binarized, with their one-hot labels: rows "
                                      "[784 pixels, 10 label columns]"),
    "balls": ("binary", "bouncing balls: sequences of 20 binary 16x16 frames, 2 balls (200 train, 100 test)"),
    "digit-rows": ("binary", "binarized digits as sequences of their 8 rows of 8 pixels"),
    "patches": ("real", "8x8 grey natural-image patches (scikit-learn's two photographs), DC removed, PCA-whitened: "
                "63 columns; 10000 train / 2000 test"),
}

#: The named specs whose data are sequences (n_sequences, length, frame).
SEQUENCE_SPECS = ("balls", "digit-rows")

#: Data kinds each visible kind accepts for training (grey levels are probabilities for
#: binary units) and, in ``_EXACT``, for a likelihood (outcomes only).
_ACCEPTS = {
    "bernoulli": ("binary", "grey"),
    "binary_pm1": ("spin",),
    "spin": ("spin", "binary", "grey"),  # stored as patterns: {0, 1} and grey levels binarized at 1/2 to ±1
    "gaussian": ("real", "grey"),
    "real": ("real", "grey"),
}
_EXACT = {**_ACCEPTS, "bernoulli": ("binary",), "spin": ("spin",)}
_KIND_WORDS = {"binary": "binary {0, 1} data", "grey": "grey levels in [0, 1]", "spin": "{-1, +1} data",
               "real": "real-valued data"}

# -- data -------------------------------------------------------------------------------

def _read_array(path: Path) -> torch.Tensor:
    """The 2-D array of finite numbers in a ``.pt``/``.npy`` file, as float32."""
    want = "a 2-D array (n_examples, n_visible) of finite numbers"
    if path.is_dir():
        raise ValueError(f"--data {path} is a folder, expected a .pt or .npy file holding {want}")
    if not path.exists():
        raise FileNotFoundError(f"--data {path}: no such file (expected a .pt or .npy file holding {want})")
    if path.suffix.lower() == ".pt":
        try:
            x = torch.load(path, map_location="cpu", weights_only=True)
        except OSError:  # a file that exists but cannot be read: said as it is
            raise
        except Exception as err:  # unpickling and zip errors of every kind
            text = str(err)
            refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            if refused:
                raise ValueError(f"--data {path} holds a {refused.group(1)} object, which a weights-only torch.load "
                                 f"refuses; expected a tensor: {want} (save torch.as_tensor(x))") from None
            inner = re.search(r"WeightsUnpickler error:(.*)", text, re.S)
            lines = [line.strip() for line in (inner.group(1) if inner else text).splitlines() if line.strip()]
            reason = f"{type(err).__name__}: {lines[0].split('. ')[0][:120]}" if lines else type(err).__name__
            raise ValueError(f"--data {path}: torch.load cannot read it ({reason}); it is truncated, corrupted or "
                             f"not written by torch.save; expected {want}") from None
        if not isinstance(x, torch.Tensor):
            keys = f" (keys {', '.join(map(repr, list(x)[:5]))})" if isinstance(x, dict) else ""
            raise ValueError(f"--data {path} holds a {type(x).__name__}{keys}, expected a tensor: {want}")
        if x.layout != torch.strided:
            raise ValueError(f"--data {path} holds a {x.layout} tensor, expected a dense one: {want}")
    else:
        import numpy as np

        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as err:
            what = "an object array" if "Object arrays" in str(err) else "no .npy array"
            raise ValueError(f"--data {path} holds {what} (pickles are not read), expected {want}") from None
        except EOFError as err:
            raise ValueError(f"--data {path}: numpy cannot read it ({err}), expected {want}") from None
        if not isinstance(arr, np.ndarray):
            arr.close()
            raise ValueError(f"--data {path} is an .npz archive, expected one array: {want}")
        if arr.dtype.kind not in "biuf":
            names = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers"}
            raise ValueError(f"--data {path} holds {names.get(arr.dtype.kind, f'dtype {arr.dtype}')}, expected {want}")
        x = torch.from_numpy(arr.astype(np.float32))
    if x.is_complex():
        raise ValueError(f"--data {path} holds complex numbers, expected {want}")
    if x.ndim != 2:
        raise ValueError(f"--data {path} holds a {x.ndim}-D array of shape {tuple(x.shape)}, expected {want} "
                         "(flatten images with x.reshape(len(x), -1))")
    if x.numel() == 0:
        raise ValueError(f"--data {path} holds an empty array of shape {tuple(x.shape)}, expected {want}")
    x = x.to(torch.float32).contiguous()
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"--data {path} holds {bad} NaN or infinite values, expected {want}")
    return x


def load_data(spec: str, split: str = "train") -> torch.Tensor:
    """Data named on the command line, as a float32 tensor (n, n_visible).

    ``digits`` (binarized bundled digits), ``digits-grey`` (scaled to [0, 1]),
    ``digits-real`` (dequantised, ``load_digits(binarize=False, dequantize=True)``),
    ``digits-spin`` (binarized, mapped to {−1, +1} by 2v − 1), ``digits-labels`` (binarized, each row followed by its one-hot label: 74 columns),
    ``mnist:FOLDER`` (IDX files, binarized at 128; ``split="all"`` joins train and test),
    ``mnist-grey:FOLDER``, ``mnist-real:FOLDER``, ``mnist-labels:FOLDER`` (the same files as
    the digits' variants: grey levels, dequantised, binarized with one-hot labels),
    ``patches`` (whitened 8 × 8 natural-image patches, :func:`pgm.load_patches`),
    or a ``.pt`` file (read with ``weights_only=True``) or ``.npy`` file (no pickles)
    holding a non-empty 2-D array of finite numbers (``split`` is then ignored).

    Raises
    ------
    UsageError
        ``spec`` names none of these.
    FileNotFoundError
        The file, the MNIST folder or one of its files does not exist.
    ValueError
        The file cannot be read or does not hold such an array.
    """
    from pgm import datasets

    if spec == "digits":
        return datasets.load_digits(binarize=True, split=split)
    if spec == "digits-grey":
        return datasets.load_digits(binarize=False, split=split)
    if spec == "digits-real":
        return datasets.load_digits(binarize=False, dequantize=True, split=split)
    if spec == "digits-spin":
        return 2 * datasets.load_digits(binarize=True, split=split) - 1
    if spec == "digits-labels":
        v, y = datasets.load_digits(binarize=True, split=split, return_labels=True)
        return torch.cat([v, torch.nn.functional.one_hot(y, 10).to(v.dtype)], 1)
    if spec in SEQUENCE_SPECS:
        return _load_sequences(spec, split)
    if spec == "patches":
        from pgm.image_patches import load_patches

        if split == "all":
            return torch.cat([load_patches(n=10000), load_patches(n=2000, split="test")])
        return load_patches(n=10000 if split == "train" else 2000, split=split)
    variant = _mnist_variant(spec)
    if variant is not None:
        folder = spec[len(variant) + 1:]
        if not folder:
            raise UsageError(f"--data {variant}: needs a folder, e.g. --data {variant}:data/mnist")
        splits = ("train", "test") if split == "all" else (split,)
        return torch.cat([_load_mnist(variant, folder, s) for s in splits])
    path = Path(spec)
    if path.suffix.lower() in (".pt", ".npy"):
        return _read_array(path)
    hint = " (a folder: for MNIST IDX files in it use --data mnist:FOLDER)" if path.is_dir() else ""
    raise UsageError(f"--data {spec!r} not understood{hint}: use 'digits', 'digits-grey', 'digits-real', "
                     "'digits-spin', 'digits-labels', 'mnist:FOLDER' (or mnist-grey:, mnist-real:, mnist-labels:), "
                     "'balls', 'digit-rows', 'patches' or a .pt/.npy file holding a 2-D array")


#: The MNIST specs ``VARIANT:FOLDER``.
_MNIST_VARIANTS = ("mnist", "mnist-grey", "mnist-real", "mnist-labels")


def _mnist_variant(spec: str) -> str | None:
    """``"mnist"``, ``"mnist-grey"``... where ``spec`` is ``VARIANT:FOLDER``, else None."""
    head = spec.split(":", 1)[0]
    return head if ":" in spec and head in _MNIST_VARIANTS else None


def _load_mnist(variant: str, folder: str, split: str) -> torch.Tensor:
    from pgm import datasets

    if variant == "mnist-grey":
        return datasets.load_mnist(folder, split=split)[0]
    if variant == "mnist-real":
        return datasets.load_mnist(folder, split=split, dequantize=True)[0]
    x, y = datasets.load_mnist(folder, split=split, binarize=True)
    if variant == "mnist-labels":
        return torch.cat([x, torch.nn.functional.one_hot(y, 10).to(x.dtype)], 1)
    return x


def _load_sequences(spec: str, split: str) -> torch.Tensor:
    """The sequence specs: ``balls`` (:func:`pgm.sequences.bouncing_balls`, 200 training
    sequences of seed 0, 100 test sequences of seed 1) and ``digit-rows``
    (:func:`pgm.sequences.digit_row_sequences`), (n_sequences, length, frame)."""
    from pgm import sequences

    if spec == "digit-rows":
        return sequences.digit_row_sequences(split)
    parts = {"train": (200, 0), "test": (100, 1)}
    chosen = ("train", "test") if split == "all" else (split,)
    return torch.cat([sequences.bouncing_balls(parts[s][0], 20, seed=parts[s][1]) for s in chosen])


def check_data_shape(family, spec: str, data: torch.Tensor, option: str = "--data") -> None:
    """Refuse sequences (n, length, frame) for a family that takes rows, and rows for one
    that takes sequences (UsageError naming the families that take them)."""
    if bool(family.sequences) == (data.dim() == 3):
        return
    if data.dim() == 3:
        takers = [f.name for f in families.families() if f.sequences]
        raise UsageError(f"{option} {spec} holds sequences {tuple(data.shape)} (n_sequences, length, frame), but the "
                         f"{family.name} model takes rows; use a sequence model ({', '.join(takers)}) or row data "
                         f"such as --data digits")
    raise UsageError(f"{option} {spec} holds rows {tuple(data.shape)}, but the {family.name} model takes sequences "
                     f"(n_sequences, length, frame); use --data {' or '.join(SEQUENCE_SPECS)}")


def _has_splits(spec: str) -> bool:
    return spec in DATA_SPECS or _mnist_variant(spec) is not None


def data_kind(spec: str, data: torch.Tensor) -> str:
    """``"binary"``, ``"grey"``, ``"spin"`` or ``"real"``: the kind of the data ``spec``
    names (declared for named specs, read from the values of a file)."""
    variant = _mnist_variant(spec)
    if variant is not None:
        return DATA_SPECS[f"{variant}:FOLDER"][0]
    if spec in DATA_SPECS:
        return DATA_SPECS[spec][0]
    if bool(((data == 0) | (data == 1)).all()):
        return "binary"
    if bool(((data == -1) | (data == 1)).all()):
        return "spin"
    if bool(((data >= 0) & (data <= 1)).all()):
        return "grey"
    return "real"


def _check_data_kind(model_name: str, visible_kind: str, spec: str, data, exact: bool, option: str = "") -> None:
    """Refuse data whose kind the model's visible units do not take (UsageError)."""
    accepts = (_EXACT if exact else _ACCEPTS).get(visible_kind)
    if accepts is None:  # a user model of a kind this table does not know: the library checks
        return
    kind = data_kind(spec, data)
    if kind in accepts:
        return
    fits = [name for name, (k, _) in DATA_SPECS.items() if k in accepts]
    table = _EXACT if exact else _ACCEPTS
    others = [e.name for e in families.families() if e.name != model_name and kind in table.get(e.visible_kind, ())]
    hint = f"use --data {' or '.join(fits)}" if fits else "use data of that kind"
    if others:
        hint += f", or a model for {_KIND_WORDS[kind]}: {', '.join(others)}"
    wants = " or ".join(_KIND_WORDS[k] for k in accepts)
    raise UsageError(f"{option}--data {spec} holds {_KIND_WORDS[kind]}, but the {model_name} model has "
                     f"{visible_kind} visible units, which need {wants}; {hint}")
