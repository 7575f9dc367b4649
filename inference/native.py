r"""Native CPU kernels of the fused RBM step (``inference/csrc/rbm_kernels.c``).

The C source is compiled on first use with the system's C compiler (``$CC`` or ``cc``)
for the machine it runs on (``-O3 -march=native``, OpenMP when available; set
``PGM_NATIVE_CFLAGS`` to replace those two, e.g. ``"-march=x86-64-v3 -fopenmp"`` for a
cache shared by different machines), cached under ``$PGM_NATIVE_CACHE`` (default
``$XDG_CACHE_HOME/pgm-deepgen`` or ``~/.cache/pgm-deepgen``), checked against Philox's
published known-answer vectors and loaded with :mod:`ctypes`. OpenMP regions run on the
OpenMP runtime torch already loaded, so the kernels share torch's threads. When no
compiler works, or ``PGM_NATIVE=0`` is set, :func:`load` returns ``None`` and the
training code keeps its pure-torch path; :func:`status` says why.

What the kernels compute (float32, C-contiguous, on CPU):

- :meth:`Kernels.logistic_bernoulli`: :math:`p = \sigma(x + b)`, ``x ← scale · p``,
  optionally ``sample ← 1{u < p}`` and running column sums, in one pass;
- :meth:`Kernels.bernoulli`: the same draw from given probabilities;
- :meth:`Kernels.column_sum`: ``colsum ← β colsum + w Σ_rows a``;
- :meth:`Kernels.gather_rows`: ``out ← data[index]`` with the same optional column sums;
- :meth:`Kernels.uniform` and :meth:`Kernels.philox`: the random numbers themselves.

Uniforms come from Philox4x32-10 (Salmon et al., 2011), a counter-based generator: the
uniform of element (r, j) of a draw is a function of (key, stream, r, j) only (23
random bits, the midpoints of a grid of width 2⁻²³ inside (0, 1), so a Bernoulli
probability is effectively rounded by at most 2⁻²⁴, float32 ``torch.rand``'s
resolution), and results do not depend on the thread count. Keys are drawn from the
caller's ``torch.Generator``, which keeps runs reproducible and resumable; they are
different random numbers from the pure-torch path's, so the two paths agree in
distribution, not draw for draw.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

__all__ = ["Kernels", "load", "available", "status", "SOURCE"]

#: The C source of the kernels.
SOURCE = Path(__file__).with_name("csrc") / "rbm_kernels.c"

_BASE = ["-O3", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]
# Tried in order: the first set the compiler accepts is used.
_FLAG_SETS = (
    ["-march=native", "-mprefer-vector-width=512", "-fopenmp"],
    ["-march=native", "-fopenmp"],
    ["-fopenmp"],
    ["-march=native"],
    [],
)

_c_float, _c_i64, _c_u64, _c_int, _ptr = ctypes.c_float, ctypes.c_int64, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p
_SIGNATURES = {
    "pgm_logistic_bernoulli": [_ptr, _ptr, _c_i64, _c_i64, _c_float, _ptr, _c_u64, _c_u64, _ptr, _c_float, _c_float,
                               _c_int, _c_int],
    "pgm_bernoulli": [_ptr, _ptr, _c_i64, _c_i64, _c_u64, _c_u64, _ptr, _c_float, _c_float, _c_int],
    "pgm_uniform": [_ptr, _c_i64, _c_i64, _c_u64, _c_u64],
    "pgm_column_sum": [_ptr, _c_i64, _c_i64, _ptr, _c_float, _c_float, _c_int],
    "pgm_gather_rows": [_ptr, _ptr, _c_i64, _c_i64, _ptr, _ptr, _c_float, _c_float, _c_int],
    "pgm_philox4x32_10": [_ptr, _ptr, _ptr],
}

# Random123's published known-answer vectors of Philox4x32-10: (counter, key, output).
_PHILOX_KAT = (
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
)


def _check(t, name, rows=None, cols=None):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype != torch.float32 or t.device.type != "cpu" or not t.is_contiguous():
        raise ValueError(f"{name} must be a contiguous float32 CPU tensor, got dtype={t.dtype}, "
                         f"device={t.device}, contiguous={t.is_contiguous()}")
    if rows is not None and t.shape != (rows, cols):
        raise ValueError(f"{name} must have shape ({rows}, {cols}), got {tuple(t.shape)}")
    if rows is None and cols is not None and t.shape != (cols,):
        raise ValueError(f"{name} must have shape ({cols},), got {tuple(t.shape)}")
    return t.data_ptr()


def _matrix(t, name):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-d tensor, got shape {tuple(t.shape)}")
    return t.shape


def _key(value, name):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value & 0xFFFFFFFFFFFFFFFF


class Kernels:
    """The loaded library: checked tensor-level wrappers, and the raw ctypes functions
    (``raw_*``, taking ``data_ptr()`` integers) for hot loops that checked their buffers
    once."""

    def __init__(self, lib: ctypes.CDLL, path: Path, flags: list[str]):
        self.path, self.flags = path, flags
        self.openmp = "-fopenmp" in flags
        for name, argtypes in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = argtypes, None
            setattr(self, "raw_" + name[len("pgm_"):], fn)

    def logistic_bernoulli(self, x, bias, *, scale=1.0, sample=None, key=0, stream=0, colsum=None, beta=0.0,
                           weight=1.0, sum_samples=True, threads=None):
        """In place on ``x`` (R, C): p = σ(x + bias), x ← scale·p (unless ``sample is x``),
        ``sample`` ← 1{u < p}, ``colsum`` ← β·colsum + weight·Σ_r y with y the samples
        (``sum_samples``) or the new x. Returns ``x``."""
        rows, cols = _matrix(x, "x")
        self.raw_logistic_bernoulli(
            _check(x, "x", rows, cols), _check(bias, "bias", None, cols), rows, cols, float(scale),
            None if sample is None else _check(sample, "sample", rows, cols), _key(key, "key"), _key(stream, "stream"),
            None if colsum is None else _check(colsum, "colsum", None, cols), float(beta), float(weight),
            int(bool(sum_samples)), threads or torch.get_num_threads())
        return x

    def bernoulli(self, probs, out, *, key=0, stream=0, colsum=None, beta=0.0, weight=1.0, threads=None):
        """out ← 1{u < probs} with the uniforms of :meth:`logistic_bernoulli` (``out``
        may be ``probs``); optional column sums of ``out``. Returns ``out``."""
        rows, cols = _matrix(probs, "probs")
        self.raw_bernoulli(_check(probs, "probs", rows, cols), _check(out, "out", rows, cols), rows, cols,
                           _key(key, "key"), _key(stream, "stream"),
                           None if colsum is None else _check(colsum, "colsum", None, cols), float(beta),
                           float(weight), threads or torch.get_num_threads())
        return out

    def column_sum(self, a, colsum, *, beta=0.0, weight=1.0, threads=None):
        """colsum ← β·colsum + weight·Σ_rows a. Returns ``colsum``."""
        rows, cols = _matrix(a, "a")
        self.raw_column_sum(_check(a, "a", rows, cols), rows, cols, _check(colsum, "colsum", None, cols),
                            float(beta), float(weight), threads or torch.get_num_threads())
        return colsum

    def gather_rows(self, data, index, out, *, colsum=None, beta=0.0, weight=1.0, threads=None):
        """out ← data[index] (rows), optional ``colsum`` ← β·colsum + weight·Σ_r out.
        Returns ``out``."""
        n_data, cols = _matrix(data, "data")
        if not isinstance(index, torch.Tensor) or index.dtype != torch.int64 or index.dim() != 1:
            raise ValueError(f"index must be a 1-d int64 tensor, got {getattr(index, 'dtype', type(index).__name__)}")
        index = index.contiguous()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n_data):
            raise ValueError(f"index must lie in [0, {n_data}), got values in "
                             f"[{int(index.min())}, {int(index.max())}]")
        rows = index.shape[0]
        self.raw_gather_rows(_check(data, "data", n_data, cols), index.data_ptr(), rows, cols,
                             _check(out, "out", rows, cols),
                             None if colsum is None else _check(colsum, "colsum", None, cols), float(beta),
                             float(weight), threads or torch.get_num_threads())
        return out

    def uniform(self, rows: int, cols: int, *, key=0, stream=0) -> torch.Tensor:
        """The (rows, cols) uniforms in (0, 1) that a draw with ``key``, ``stream`` uses."""
        out = torch.empty(rows, cols)
        self.raw_uniform(out.data_ptr(), rows, cols, _key(key, "key"), _key(stream, "stream"))
        return out

    def philox(self, counter, key) -> tuple:
        """One Philox4x32-10 block: four 32-bit words from a 4-word counter and 2-word key."""
        ctr = (ctypes.c_uint32 * 4)(*counter)
        k = (ctypes.c_uint32 * 2)(*key)
        out = (ctypes.c_uint32 * 4)()
        self.raw_philox4x32_10(ctypes.addressof(ctr), ctypes.addressof(k), ctypes.addressof(out))
        return tuple(out)


_lock = threading.Lock()
_state: dict = {}


def _cache_dir() -> Path:
    env = os.environ.get("PGM_NATIVE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pgm-deepgen"


def _compiler():
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc) or shutil.which("gcc")


def _compile(cc: str, folder: Path):
    """Compile with the first accepted flag set; returns (path, flags) or raises OSError."""
    source = SOURCE.read_bytes()
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60).stdout
    errors = []
    custom = os.environ.get("PGM_NATIVE_CFLAGS")
    for extra in ([custom.split()] if custom is not None else _FLAG_SETS):
        flags = _BASE + extra
        tag = hashlib.sha256(b"\0".join([source, " ".join(flags).encode(), version.encode(),
                                         platform.machine().encode(), platform.node().encode()])).hexdigest()[:16]
        path = folder / f"rbm_kernels-{tag}.so"
        if path.exists():
            return path, flags
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=folder)
        os.close(fd)
        proc = subprocess.run([cc, *flags, "-o", tmp, str(SOURCE)], capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            os.replace(tmp, path)  # atomic: concurrent builders each write a complete file
            return path, flags
        os.unlink(tmp)
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        errors.append(f"{' '.join(extra) or '(no extra flags)'}: {last[0]}")
    raise OSError("compilation failed: " + "; ".join(errors))


def _self_test(kernels: Kernels) -> None:
    for counter, key, expected in _PHILOX_KAT:
        got = kernels.philox(counter, key)
        if got != expected:
            raise OSError(f"Philox4x32-10 known-answer test failed: {counter}, {key} gave "
                          f"{[hex(w) for w in got]}, expected {[hex(w) for w in expected]}")


def load() -> Kernels | None:
    """The kernels, compiled and loaded on the first call (then cached); ``None`` when
    they cannot be had here (see :func:`status`)."""
    with _lock:
        if "kernels" in _state:
            return _state["kernels"]
        kernels, reason = None, None
        if os.environ.get("PGM_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
            reason = "disabled by PGM_NATIVE"
        elif (cc := _compiler()) is None:
            reason = "no C compiler found (set CC)"
        else:
            try:
                path, flags = _compile(cc, _cache_dir())
                kernels = Kernels(ctypes.CDLL(str(path)), path, flags)
                _self_test(kernels)
                reason = f"loaded {path} ({' '.join(flags)})"
            except (OSError, subprocess.SubprocessError) as err:
                kernels, reason = None, f"unavailable: {err}"
        _state["kernels"], _state["reason"] = kernels, reason
        return kernels


def available() -> bool:
    """Whether the native kernels load on this machine."""
    return load() is not None


def status() -> str:
    """Where the kernels were loaded from, or why they are not used."""
    load()
    return _state["reason"]


def _reset() -> None:
    """Forget the loaded library (tests)."""
    with _lock:
        _state.clear()
