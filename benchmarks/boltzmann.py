"""Hopfield capacity, Boltzmann machines on bars and stripes, annealing, and tempering.

Six measurements, each printed as a table:

1. **Hopfield capacity.** For N units and P = load·N random ±1 patterns stored by each
   rule (``hebbian``, ``storkey``, ``pseudo_inverse``), every pattern is probed with 10 %
   of its bits flipped and recalled asynchronously (random order, T = 0, at most 50
   sweeps); a pattern counts as recalled if the net ends exactly on it. The table gives
   the fraction recalled per load (mean over ``--trials`` pattern sets), and the
   breakdown load, the first load at which under half the patterns are recalled. The
   curves are plotted to ``--plot``.
2. **Bars and stripes.** The 14 distinct 3×3 bars-and-stripes images, each once, are the
   data; the best any model can do is log(1/14) = −2.639 nats per image. Boltzmann
   machines with 0, 4 and 8 hidden units are trained by ``inference.fit`` (PCD-3, or
   PCD-1 without hidden units, and PT-1 with 5 temperatures; lr 0.05, momentum 0.9,
   batch 20, ``--epochs`` over the 14 images repeated 20 times) and scored by their exact
   log-likelihood (enumerating all 2^(9 + hidden) states). The row "exact ML" is the
   best a fully visible machine can do (L-BFGS on its exact, concave log-likelihood).
   ``--bars-side 4``: the 30 distinct 4×4 images repeated 10 times, optimum
   log(1/30) = −3.401; every visible state (2^16) is enumerated with all the hidden
   states in chunks.
3. **Annealing.** On random frustrated fully visible machines of 20 units (zero biases,
   couplings N(0, 1) of both signs), the ground state is found by enumerating the 2^20
   states; each of ``--chains`` chains then runs either simulated annealing
   (``inference.anneal``, T from 3 to 0.05 geometrically) or zero-temperature descent
   (greedy sweeps, β = ∞) for the same number of sweeps from a uniform random start. The
   hit rate is the fraction of chains whose lowest energy is the ground-state energy.
4. **Mixing.** A bimodal fully visible machine of 16 units (every coupling +J, biases
   −J·15/2, so that all-off and all-on are equally likely modes separated by an energy
   barrier) is sampled for the same CPU time (``time.process_time``, one thread) by
   single-site Gibbs and by parallel tempering (8 replicas, β from 1 to 0.1), 16 chains
   each. The effective sample size of the energy and of the mode indicator
   1[mean(x) > ½] (pooled over chains, Geyer's initial positive sequence; :func:`ess`)
   per CPU second of sampling after a 10 % burn-in, and the mode switches of the β = 1
   chains, compare the two.
5. **PT against PCD at equal time** (``--parts pt-vs-pcd``). 64×16 RBMs on the 1438
   binarized training digits, scored by the exact test log-likelihood (log Z by
   enumerating the 2^16 hidden states). Each budget ``PATH:EPOCHS`` trains PCD-1 for
   EPOCHS epochs (momentum 0.5, lr 0.2 decayed linearly, Polyak averaging, batch 20; on
   the native RBM kernels for ``auto``, on the generic path for ``torch``) and measures
   its CPU time T; a timing run of 3 PT epochs (after one warm-up run of each method)
   gives PT's CPU time per epoch, and PT-1 (``fit(method="pt")``, the same recipe, 5
   temperatures, always the generic path: no backend runs tempering) then trains for
   round(T / that) epochs, a whole number of epochs so that its learning-rate schedule
   runs to its end. ``epochs:N`` instead trains both for N epochs (equal updates,
   unequal time). One row per method and
   budget, mean ± standard error over ``--seeds``.
6. **Mixing on a trained bimodal model** (``--parts mixing-digits``). A 64×16 RBM trained
   by ``fit``'s default recipe (CD-1, ``--rbm-epochs``) on the 294 training images of
   the digits 0 and 1, sampled as in part 4 (block Gibbs against PT with 8 replicas,
   β from 1 to 0.1). Its mode indicator is 1 when the visible means p(v = 1 | h) of a
   state lie nearer, in squared Euclidean distance, to the mean training 1 than to the
   mean training 0.

Usage::

    python benchmarks/boltzmann.py --plot capacity.png            # all four, ~4 min on 2 cores
    python benchmarks/boltzmann.py --quick --plot capacity.png    # smoke run
    python benchmarks/boltzmann.py --parts capacity --sizes 100 500 --plot capacity.png
    python benchmarks/boltzmann.py --parts pt-vs-pcd mixing-digits              # ~5 min on 2 busy cores
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from inference import anneal, fit, geometric_schedule, make_generator
from models import BoltzmannMachine, Hopfield
from pgm.datasets import bars_and_stripes

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.boltzmann
    from _common import format_table, machine_line, set_threads
except ImportError:
    from benchmarks._common import format_table, machine_line, set_threads

RULES = ("hebbian", "storkey", "pseudo_inverse")


# -- 1. Hopfield capacity ------------------------------------------------------------------

def recalled_fraction(n, p, rule, seed, flip=0.1):
    gen = torch.Generator().manual_seed(seed)
    xi = torch.rand(p, n, generator=gen).lt(0.5).float() * 2 - 1
    net = Hopfield(n, rule).store(xi)
    k = int(round(flip * n))
    idx = torch.rand(p, n, generator=gen).argsort(1)[:, :k]
    probes = xi.clone()
    probes.scatter_(1, idx, -probes.gather(1, idx))
    out = net.recall(probes, make_generator(seed), max_sweeps=50)
    return float((out.states == xi).all(1).float().mean())


def capacity(sizes, loads, trials):
    results = {}
    for n in sizes:
        for rule in RULES:
            curve = []
            for load in loads:
                p = max(1, int(round(load * n)))
                curve.append(sum(recalled_fraction(n, p, rule, seed) for seed in range(trials)) / trials)
            results[(n, rule)] = curve
    return results


def breakdown(loads, curve):
    for load, f in zip(loads, curve):
        if f < 0.5:
            return load
    return float("nan")


def plot_capacity(path, loads, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {100: "-", 500: "--"}
    for (n, rule), curve in results.items():
        ax.plot(loads, curve, styles.get(n, ":"), marker="o", ms=3, label=f"{rule}, N={n}")
    ax.axvline(0.138, color="grey", lw=0.8, ls=":")
    ax.text(0.14, 0.05, "0.138 N", color="grey", fontsize=8)
    ax.set_xlabel("patterns / N")
    ax.set_ylabel("fraction recalled exactly (10% flipped probes)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- 2. bars and stripes -------------------------------------------------------------------

def _binary_states(n, start=0, stop=None):
    k = torch.arange(start, 2**n if stop is None else stop).unsqueeze(1)
    return ((k >> torch.arange(n - 1, -1, -1)) & 1).double()


def exact_log_likelihood(model, data, chunk=2**18):
    """Mean exact log p(v) of ``data`` under a Boltzmann machine: log Σ_h exp(−E(v, h))
    for every visible state v (all hidden states enumerated with each), in chunks of
    ``chunk`` joint states, then log Z = logsumexp over v, in float64."""
    nv, nh = model.n_visible, model.n_hidden
    m = model.double()
    hidden = _binary_states(nh)
    per = max(1, chunk // 2**nh)  # visible states per chunk
    log_pv = []
    with torch.no_grad():
        for start in range(0, 2**nv, per):
            v = _binary_states(nv, start, min(start + per, 2**nv))
            values = {"v": v.repeat_interleave(2**nh, 0)}
            if nh:
                values["h"] = hidden.repeat(v.shape[0], 1)
            log_pv.append(torch.logsumexp(-m.energy(values).reshape(v.shape[0], 2**nh), 1))
    model.float()
    log_pv = torch.cat(log_pv)
    log_pv = log_pv - torch.logsumexp(log_pv, 0)
    index = (data.long() * 2 ** torch.arange(nv - 1, -1, -1)).sum(1)
    return float(log_pv[index].mean())


def bars(hidden, methods, epochs, seeds, side=3):
    data = bars_and_stripes(side).float()
    repeats = {3: 20, 4: 10}.get(side, 1)
    train = data.repeat(repeats, 1)  # 3x3: 280 rows, 4x4: 300 rows; batches of 20
    rows = []
    for h in hidden:
        for method in methods:
            lls, secs = [], []
            for seed in seeds:
                model = BoltzmannMachine.from_data(train, h, weight_std=0.1, seed=seed)
                t0 = time.perf_counter()
                k = 3 if h and method == "pcd" else 1
                fit(model, train, method=method, k=k, epochs=epochs, batch_size=20, lr=0.05,
                    momentum=0.9, n_temperatures=5, seed=seed, progress=False)
                secs.append(time.perf_counter() - t0)
                lls.append(exact_log_likelihood(model, data))
            mean = sum(lls) / len(lls)
            rows.append([f"BM {side * side}+{h}", f"{method}-{k}", f"{mean:.3f}", f"{min(lls):.3f} .. {max(lls):.3f}",
                         f"{mean - math.log(1 / len(data)):+.3f}", f"{sum(secs) / len(secs):.1f}"])
    ml = exact_ml_visible(data)
    rows.append([f"BM {side * side}+0", "exact ML", f"{ml:.3f}", "", f"{ml - math.log(1 / len(data)):+.3f}", ""])
    return rows


def exact_ml_visible(data):
    """The best log-likelihood a fully visible machine reaches: L-BFGS on the exact
    log-likelihood (a concave function of the couplings and biases)."""
    n = data.shape[1]
    model = BoltzmannMachine(n, weight_std=0.0).double()
    states = _binary_states(n)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=1000, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

    def closure():
        opt.zero_grad()
        loss = model.energy({"v": data.double()}).mean() + torch.logsumexp(-model.energy({"v": states}), 0)
        loss.backward()
        return loss

    opt.step(closure)
    return -float(closure().detach())


# -- 3. annealing --------------------------------------------------------------------------

def ground_energy(model):
    n = model.n_units
    k = torch.arange(2**n).unsqueeze(1)
    best = math.inf
    with torch.no_grad():
        for start in range(0, 2**n, 2**18):
            x = ((k[start:start + 2**18] >> torch.arange(n - 1, -1, -1)) & 1).float()
            best = min(best, float(model.energy({"v": x}).min()))
    return best


def annealing(instances, chains, sweeps, units=20):
    rows, sa_all, gd_all = [], [], []
    for i in range(instances):
        model = BoltzmannMachine(units, weight_std=1.0, seed=100 + i)
        e0 = ground_energy(model)
        sa = anneal(model, chains, geometric_schedule(3.0, 0.05, sweeps), make_generator(i), scan="random")
        gd = anneal(model, chains, [math.inf] * sweeps, make_generator(i), scan="random")
        sa_hit = float((sa.energies <= e0 + 1e-4).double().mean())
        gd_hit = float((gd.energies <= e0 + 1e-4).double().mean())
        sa_all.append(sa_hit)
        gd_all.append(gd_hit)
        rows.append([i, f"{e0:.3f}", f"{sa_hit:.3f}", f"{gd_hit:.3f}",
                     f"{float(sa.energies.mean()) - e0:.3f}", f"{float(gd.energies.mean()) - e0:.3f}"])
    rows.append(["mean", "", f"{sum(sa_all) / len(sa_all):.3f}", f"{sum(gd_all) / len(gd_all):.3f}", "", ""])
    return rows


def ess(x):
    """Effective sample size of ``x`` (chains, steps), all chains together: C·N / τ with
    τ = 1 + 2 Σ ρ_k, the autocorrelations ρ_k averaged over chains after centring on the
    pooled mean and scaling by the pooled variance (so a chain stuck in one mode keeps a
    high autocorrelation), summed by Geyer's initial positive sequence."""
    x = x.double()
    c, n = x.shape
    centred = x - x.mean()
    var = float(centred.pow(2).mean())
    if var == 0:
        return float("nan")
    f = torch.fft.rfft(centred, 2 * n, dim=1)
    acf = torch.fft.irfft(f * f.conj(), 2 * n, dim=1)[:, :n].mean(0) / (n * var)
    tau = -1.0
    for m in range(0, n - 1, 2):
        pair = float(acf[m] + acf[m + 1])
        if pair <= 0:
            break
        tau += 2 * pair
    return c * n / tau


def _bimodal(n=16, J=0.5):
    model = BoltzmannMachine(n, weight_std=0.0)
    with torch.no_grad():
        model.u.fill_(J)
        model.a.fill_(-J * (n - 1) / 2)
    return model


def mixing(model, mode, seconds, chains=16, n_temperatures=8, beta_min=0.1, burn=0.1):
    """Single-site (or block) Gibbs against parallel tempering on ``model`` for the same
    CPU time each: the ESS per CPU second of the energy and of ``mode(values)`` (a 0/1
    tensor per chain) over the steps after the first ``burn`` fraction, and the mode
    switches of the β = 1 chains per second."""
    from inference import gibbs, tempering

    rows = []
    for name in ("Gibbs", f"PT, {n_temperatures} temperatures"):
        gen = make_generator(0)
        trace_e, trace_m = [], []
        if name == "Gibbs":
            state = gibbs.init(model, chains, gen)
            advance = lambda st: gibbs.run(model, st, 1, gen)  # noqa: E731
            current = lambda st: st.values  # noqa: E731
        else:
            state = tempering.init(model, chains, tempering.ladder(n_temperatures, beta_min), gen)
            advance = lambda st: tempering.run(model, st, 1, gen)  # noqa: E731
            current = lambda st: tempering.replica(st, 0)  # noqa: E731
        t0 = time.process_time()
        while time.process_time() - t0 < seconds:
            state = advance(state)
            x = current(state)
            with torch.no_grad():
                trace_e.append(model.energy(x))
                trace_m.append(mode(x).float())
        elapsed = time.process_time() - t0
        skip = int(burn * len(trace_e))
        e, m = torch.stack(trace_e[skip:], 1), torch.stack(trace_m[skip:], 1)
        kept = elapsed * e.shape[1] / len(trace_e)  # the CPU time of the steps kept
        switches = int((m[:, 1:] != m[:, :-1]).sum())
        extra = ""
        if name != "Gibbs":
            extra = " ".join(f"{r:.2f}" for r in tempering.swap_rates(state).tolist())
        rows.append([name, len(trace_e), f"{ess(e) / kept:.1f}", f"{ess(m) / kept:.2f}", f"{switches / kept:.2f}",
                     f"{float(m.mean()):.2f}", extra])
    return rows


def _spread(values):
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values) / math.sqrt(len(values)):.2f}" \
        if len(values) > 1 else f"{values[0]:.2f}"


# -- 5. PT against PCD at equal time on the digits ----------------------------------------

def _digits_rbm_fit(train, test, method, epochs, seed, backend, n_temperatures):
    """Train a 64×16 RBM with PCD's recipe (PCD-1 or PT-1, momentum 0.5, lr 0.2 decayed
    linearly, Polyak averaging); return (CPU seconds, wall seconds, exact test LL)."""
    from inference import exact_log_partition, log_likelihood
    from models import RBM

    model = RBM.from_data(train, 16, seed=seed)
    c0, w0 = time.process_time(), time.perf_counter()
    fit(model, train, method=method, epochs=epochs, batch_size=20, seed=seed, momentum=0.5, lr=0.2,
        average="polyak", n_temperatures=n_temperatures, backend=backend, monitor=0, progress=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return cpu, wall, float(log_likelihood(model, test, exact_log_partition(model)).mean)


def pt_vs_pcd(budgets, seeds, n_temperatures=5, timing_epochs=3):
    """For each budget (path, epochs): PCD-1 for ``epochs`` epochs on that path (``"auto"``:
    the native RBM kernels, ``"torch"``: the generic path), then PT-1 for as many epochs
    as fit in PCD's CPU time, from a timing run of ``timing_epochs`` PT epochs per seed."""
    from pgm.datasets import load_digits

    train, test = load_digits(split="train"), load_digits(split="test")
    for method in ("pcd", "pt"):  # warm-up
        _digits_rbm_fit(train, test, method, 1, 0, "auto", n_temperatures)
    rows = []
    for path, epochs in budgets:
        pcd, pt, pt_epochs = [], [], []
        for seed in seeds:
            pcd.append(_digits_rbm_fit(train, test, "pcd", epochs, seed, "auto" if path == "epochs" else path,
                                       n_temperatures))
            if path == "epochs":  # equal updates, not equal time
                pt_epochs.append(epochs)
                pt.append(_digits_rbm_fit(train, test, "pt", epochs, seed, "auto", n_temperatures))
                continue
            per_epoch = _digits_rbm_fit(train, test, "pt", timing_epochs, seed, "auto", n_temperatures)[0] / timing_epochs
            pt_epochs.append(max(1, round(pcd[-1][0] / per_epoch)))
            pt.append(_digits_rbm_fit(train, test, "pt", pt_epochs[-1], seed, "auto", n_temperatures))
        budget = f"{epochs} epochs each" if path == "epochs" else \
            f"PCD {epochs} ep, {'native' if path == 'auto' else 'generic'}"
        for name, runs, ep in (("PCD-1", pcd, f"{epochs}"), (f"PT-1, {n_temperatures} temperatures", pt,
                                                               "/".join(map(str, pt_epochs)))):
            rows.append([budget, name, ep, _spread([r[2] for r in runs]), f"{statistics.mean(r[0] for r in runs):.1f}",
                         f"{statistics.mean(r[1] for r in runs):.1f}"])
    return rows


# -- 6. mixing on an RBM trained on two digit classes --------------------------------------

def two_class_rbm(classes=(0, 1), epochs=200, seed=0):
    """A 64×16 RBM trained by ``fit``'s recipe on the binarized training digits of
    ``classes``, and the mode indicator: 1 where the visible means p(v = 1 | h) of a state
    lie nearer (squared Euclidean distance) to the mean image of the second class than
    to that of the first."""
    from models import RBM
    from pgm.datasets import load_digits

    x, y = load_digits(split="train", return_labels=True)
    keep = (y == classes[0]) | (y == classes[1])
    x, y = x[keep], y[keep]
    model = RBM.from_data(x, 16, seed=seed)
    fit(model, x, epochs=epochs, seed=seed, monitor=0, progress=False)
    m0, m1 = x[y == classes[0]].mean(0), x[y == classes[1]].mean(0)

    def mode(values):
        means = model.conditional("v", values).mean
        return (means - m1).pow(2).sum(1) < (means - m0).pow(2).sum(1)

    return model, mode, int(keep.sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+",
                    choices=["capacity", "bars", "annealing", "mixing", "pt-vs-pcd", "mixing-digits"],
                    default=["capacity", "bars", "annealing", "mixing"],
                    help="default: the first four; pt-vs-pcd and mixing-digits train RBMs on the digits")
    ap.add_argument("--budgets", nargs="+", default=["auto:50", "auto:200", "torch:50"],
                    help="pt-vs-pcd: PATH:EPOCHS of PCD that set each time budget (auto: native kernels, "
                         "torch: the generic path; epochs:N trains both for N epochs instead)")
    ap.add_argument("--bars-side", type=int, choices=[3, 4], default=3,
                    help="bars: image side, 3 (14 images) or 4 (30 images, 2^16 visible states)")
    ap.add_argument("--temperatures", type=int, default=5, help="pt-vs-pcd: PT replicas")
    ap.add_argument("--rbm-epochs", type=int, default=200, help="mixing-digits: training epochs of the RBM")
    ap.add_argument("--seconds", type=float, default=20.0, help="sampling time of each mixing row")
    ap.add_argument("--plot", default=None, help="where to save the capacity plot (.png/.pdf/.svg)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[100])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--chains", type=int, default=64)
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--units", type=int, default=20, help="units of the annealing benchmark's machines")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer loads, epochs, instances")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    print(machine_line())
    if "capacity" in args.parts:
        loads = [0.02 * i for i in range(1, 31)] if not args.quick else [0.05, 0.1, 0.15, 0.3]
        t0 = time.perf_counter()
        res = capacity(args.sizes, loads, 1 if args.quick else args.trials)
        print(f"\nHopfield capacity: fraction of patterns recalled exactly from 10%-flipped probes "
              f"({time.perf_counter() - t0:.0f} s)")
        header = ["patterns/N"] + [f"{r} N={n}" for n in args.sizes for r in RULES]
        rows = [[f"{load:.2f}"] + [f"{res[(n, r)][j]:.2f}" for n in args.sizes for r in RULES]
                for j, load in enumerate(loads)]
        rows.append(["breakdown"] + [f"{breakdown(loads, res[(n, r)]):.2f}" for n in args.sizes for r in RULES])
        print(format_table(header, rows))
        if args.plot:
            plot_capacity(args.plot, loads, res)
            print(f"wrote {args.plot}")
    if "bars" in args.parts:
        t0 = time.perf_counter()
        side = args.bars_side
        rows = bars([0, 4] if args.quick else [0, 4, 8], ["pcd", "pt"], 20 if args.quick else args.epochs,
                    [0] if args.quick else args.seeds, side)
        count = 2 ** (side + 1) - 2
        print(f"\n{side}x{side} bars and stripes: exact log-likelihood per image, optimum log(1/{count}) = "
              f"{math.log(1 / count):.3f} ({time.perf_counter() - t0:.0f} s)")
        print(format_table(["model", "method", "mean LL", "range", "vs optimum", "s/run"], rows))
    if "annealing" in args.parts:
        t0 = time.perf_counter()
        rows = annealing(2 if args.quick else args.instances, args.chains, args.sweeps, args.units)
        print(f"\nGround-state hit rate on random frustrated {args.units}-unit BMs, {args.chains} chains x {args.sweeps} sweeps "
              f"({time.perf_counter() - t0:.0f} s)")
        print(format_table(["instance", "E ground", "SA hit", "descent hit", "SA mean gap", "descent mean gap"], rows))
    seconds = 2.0 if args.quick else args.seconds
    mixing_header = ["sampler", "steps", "ESS(E)/s", "ESS(mode)/s", "mode switches/s", "mode mean", "swap rates"]
    if "mixing" in args.parts:
        rows = mixing(_bimodal(), lambda x: x["v"].mean(1) > 0.5, seconds)
        print(f"\nMixing on a bimodal 16-unit machine, 16 chains, {seconds:g} CPU s each "
              "(ESS of all chains pooled after a 10 % burn-in, per CPU second)")
        print(format_table(mixing_header, rows))
    if "pt-vs-pcd" in args.parts:
        budgets = [(b.split(":")[0], int(b.split(":")[1])) for b in args.budgets]
        t0 = time.perf_counter()
        rows = pt_vs_pcd(budgets, args.seeds, args.temperatures)
        print(f"\nExact test log-likelihood of 64x16 RBMs on the digits, PT against PCD at equal CPU time, seeds "
              f"{' '.join(map(str, args.seeds))} ({time.perf_counter() - t0:.0f} s)")
        print(format_table(["budget", "method", "epochs", "test LL (± s.e.)", "CPU s", "wall s"], rows))
    if "mixing-digits" in args.parts:
        t0 = time.perf_counter()
        model, mode, n = two_class_rbm(epochs=args.rbm_epochs)
        rows = mixing(model, mode, seconds)
        print(f"\nMixing on a 64x16 RBM trained on the {n} training 0s and 1s ({args.rbm_epochs} epochs, CD-1), 16 "
              f"chains, {seconds:g} CPU s each; mode: nearer class mean of p(v | h) ({time.perf_counter() - t0:.0f} s)")
        print(format_table(mixing_header, rows))


if __name__ == "__main__":
    main()
