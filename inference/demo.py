"""The demo: a binary RBM on the bundled digits, trained, evaluated exactly and by AIS."""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import torch

import pgm
from models.energy import RBM
from pgm.datasets import load_digits
from pgm.plots import image_grid, plot_curves

from models.energy.validation import check_int

from .checkpoint import save_model
from .evaluation import log_likelihood
from .learning import fit
from .mcmc import gibbs
from .mcmc.sampling import make_generator
from .partition import ais_log_partition, default_schedule, exact_log_partition
from .partition.exact import MAX_EXACT_UNITS

__all__ = ["run_demo", "sample_images", "check_demo_options"]

_N_VISIBLE = 64  # the bundled digits are 8 x 8 pictures


def sample_images(model, n: int, n_steps: int, seed: int = 0):
    """The visible group's conditional means after ``n_steps`` Gibbs sweeps from noise,
    shape (n, n_visible) (probabilities for binary units, means for Gaussian ones)."""
    gen = make_generator(seed, model.device)
    state = gibbs.init(model, n, gen)
    state = gibbs.run(model, state, n_steps, gen)
    with torch.no_grad():
        return model.conditional(model.visible_name, state.values).mean


def _fmt(x: float) -> str:
    return f"{x:8.3f}" if math.isfinite(x) else f"{x:>8}"


def check_demo_options(n_hidden: int = 16, epochs: int | None = None, seed: int = 0) -> None:
    """Refuse options :func:`run_demo` cannot run with, before any work.

    The demo evaluates log Z exactly, enumerating the 2^min(64, n_hidden) states of the
    RBM's smaller layer, so ``min(64, n_hidden)`` must not exceed
    :data:`inference.partition.exact.MAX_EXACT_UNITS` (25), the limit of
    :func:`~inference.exact_log_partition`.

    Raises
    ------
    TypeError
        A non-int ``n_hidden``, ``epochs`` or ``seed``.
    ValueError
        ``n_hidden`` or ``epochs`` below 1, ``seed`` below 0, or ``n_hidden`` too large to
        enumerate.
    """
    check_int(n_hidden, "n_hidden", 1, "run_demo")
    if epochs is not None:
        check_int(epochs, "epochs", 1, "run_demo")
    check_int(seed, "seed", 0, "run_demo")
    n = min(_N_VISIBLE, n_hidden)
    if n > MAX_EXACT_UNITS:
        raise ValueError(f"run_demo: n_hidden={n_hidden}: the demo computes log Z exactly, enumerating 2^{n} "
                         f"states, above exact_log_partition's limit of {MAX_EXACT_UNITS} units; use n_hidden "
                         f"<= {MAX_EXACT_UNITS} (larger RBMs: fit with evaluate='ais')")


def run_demo(out="runs/demo", quick: bool = False, seed: int = 0, n_hidden: int = 16, epochs: int | None = None,
             progress: bool = True, echo=print) -> dict:
    """Train an RBM on binarized digits and evaluate it; write pictures and metrics to ``out``.

    Writes ``samples.png``, ``filters.png``, ``graph.png``, ``curve.png``,
    ``metrics.json``, ``checkpoint.pt`` (resumable) and ``model.pt``.

    Parameters
    ----------
    out : path
        Output folder, created (and checked to be writable) after the options are
        checked and the data loaded, before training.
    quick : bool
        A few epochs and a short AIS schedule, for smoke tests.
    seed : int
        Seed of initialisation, training, AIS and sampling.
    n_hidden : int, default 16
        Hidden units; at most 25, since log Z is computed exactly
        (:func:`check_demo_options`).
    epochs : int, optional
        Default 50 (3 with ``quick``).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.

    Raises
    ------
    TypeError, ValueError
        Bad options (:func:`check_demo_options`), before anything is written.
    OSError
        ``out`` cannot be created or written, before training.
    """
    check_demo_options(n_hidden, epochs, seed)
    out = Path(out)
    torch.manual_seed(seed)
    train = load_digits(split="train")
    test = load_digits(split="test")
    epochs = epochs or (3 if quick else 50)
    model = RBM.from_data(train, n_hidden, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):  # an unwritable folder fails now, not after training
        pass

    t0 = time.perf_counter()
    history = fit(model, train, epochs=epochs, seed=seed, evaluate="exact", eval_data=test,
                  checkpoint=out / "checkpoint.pt", progress=progress)
    t_fit = time.perf_counter() - t0

    t0 = time.perf_counter()
    exact = exact_log_partition(model)
    t_exact = time.perf_counter() - t0
    betas = default_schedule() if not quick else torch.linspace(0, 1, 1001, dtype=torch.float64)
    t0 = time.perf_counter()
    ais = ais_log_partition(model, n_chains=100, betas=betas, base="data", data=train, seed=seed, progress=progress)
    t_ais = time.perf_counter() - t0

    ll = {
        "test_exact": log_likelihood(model, test, exact),
        "test_ais": log_likelihood(model, test, ais),
        "train_exact": log_likelihood(model, train, exact),
    }
    metrics = {
        "model": {"class": "RBM", **model.config()},
        "data": {"name": "digits (binarized, pixel >= 8)", "n_train": len(train), "n_test": len(test)},
        "epochs": epochs,
        "log_z": {"exact": exact.log_z, "ais": ais.log_z, "ais_lower": ais.lower, "ais_upper": ais.upper,
                  "ais_ess": ais.ess, "ais_steps": len(betas) - 1, "ais_error": ais.log_z - exact.log_z},
        "log_likelihood": {k: v._asdict() for k, v in ll.items()},
        "seconds": {"fit": t_fit, "exact_log_z": t_exact, "ais": t_ais},
        "history": history.as_dict(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    save_model(out / "model.pt", model)

    image_grid(sample_images(model, 64, 100 if quick else 1000, seed), (8, 8), out / "samples.png",
               normalize=None, title="Gibbs samples (visible probabilities)")
    image_grid(model.W.detach().t(), (8, 8), out / "filters.png", title="hidden units' weights")
    pgm.draw(model.graph, path=out / "graph.png", title="RBM")
    plot_curves({"test set, exact log Z": history.log_likelihood}, out / "curve.png",
                title=f"RBM {model.n_visible}x{model.n_hidden}: log-likelihood per epoch")

    lo, hi = ll["test_ais"].lower, ll["test_ais"].upper
    rows = [
        ("test LL, AIS log Z", ll["test_ais"].mean, f"[{_fmt(lo)}, {_fmt(hi)}] (±3σ of Ẑ)"),
        ("test LL, exact log Z", ll["test_exact"].mean, ""),
        ("train LL, exact log Z", ll["train_exact"].mean, ""),
        ("log Z exact", exact.log_z, f"{t_exact:.2f} s"),
        ("log Z AIS", ais.log_z, f"{t_ais:.2f} s, {len(betas) - 1} steps, 100 chains, ESS {ais.ess:.1f}"),
    ]
    echo(f"\nRBM {model.n_visible}x{model.n_hidden} on binarized digits, {epochs} epochs ({t_fit:.1f} s)")
    echo(f"{'quantity':<24}{'nats':>10}  note")
    for name, val, note in rows:
        echo(f"{name:<24}{_fmt(val):>10}  {note}")
    echo(f"AIS error {ais.log_z - exact.log_z:+.4f} nats; wrote {out}/")
    return metrics
