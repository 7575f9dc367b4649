r"""Native CPU kernels of the fused RBM step (``inference/backends/rbm/csrc/``).

The C sources are compiled on first use with the system's C compiler (``$CC`` or ``cc``)
for the machine it runs on (``-O3 -march=native`` on x86-64, ``-mcpu=native`` on ARM,
and OpenMP; set ``PGM_NATIVE_CFLAGS`` to replace the machine and OpenMP flags, e.g.
``"-march=x86-64-v3 -fopenmp"`` for a cache shared by different machines), cached under
``$PGM_NATIVE_CACHE`` (default ``$XDG_CACHE_HOME/pgm-deepgen`` or
``~/.cache/pgm-deepgen``), checked against Philox's published known-answer vectors and
loaded with :mod:`ctypes`. A build gets one attempt of at most a minute (and one more
without OpenMP, with a warning, where the compiler lacks it); a failure is cached so that
later processes do not try again, and training keeps its torch path. OpenMP regions run
on the OpenMP runtime torch already loaded, so the kernels share torch's threads and its
wait policy (``OMP_WAIT_POLICY=passive`` before starting Python makes idle threads sleep
at once; the library runs small problems on one thread, :mod:`inference.threads`). When
no compiler works, or ``PGM_NATIVE=0`` is set, :func:`load` returns ``None``;
:func:`status` says why.

What the kernels compute (float32, C-contiguous, on CPU):

- :meth:`Kernels.logistic_bernoulli`: :math:`p = \sigma(x + b)`, ``x ← scale · p``,
  optionally ``sample ← 1{u < p}`` and running column sums, in one pass;
- :meth:`Kernels.bernoulli`: the same draw from given probabilities;
- :meth:`Kernels.column_sum`: ``colsum ← μ colsum + w Σ_rows a``;
- :meth:`Kernels.gather_rows`: ``out ← data[index]`` with the same optional column sums;
- :meth:`Kernels.uniform` and :meth:`Kernels.philox`: the random numbers themselves;
- ``pgm_rbm_step`` (``rbm_step.c``, driven by :mod:`inference.backends.rbm.whole_step`): a whole CD-k
  or PCD-k step, GEMMs included, in one OpenMP region. It calls the BLAS ``sgemm`` that
  torch carries (MKL builds of torch), one thread per call on a fixed share of the
  weight matrix, so each core keeps its rows of W and of the momentum buffer in its own
  cache; available when :attr:`Kernels.step_status` says so (``PGM_NATIVE_STEP=0``
  turns it off and keeps the per-pass kernels with torch GEMMs).

Uniforms come from Philox4x32-10 (Salmon et al., 2011), a counter-based generator: the
uniform of element (r, j) of a draw is a function of (key, stream, r, j) only (23
random bits, the midpoints of a grid of width 2⁻²³ inside (0, 1), so a Bernoulli
probability is effectively rounded by at most 2⁻²⁴, float32 ``torch.rand``'s
resolution), and the per-pass kernels' results do not depend on the thread count (the
whole-step kernel's GEMM split does, at the level of float32 rounding). Keys are drawn from the
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

__all__ = ["Kernels", "load", "available", "status", "SOURCES"]

_CSRC = Path(__file__).with_name("csrc")
#: The C sources of the kernels (compiled together), and the header they share.
SOURCES = (_CSRC / "rbm_kernels.c", _CSRC / "rbm_step.c")
HEADERS = (_CSRC / "rbm_common.h",)

_BASE = ["-O3", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]
#: Seconds a compilation may take before it counts as failed.
COMPILE_TIMEOUT = 60


def _machine_flags() -> list[str]:
    """Flags that target the machine the kernels run on."""
    arch = platform.machine().lower()
    if arch in ("x86_64", "amd64"):
        return ["-march=native", "-mprefer-vector-width=512"]
    if arch in ("arm64", "aarch64"):
        return ["-mcpu=native"]
    return []


_c_float, _c_i64, _c_u64, _c_int, _ptr = ctypes.c_float, ctypes.c_int64, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p
# functions returning a status (0, or 1 + the position of an index out of range)
_RETURNS_STATUS = ("pgm_gather_rows", "pgm_rbm_step")
_SIGNATURES = {
    "pgm_logistic_bernoulli": [_ptr, _ptr, _c_i64, _c_i64, _c_float, _ptr, _c_u64, _c_u64, _ptr, _c_float, _c_float,
                               _c_int, _c_int],
    "pgm_bernoulli": [_ptr, _ptr, _c_i64, _c_i64, _c_u64, _c_u64, _ptr, _c_float, _c_float, _c_int],
    "pgm_uniform": [_ptr, _c_i64, _c_i64, _c_u64, _c_u64],
    "pgm_column_sum": [_ptr, _c_i64, _c_i64, _ptr, _c_float, _c_float, _c_int],
    "pgm_gather_rows": [_ptr, _c_i64, _ptr, _c_i64, _c_i64, _ptr, _ptr, _c_float, _c_float, _c_int],
    "pgm_philox4x32_10": [_ptr, _ptr, _ptr],
    "pgm_rbm_step": [_ptr],
    "pgm_gemm": [_ptr, _c_int, _c_int, _c_i64, _c_i64, _c_i64, _ptr, _c_i64, _ptr, _c_i64, _c_float, _ptr, _c_i64],
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


def index_error(index, status, n_rows) -> ValueError:
    """The error for a kernel's status ``status`` = 1 + the position of an index outside [0, n_rows)."""
    pos = int(status) - 1
    return ValueError(f"index must lie in [0, {n_rows}), got {int(index[pos])} at position {pos}")


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
            fn.argtypes, fn.restype = argtypes, (_c_i64 if name in _RETURNS_STATUS else None)
            setattr(self, "raw_" + name[len("pgm_"):], fn)
        #: Addresses of torch's BLAS ``sgemm`` and MKL's ``MKL_Set_Num_Threads_Local``
        #: for the whole-step kernel (``None`` when it is not available).
        self.sgemm = self.threads_local = None
        #: Why the whole-step kernel is or is not used.
        self.step_status = "not checked"

    @property
    def has_step(self) -> bool:
        """Whether the whole-step kernel (``pgm_rbm_step``) can be used."""
        return self.sgemm is not None

    def gemm(self, a, b, *, ta=False, tb=False, out=None, beta=0.0):
        """Row-major ``out ← op(a) op(b) + β out`` through torch's ``sgemm`` as the
        whole-step kernel calls it (op(x) = xᵀ when ``tx``; for tests)."""
        if not self.has_step:
            raise RuntimeError(f"the whole-step kernel is not available: {self.step_status}")
        (ra, ca), (rb, cb) = _matrix(a, "a"), _matrix(b, "b")
        m, k = (ca, ra) if ta else (ra, ca)
        k2, n = (cb, rb) if tb else (rb, cb)
        if k != k2:
            raise ValueError(f"inner dimensions differ: op(a) is {m} x {k}, op(b) is {k2} x {n}")
        if out is None:
            out = torch.zeros(m, n)
        self.raw_gemm(self.sgemm, int(ta), int(tb), m, n, k, _check(a, "a", ra, ca), ca, _check(b, "b", rb, cb), cb,
                      float(beta), _check(out, "out", m, n), n)
        return out

    def logistic_bernoulli(self, x, bias, *, scale=1.0, sample=None, key=0, stream=0, colsum=None, mu=0.0,
                           weight=1.0, sum_samples=True, threads=None):
        """In place on ``x`` (R, C): p = σ(x + bias), x ← scale·p (unless ``sample is x``),
        ``sample`` ← 1{u < p}, ``colsum`` ← μ·colsum + weight·Σ_r y with y the samples
        (``sum_samples``) or the new x. Returns ``x``."""
        rows, cols = _matrix(x, "x")
        self.raw_logistic_bernoulli(
            _check(x, "x", rows, cols), _check(bias, "bias", None, cols), rows, cols, float(scale),
            None if sample is None else _check(sample, "sample", rows, cols), _key(key, "key"), _key(stream, "stream"),
            None if colsum is None else _check(colsum, "colsum", None, cols), float(mu), float(weight),
            int(bool(sum_samples)), threads or torch.get_num_threads())
        return x

    def bernoulli(self, probs, out, *, key=0, stream=0, colsum=None, mu=0.0, weight=1.0, threads=None):
        """out ← 1{u < probs} with the uniforms of :meth:`logistic_bernoulli` (``out``
        may be ``probs``); optional column sums of ``out``. Returns ``out``."""
        rows, cols = _matrix(probs, "probs")
        self.raw_bernoulli(_check(probs, "probs", rows, cols), _check(out, "out", rows, cols), rows, cols,
                           _key(key, "key"), _key(stream, "stream"),
                           None if colsum is None else _check(colsum, "colsum", None, cols), float(mu),
                           float(weight), threads or torch.get_num_threads())
        return out

    def column_sum(self, a, colsum, *, mu=0.0, weight=1.0, threads=None):
        """colsum ← μ·colsum + weight·Σ_rows a. Returns ``colsum``."""
        rows, cols = _matrix(a, "a")
        self.raw_column_sum(_check(a, "a", rows, cols), rows, cols, _check(colsum, "colsum", None, cols),
                            float(mu), float(weight), threads or torch.get_num_threads())
        return colsum

    def gather_rows(self, data, index, out, *, colsum=None, mu=0.0, weight=1.0, threads=None):
        """out ← data[index] (rows), optional ``colsum`` ← μ·colsum + weight·Σ_r out.
        Returns ``out``."""
        n_data, cols = _matrix(data, "data")
        if not isinstance(index, torch.Tensor) or index.dtype != torch.int64 or index.dim() != 1:
            raise ValueError(f"index must be a 1-d int64 tensor, got {getattr(index, 'dtype', type(index).__name__)}")
        index = index.contiguous()
        rows = index.shape[0]
        bad = self.raw_gather_rows(_check(data, "data", n_data, cols), n_data, index.data_ptr(), rows, cols,
                                   _check(out, "out", rows, cols),
                                   None if colsum is None else _check(colsum, "colsum", None, cols), float(mu),
                                   float(weight), threads or torch.get_num_threads())
        if bad:
            raise index_error(index, bad, n_data)
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
    """Compile once into the cache; returns (path, flags) or raises OSError.

    One attempt with :data:`COMPILE_TIMEOUT`, and a second without OpenMP when the
    compiler lacks it (Apple's clang), said once by a warning. A failure is cached next to
    the library it would have built (``.failed``, keyed by sources, flags and compiler,
    not by host), so later processes go straight to the torch path; delete the file to
    retry.
    """
    source = b"\0".join(path.read_bytes() for path in SOURCES + HEADERS)
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=COMPILE_TIMEOUT).stdout
    custom = os.environ.get("PGM_NATIVE_CFLAGS")
    extra = custom.split() if custom is not None else _machine_flags() + ["-fopenmp"]
    tag = hashlib.sha256(b"\0".join([source, " ".join(_BASE + extra).encode(), version.encode(),
                                     platform.machine().encode(), cc.encode()])).hexdigest()[:16]
    path, failed = folder / f"rbm_kernels-{tag}.so", folder / f"rbm_kernels-{tag}.failed"
    if path.exists():
        return path, _BASE + extra
    if failed.exists():
        raise OSError(f"compilation failed before ({failed.read_text().strip()}); cached in {failed}, delete it "
                      "to retry")
    folder.mkdir(parents=True, exist_ok=True)
    error = _build(cc, _BASE + extra, path)
    if error is not None and "-fopenmp" in extra and ("openmp" in error.lower() or "omp.h" in error):
        without = [f for f in extra if f != "-fopenmp"]
        if _build(cc, _BASE + without, path) is None:
            import warnings

            warnings.warn(f"the C compiler {cc} has no OpenMP: the native RBM kernels are built single-threaded",
                          RuntimeWarning, stacklevel=4)
            return path, _BASE + without
    if error is not None:
        error = f"{cc} {' '.join(_BASE + extra)}: {error}"
        tmp = failed.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(error + "\n")
        os.replace(tmp, failed)
        raise OSError(f"compilation failed: {error}")
    return path, _BASE + extra


def _build(cc, flags, path) -> str | None:
    """Compile the sources to ``path`` atomically; ``None`` or the error's last line."""
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=path.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cc, *flags, "-o", tmp, *map(str, SOURCES)], capture_output=True, text=True,
                              timeout=COMPILE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.unlink(tmp)
        return f"no result after {COMPILE_TIMEOUT} s"
    if proc.returncode == 0:
        os.replace(tmp, path)  # atomic: concurrent builders each write a complete file
        return None
    os.unlink(tmp)
    last = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
    return last[0]


def _self_test(kernels: Kernels) -> None:
    for counter, key, expected in _PHILOX_KAT:
        got = kernels.philox(counter, key)
        if got != expected:
            raise OSError(f"Philox4x32-10 known-answer test failed: {counter}, {key} gave "
                          f"{[hex(w) for w in got]}, expected {[hex(w) for w in expected]}")


def _torch_blas():
    """(sgemm, MKL_Set_Num_Threads_Local) addresses in torch's CPU library, or a reason."""
    if os.environ.get("PGM_NATIVE_STEP", "1").strip().lower() in ("0", "false", "no", "off"):
        return None, "disabled by PGM_NATIVE_STEP"
    if not torch.backends.mkl.is_available():
        return None, "torch is not built with MKL"
    lib_dir = Path(torch.__file__).parent / "lib"
    paths = [lib_dir / name for name in ("libtorch_cpu.so", "libtorch_cpu.dylib") if (lib_dir / name).exists()]
    if not paths:
        return None, f"no libtorch_cpu in {lib_dir}"
    try:
        lib = ctypes.CDLL(str(paths[0]))
        return (ctypes.cast(lib.sgemm_, ctypes.c_void_p).value,
                ctypes.cast(lib.MKL_Set_Num_Threads_Local, ctypes.c_void_p).value), None
    except (OSError, AttributeError) as err:
        return None, f"torch's BLAS symbols are not reachable: {err}"


def _attach_blas(kernels: Kernels) -> None:
    """Give ``kernels`` torch's sgemm when it is there and computes what it should."""
    found, reason = _torch_blas()
    if found is None:
        kernels.step_status = f"per-pass kernels with torch GEMMs ({reason})"
        return
    kernels.sgemm, kernels.threads_local = found
    gen = torch.Generator().manual_seed(0)
    for ta in (False, True):
        for tb in (False, True):
            m, n, k = 5, 7, 9
            a = torch.randn((k, m) if ta else (m, k), generator=gen)
            b = torch.randn((n, k) if tb else (k, n), generator=gen)
            c = torch.randn(m, n, generator=gen)
            want = 0.5 * c + (a.t() if ta else a) @ (b.t() if tb else b)
            got = kernels.gemm(a, b, ta=ta, tb=tb, out=c.clone(), beta=0.5)
            if not torch.allclose(got, want, rtol=1e-5, atol=1e-5):
                kernels.sgemm = kernels.threads_local = None
                kernels.step_status = "per-pass kernels with torch GEMMs (torch's sgemm failed its self-test)"
                return
    kernels.step_status = "whole-step kernel with torch's MKL sgemm"


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
                _attach_blas(kernels)
                reason = f"loaded {path} ({' '.join(flags)}); {kernels.step_status}"
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
