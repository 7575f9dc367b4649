"""The demo: on the bundled digits, a binary RBM trained and evaluated exactly and by AIS,
a deep Boltzmann machine with its variational bound, two directed models (a sigmoid
belief net by reweighted wake-sleep, a VAE by the ELBO) scored by importance sampling,
and a deep belief net trained greedily, scored by importance sampling with its bound."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

import pgm
from models.directed import DBN, VAE, SigmoidBeliefNet
from models.energy import DBM, RBM
from pgm.checks import check_int, check_seed
from pgm.datasets import load_digits

from .checkpoint import json_text, make_writable_folder, save_model
from .evaluation import importance_log_likelihood, log_likelihood, variational_bound
from .families import fit
from .mcmc import gibbs
from .mcmc.sampling import make_generator
from .partition import ais_log_partition, default_schedule, exact_log_partition
from .partition.exact import MAX_EXACT_UNITS

__all__ = ["run_demo", "sample_images", "check_demo_options", "demo_outputs", "quoted_band", "PARTS", "DESCRIPTION",
           "QUOTED", "QUOTED_SEEDS"]

_N_VISIBLE = 64  # the bundled digits are 8 x 8 pictures
PARTS = ("rbm", "dbm", "directed", "dbn")
#: The files each part writes in the output folder; every run also writes ``metrics.json``.
OUTPUTS = {"rbm": ("samples.png", "filters.png", "graph.png", "curve.png", "checkpoint.pt", "model.pt"),
           "dbm": ("dbm_samples.png", "dbm_graph.png", "dbm.pt"),
           "directed": ("sbn_samples.png", "sbn_graph.png", "vae_samples.png", "sbn.pt", "vae.pt"),
           "dbn": ("dbn_samples.png", "dbn_graph.png", "dbn.pt")}
#: What the demo does, for ``pgm demo --help``.
DESCRIPTION = ("Train models on the bundled 8x8 digits (binarized) and score them, writing pictures, the models "
               "and metrics.json to --out. Parts (--parts): rbm, a 64xHIDDEN RBM by CD-1, its test log-likelihood "
               "with log Z exact and by AIS; dbm, a centred 64-16-16 deep Boltzmann machine by variational SML and "
               "its variational bound; directed, a sigmoid belief net by reweighted wake-sleep and a VAE by the "
               "ELBO, each scored by importance sampling; dbn, a 64-32-16 deep belief net trained greedily, scored "
               "by importance sampling with its ELBO.")


#: The number of seeds (0, 1, ...) behind :data:`QUOTED`.
QUOTED_SEEDS = 5
#: The demo's headline numbers at its default settings (``n_hidden=16``, 50 RBM epochs, not
#: ``quick``): (mean, standard deviation) over seeds 0-4, measured by
#: ``python benchmarks/seed_spread.py --only rbm dbm directed dbn``. These are what the
#: demo quotes, not any one run's values: a single run varies by machine as well as by seed,
#: since the native RBM kernels are compiled for the host CPU and torch picks its CPU kernels
#: at run time, so float32 rounding, and with it the sampled training trajectory, differs
#: between processors. Keys as in ``metrics.json``.
QUOTED = {
    "rbm": {"test_exact": (-18.13, 0.16), "test_ais": (-18.13, 0.17), "train_exact": (-17.58, 0.12)},
    "dbm": {"test": (-18.60, 0.04), "train": (-18.18, 0.03)},
    "directed": {"sbn": (-20.24, 0.05), "vae": (-19.63, 0.13)},
    "dbn": {"test_log_likelihood": (-16.98, 0.09), "test_elbo": (-17.63, 0.11)},
}


def quoted_band(part: str, key: str) -> str:
    """``"−18.13 ± 0.16"``: the mean ± standard deviation over seeds quoted for ``key`` of
    ``part`` (:data:`QUOTED`)."""
    mean, sd = QUOTED[part][key]
    return f"{mean:.2f} ± {sd:.2f}"



def demo_outputs(parts=PARTS) -> tuple:
    """The names of the files :func:`run_demo` writes for ``parts``."""
    parts = (parts,) if isinstance(parts, str) else tuple(parts)
    return (*(name for part in PARTS if part in parts for name in OUTPUTS[part]), "metrics.json")


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


def check_demo_options(n_hidden: int = 16, epochs: int | None = None, seed: int = 0, parts=PARTS) -> None:
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
        ``n_hidden`` or ``epochs`` below 1, ``seed`` below 0, ``n_hidden`` too large to
        enumerate, or ``parts`` empty or naming a part other than those of :data:`PARTS`.
    """
    parts = tuple(parts) if not isinstance(parts, str) else (parts,)
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"run_demo: parts must be a non-empty selection of {', '.join(PARTS)}, got {list(parts)}")
    check_int(n_hidden, "n_hidden", 1, "run_demo")
    if epochs is not None:
        check_int(epochs, "epochs", 1, "run_demo")
    check_seed(seed, "run_demo", optional=False)
    n = min(_N_VISIBLE, n_hidden)
    if n > MAX_EXACT_UNITS:
        raise ValueError(f"run_demo: n_hidden={n_hidden}: the demo computes log Z exactly, enumerating 2^{n} "
                         f"states, above exact_log_partition's limit of {MAX_EXACT_UNITS} units; use n_hidden "
                         f"<= {MAX_EXACT_UNITS} (larger RBMs: fit with evaluate='ais')")


def run_demo(out="runs/demo", quick: bool = False, seed: int = 0, n_hidden: int = 16, epochs: int | None = None,
             progress: bool = True, echo=print, parts=PARTS) -> dict:
    """Train models on binarized digits and evaluate them; write pictures and metrics to ``out``.

    Part ``"rbm"``: a 64×``n_hidden`` RBM, the default recipe, log-likelihood with log Z
    exact (per epoch) and by AIS; writes ``samples.png``, ``filters.png``, ``graph.png``,
    ``curve.png``, ``checkpoint.pt`` (resumable) and ``model.pt``. Part ``"dbm"``: a
    centred 64-16-16 DBM by variational SML (50 epochs), log Z exact, the test
    variational bound; writes ``dbm_samples.png``, ``dbm_graph.png``, ``dbm.pt``. Part
    ``"directed"``: an SBN 64-16 by reweighted wake-sleep (K = 5, 30 epochs) and a VAE
    64-200-10 by the ELBO (30 epochs), each scored by the K = 1000 importance estimate of
    the test log-likelihood and its ELBO; writes ``sbn_samples.png``, ``sbn_graph.png``,
    ``vae_samples.png``, ``sbn.pt``, ``vae.pt``. Part ``"dbn"``: a DBN 64-32-16 trained
    greedily (CD-1, 50 epochs per layer), the K = 1000 importance estimate of the test
    log-likelihood and its ELBO with the up-pass as proposal (the 32×16 top RBM's log Z
    exact); writes ``dbn_samples.png``, ``dbn_graph.png``, ``dbn.pt``. All parts write ``metrics.json`` (one
    key per part, the RBM's at the top level). ``quick`` shortens every part. Except with
    ``quick`` (and for the RBM at other than 16 hidden units and 50 epochs), the tables also
    print the quoted mean ± standard deviation over seeds 0-4 (:data:`QUOTED`) beside this
    run's numbers: a single run varies by machine as well as by seed.

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
        The RBM's epochs; default 50 (3 with ``quick``).
    parts : sequence of {"rbm", "dbm", "directed", "dbn"}
        The parts to run, default all.

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
    check_demo_options(n_hidden, epochs, seed, parts)
    parts = (parts,) if isinstance(parts, str) else tuple(parts)
    out = Path(out)
    torch.manual_seed(seed)
    train = load_digits(split="train")
    test = load_digits(split="test")
    make_writable_folder(out)  # an unwritable folder fails now, not after training
    metrics = {}
    if "rbm" in parts:
        metrics.update(_rbm_part(out, train, test, quick, seed, n_hidden, epochs, progress, echo))
    if "dbm" in parts:
        metrics["dbm"] = _dbm_part(out, train, test, quick, seed, progress, echo)
    if "directed" in parts:
        metrics["directed"] = _directed_part(out, train, test, quick, seed, progress, echo)
    if "dbn" in parts:
        metrics["dbn"] = _dbn_part(out, train, test, quick, seed, progress, echo)
    (out / "metrics.json").write_text(json_text(metrics))
    if not quick and (set(parts) != {"rbm"} or (n_hidden == 16 and epochs in (None, 50))):  # a band was printed
        echo(f"\n(seeds 0-{QUOTED_SEEDS - 1}: the quoted mean ± sd over {QUOTED_SEEDS} seeds, "
             "benchmarks/seed_spread.py; a single run varies by machine as well as by seed)")
    echo(f"wrote {out}/")
    return metrics


def _rbm_part(out, train, test, quick, seed, n_hidden, epochs, progress, echo) -> dict:
    epochs = epochs or (3 if quick else 50)
    model = RBM.from_data(train, n_hidden, seed=seed)

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
        "test_exact": log_likelihood(model, test, exact, distributed=False),
        "test_ais": log_likelihood(model, test, ais, distributed=False),
        "train_exact": log_likelihood(model, train, exact, distributed=False),
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
    save_model(out / "model.pt", model)

    from pgm.plots import image_grid, plot_curves

    from .pictures import plot_filters

    image_grid(sample_images(model, 64, 100 if quick else 1000, seed), (8, 8), out / "samples.png",
               normalize=None, title="Gibbs samples (visible probabilities)")
    plot_filters(model, path=out / "filters.png", title="RBM: weights of each hidden unit")
    pgm.draw(model.graph, path=out / "graph.png", title="RBM")
    plot_curves({"test set, exact log Z": history.log_likelihood}, out / "curve.png",
                title=f"RBM {model.n_visible}x{model.n_hidden}: log-likelihood per epoch")

    lo, hi = ll["test_ais"].lower, ll["test_ais"].upper
    rows = [
        ("test LL, AIS log Z", ll["test_ais"].mean, f"[{_fmt(lo)}, {_fmt(hi)}] (±3σ of Ẑ)", "test_ais"),
        ("test LL, exact log Z", ll["test_exact"].mean, "", "test_exact"),
        ("train LL, exact log Z", ll["train_exact"].mean, "", "train_exact"),
        ("log Z exact", exact.log_z, f"{t_exact:.2f} s", None),
        ("log Z AIS", ais.log_z, f"{t_ais:.2f} s, {len(betas) - 1} steps, 100 chains, ESS {ais.ess:.1f}", None),
    ]
    quoted = not quick and n_hidden == 16 and epochs == 50  # the settings of the quoted numbers
    echo(f"\nRBM {model.n_visible}x{model.n_hidden} on binarized digits, {epochs} epochs ({t_fit:.1f} s)")
    band = f"{'seeds 0-' + str(QUOTED_SEEDS - 1):>16}" if quoted else ""
    echo(f"{'quantity':<24}{'nats':>10}{band}  note")
    for name, val, note, key in rows:
        band = f"{quoted_band('rbm', key) if key else '':>16}" if quoted else ""
        echo(f"{name:<24}{_fmt(val):>10}{band}  {note}")
    echo(f"AIS error {ais.log_z - exact.log_z:+.4f} nats")
    return metrics


def _dbm_part(out, train, test, quick, seed, progress, echo) -> dict:
    """A centred 64-16-16 DBM by variational SML; log Z exact (2^16 states of the odd layer)."""
    epochs = 2 if quick else 50
    dbm = DBM.from_data(train, [16, 16], centered=True, seed=seed)
    t0 = time.perf_counter()
    fit(dbm, train, method="sml", epochs=epochs, lr=0.02, seed=seed, monitor=0, progress=progress)
    t_fit = time.perf_counter() - t0
    log_z = exact_log_partition(dbm)
    bound = {"test": variational_bound(dbm, test, log_z), "train": variational_bound(dbm, train, log_z)}
    save_model(out / "dbm.pt", dbm)
    from pgm.plots import image_grid

    image_grid(sample_images(dbm, 64, 100 if quick else 1000, seed), (8, 8), out / "dbm_samples.png",
               normalize=None, title="DBM Gibbs samples (visible probabilities)")
    pgm.draw(dbm.graph, path=out / "dbm_graph.png", title="DBM 64-16-16")
    echo(f"\nDBM 64-16-16 (centred) on binarized digits, variational SML, {epochs} epochs ({t_fit:.1f} s)")
    band = {key: f"  (seeds 0-{QUOTED_SEEDS - 1}: {quoted_band('dbm', key)})" if not quick else "" for key in bound}
    echo(f"{'test variational bound':<24}{_fmt(bound['test'].mean):>10}  log Z exact {log_z.log_z:.3f}{band['test']}")
    echo(f"{'train variational bound':<24}{_fmt(bound['train'].mean):>10}{band['train']}")
    return {"model": {"class": "DBM", **dbm.config()}, "epochs": epochs, "log_z": log_z.log_z,
            "variational_bound": {k: {"mean": v.mean, "sem": v.sem} for k, v in bound.items()},
            "seconds": {"fit": t_fit}}


def _directed_part(out, train, test, quick, seed, progress, echo) -> dict:
    """An SBN 64-16 by RWS (K = 5) and a VAE 64-200-10 by the ELBO, importance-sampled."""
    from pgm.plots import image_grid

    epochs, k = (2, 50) if quick else (30, 1000)
    gen = make_generator(seed)
    models = {"sbn": SigmoidBeliefNet.from_data(train, [_N_VISIBLE, 16], seed=seed),
              "vae": VAE(_N_VISIBLE, 200, 10, seed=seed)}
    recipes = {"sbn": dict(method="rws", n_particles=5, lr=3e-3), "vae": dict(method="elbo", lr=1e-3)}
    titles = {"sbn": "SBN 64-16, reweighted wake-sleep (K = 5)", "vae": "VAE 64-200-10, ELBO"}
    results = {}
    echo(f"\ndirected models on binarized digits, {epochs} epochs; test log-likelihood by importance "
         f"sampling (K = {k}), a stochastic lower bound in expectation")
    echo(f"{'model':<44}{'test LL':>10}{'ELBO':>10}")
    for name, model in models.items():
        t0 = time.perf_counter()
        fit(model, train, epochs=epochs, batch_size=20, seed=seed, progress=progress, **recipes[name])
        t_fit = time.perf_counter() - t0
        est = importance_log_likelihood(model, test, n_samples=k, seed=seed, distributed=False)
        save_model(out / f"{name}.pt", model)
        with torch.no_grad():  # the means of v given an ancestral draw of the latents above it
            if name == "vae":
                samples = model.sample(64, gen, mean=True)
            else:
                samples = torch.sigmoid(model.generative.layers[0](model.sample(64, gen, latents=True)["h1"]))
        image_grid(samples, (8, 8), out / f"{name}_samples.png", normalize=None,
                   title=f"{name.upper()} ancestral samples" + (" (decoder means)" if name == "vae" else
                                                                " (p(v | h1))"))
        band = "" if quick else f"; test LL over seeds 0-{QUOTED_SEEDS - 1}: {quoted_band('directed', name)}"
        echo(f"{titles[name]:<44}{_fmt(est.mean):>10}{_fmt(est.elbo):>10}  ± {est.sem:.2f}, {t_fit:.1f} s{band}")
        results[name] = {"model": {"class": type(model).__name__, **model.config()}, "epochs": epochs,
                         "method": recipes[name]["method"], "n_samples": k,
                         "test_log_likelihood": {"mean": est.mean, "sem": est.sem}, "test_elbo": est.elbo,
                         "seconds": {"fit": t_fit}}
    pgm.draw(models["sbn"].graph, path=out / "sbn_graph.png", title="SBN 64-16 (traced from the Pyro program)")
    return results


def _dbn_part(out, train, test, quick, seed, progress, echo) -> dict:
    """A DBN 64-32-16 trained greedily; the importance estimate and the ELBO, log Z exact."""
    from .dbn import dbn_log_likelihood, set_dbn_prior

    epochs, k, sweeps = (2, 50, 100) if quick else (50, 1000, 1000)
    dbn = DBN([_N_VISIBLE, 32, 16], seed=seed)
    t0 = time.perf_counter()
    fit(dbn, train, method="greedy", epochs=epochs, seed=seed, monitor=0, progress=progress)
    t_fit = time.perf_counter() - t0
    est = dbn_log_likelihood(dbn, test, "exact", n_samples=k, seed=seed)  # the 32x16 top: 2^16 states
    save_model(out / "dbn.pt", dbn)
    set_dbn_prior(dbn, est.log_z, n_gibbs=sweeps, generator=make_generator(seed))
    from pgm.plots import image_grid

    with torch.no_grad():  # h1 by Gibbs at the top and the ancestral pass; the picture shows p(v = 1 | h1)
        h1 = dbn.sample(64, make_generator(seed), latents=True)["h1"]
        means = torch.sigmoid(dbn.generative[0](h1))
    image_grid(means, (8, 8), out / "dbn_samples.png", normalize=None,
               title=f"DBN samples (p(v | h1); {sweeps} Gibbs sweeps at the top)")
    pgm.draw(dbn.graph, path=out / "dbn_graph.png", title="DBN 64-32-16 (undirected top, directed below)")
    echo(f"\nDBN 64-32-16 on binarized digits, greedy CD-1, {epochs} epochs per layer ({t_fit:.1f} s); "
         f"up-pass proposal, K = {k}, top RBM's log Z exact {est.log_z.log_z:.3f}")
    band = {key: "" if quick else f"  (seeds 0-{QUOTED_SEEDS - 1}: {quoted_band('dbn', key)})"
            for key in ("test_log_likelihood", "test_elbo")}
    echo(f"{'test LL (importance)':<24}{_fmt(est.mean):>10}  ± {est.sem:.2f}{band['test_log_likelihood']}")
    echo(f"{'test bound (ELBO)':<24}{_fmt(est.elbo):>10}  ± {est.elbo_sem:.2f}{band['test_elbo']}")
    return {"model": {"class": "DBN", **dbn.config()}, "epochs": epochs, "n_samples": k, "log_z": est.log_z.log_z,
            "test_log_likelihood": {"mean": est.mean, "sem": est.sem}, "test_elbo": est.elbo,
            "seconds": {"fit": t_fit}}
