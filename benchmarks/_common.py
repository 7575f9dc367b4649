"""Helpers shared by the benchmark scripts: timing, thread control, load, tables."""

from __future__ import annotations

import contextlib
import importlib
import os
import time

import torch

__all__ = ["best_time", "set_threads", "load_average", "format_table", "machine_line", "peer_installed", "plain_hmc_step"]

#: How to install each optional peer library that benchmarks compare against.
_PEERS = {"learnergy": "learnergy (pip install -c constraints.txt -e '.[bench]')",
          "sklearn": "scikit-learn (pip install scikit-learn)"}


def peer_installed(module: str, note: bool = True) -> bool:
    """Whether the peer library ``module`` (``"learnergy"``, ``"sklearn.mixture"``...)
    imports; if not and ``note``, print that its rows are skipped. Benchmarks call this
    before a peer's rows, so that each runs without its optional peers."""
    try:
        importlib.import_module(module)
    except ImportError:
        if note:
            top = module.split(".")[0]
            print(f"{_PEERS.get(top, top)} is not installed: its rows are skipped", flush=True)
        return False
    return True


def best_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Smallest wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls, in seconds.

    On a shared machine the minimum is the least contended measurement.
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved_epochs(ours, plain, repeats: int, title: str, target: float = 1.1) -> float:
    """Time ``ours()`` against ``plain()`` (one epoch each), one warm-up call each, then
    ``repeats`` calls interleaved so that a busy spell hits both; print the best of each
    and their ratio (ours / plain, against ``target``) under ``title``; return the ratio."""
    ours(), plain()
    t_ours, t_plain = [], []
    for _ in range(repeats):
        for fn, times in ((ours, t_ours), (plain, t_plain)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    print(f"{title}; best of {repeats}")
    print(machine_line())
    a, b = min(t_ours), min(t_plain)
    print(f"  ours  {a * 1e3:7.1f} ms per epoch")
    print(f"  plain {b * 1e3:7.1f} ms per epoch")
    print(f"  ratio {a / b:.3f} (target <= {target:g})")
    return a / b


def set_threads(n: int | None) -> int:
    """Use ``n`` threads in torch and in the BLAS/OpenMP pools of numpy/scikit-learn.

    ``None`` keeps torch's current count and applies it to the other pools too.
    Returns the count in force.
    """
    if n is not None:
        torch.set_num_threads(n)
    n = torch.get_num_threads()
    with contextlib.suppress(ImportError):  # threadpoolctl ships with scikit-learn
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    return n


def load_average() -> str:
    """The 1-minute load average and the core count, e.g. ``"load 1.93 on 2 cores"``."""
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - not on every platform
        load = "?"
    return f"load {load} on {os.cpu_count()} cores"


def machine_line() -> str:
    """torch version, thread count and load, for the top of a report."""
    return f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, {load_average()}"


def format_table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A plain-text table; ``align`` holds one of ``<``/``>`` per column (default: text left, rest right)."""
    cells = [[str(h) for h in header]] + [[c if isinstance(c, str) else f"{c}" for c in r] for r in rows]
    if align is None:
        align = "<" + ">" * (len(header) - 1)
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for j, r in enumerate(cells):
        lines.append("  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, align, widths)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (the format of the documentation's tables): a header row, a rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def write_json(path, payload: dict) -> None:
    """``payload`` as indented JSON at ``path`` (floats of any kind written as numbers)."""
    import json

    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)


def report(header: list[str], rows: list[list[str]], args, results) -> None:
    """The end of a quality benchmark: its Markdown table, the load after the run, and
    ``{"args": ..., "results": ...}`` as JSON where ``--json PATH`` was given."""
    print("\n" + markdown_table(header, rows))
    print(f"\n{load_average()} after the run")
    if args.json:
        write_json(args.json, {"args": vars(args), "results": results})


def plain_hmc_step(log_prob, z, eps, n_leapfrog, gen, lp0=None, g=None):
    """One HMC step as a plain torch loop (no state object, no checks): the reference the
    library's ``inference.mcmc.hmc.step`` is timed against. ``lp0`` and ``g``, the
    log-density and its gradient at ``z``, are computed unless given (the library's state
    caches them)."""
    def grad(v):
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            lp = log_prob(v)
            return lp.detach(), torch.autograd.grad(lp.sum(), v)[0]

    if lp0 is None or g is None:
        lp0, g = grad(z)
    p0 = torch.randn(z.shape, generator=gen, dtype=z.dtype)
    p, z1 = p0 + 0.5 * eps[:, None] * g, z
    for i in range(n_leapfrog):
        z1 = z1 + eps[:, None] * p
        lp1, g1 = grad(z1)
        p = p + (eps[:, None] if i < n_leapfrog - 1 else 0.5 * eps[:, None]) * g1
    accept = torch.rand(z.shape[0], generator=gen, dtype=z.dtype).log() < (lp1 - 0.5 * p.square().sum(-1)
                                                                            - lp0 + 0.5 * p0.square().sum(-1))
    return torch.where(accept[:, None], z1, z)


def two_processes(script: str, argv: list, timeout: float = 3600) -> dict:
    """Run ``python script *argv --worker OUT`` as ranks 0 and 1 of a gloo group (RANK,
    LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set, one thread each, as ``torchrun``
    would) and return the JSON that rank 0 wrote to OUT."""
    import json
    import socket
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        procs = [subprocess.Popen([sys.executable, script, *map(str, argv), "--worker", out], cwd=root,
                                  env={**os.environ, "RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2",
                                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1",
                                       "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])})
                 for r in range(2)]
        for p in procs:
            if p.wait(timeout=timeout) != 0:
                raise SystemExit(f"a worker failed with exit status {p.returncode}")
        return json.loads(Path(out).read_text())
