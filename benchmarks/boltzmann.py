"""Hopfield capacity, Boltzmann machines on bars and stripes, and simulated annealing.

Three measurements, each printed as a table:

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
3. **Annealing.** On random frustrated fully visible machines of 20 units (zero biases,
   couplings N(0, 1) of both signs), the ground state is found by enumerating the 2^20
   states; each of ``--chains`` chains then runs either simulated annealing
   (``inference.anneal``, T from 3 to 0.05 geometrically) or zero-temperature descent
   (greedy sweeps, β = ∞) for the same number of sweeps from a uniform random start. The
   hit rate is the fraction of chains whose lowest energy is the ground-state energy.
4. **Mixing.** A bimodal fully visible machine of 16 units (every coupling +J, biases
   −J·15/2, so that all-off and all-on are equally likely modes separated by an energy
   barrier) is sampled for the same wall time by single-site Gibbs and by parallel
   tempering (8 replicas, β from 1 to 0.1), 16 chains each. The effective sample size of
   the energy and of the mode indicator 1[mean(x) > ½] (pooled over chains, Geyer's
   initial positive sequence; :func:`ess`) per second of sampling, and the mode
   switches of the β = 1 chains, compare the two.

Usage::

    python benchmarks/boltzmann.py --plot capacity.png            # all four, ~4 min on 2 cores
    python benchmarks/boltzmann.py --quick --plot capacity.png    # smoke run
    python benchmarks/boltzmann.py --parts capacity --sizes 100 500 --plot capacity.png
"""

from __future__ import annotations

import argparse
import math
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

def exact_log_likelihood(model, data):
    n, nv = model.n_units, model.n_visible
    k = torch.arange(2**n).unsqueeze(1)
    states = ((k >> torch.arange(n - 1, -1, -1)) & 1).double()
    m = model.double()
    with torch.no_grad():
        values = {"v": states[:, :nv], **({"h": states[:, nv:]} if model.n_hidden else {})}
        log_w = -m.energy(values).reshape(2**nv, 2 ** model.n_hidden)
        log_pv = torch.logsumexp(log_w, 1) - torch.logsumexp(log_w.reshape(-1), 0)
    model.float()
    index = (data.long() * 2 ** torch.arange(nv - 1, -1, -1)).sum(1)
    return float(log_pv[index].mean())


def bars(hidden, methods, epochs, seeds):
    data = bars_and_stripes(3).float()
    train = data.repeat(20, 1)  # 280 rows: 14 batches of 20 per epoch
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
            rows.append([f"BM 9+{h}", f"{method}-{k}", f"{mean:.3f}", f"{min(lls):.3f} .. {max(lls):.3f}",
                         f"{mean - math.log(1 / 14):+.3f}", f"{sum(secs) / len(secs):.1f}"])
    ml = exact_ml_visible(data)
    rows.append(["BM 9+0", "exact ML", f"{ml:.3f}", "", f"{ml - math.log(1 / 14):+.3f}", ""])
    return rows


def exact_ml_visible(data):
    """The best log-likelihood a fully visible machine reaches: L-BFGS on the exact
    log-likelihood (a concave function of the couplings and biases)."""
    model = BoltzmannMachine(9, weight_std=0.0).double()
    states = ((torch.arange(512).unsqueeze(1) >> torch.arange(8, -1, -1)) & 1).double()
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


def mixing(seconds, chains=16, n_temperatures=8):
    from inference import gibbs, tempering

    model = _bimodal()
    rows = []
    for name in ("Gibbs", f"PT, {n_temperatures} temperatures"):
        gen = make_generator(0)
        trace_e, trace_m = [], []
        if name == "Gibbs":
            state = gibbs.init(model, chains, gen)
            advance = lambda st: gibbs.run(model, st, 1, gen)  # noqa: E731
            current = lambda st: st.values  # noqa: E731
        else:
            state = tempering.init(model, chains, tempering.ladder(n_temperatures, 0.1), gen)
            advance = lambda st: tempering.run(model, st, 1, gen)  # noqa: E731
            current = lambda st: tempering.replica(st, 0)  # noqa: E731
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            state = advance(state)
            x = current(state)
            with torch.no_grad():
                trace_e.append(model.energy(x))
            trace_m.append((x["v"].mean(1) > 0.5).float())
        elapsed = time.perf_counter() - t0
        e, m = torch.stack(trace_e, 1), torch.stack(trace_m, 1)
        switches = int((m[:, 1:] != m[:, :-1]).sum())
        extra = ""
        if name != "Gibbs":
            extra = " ".join(f"{r:.2f}" for r in tempering.swap_rates(state).tolist())
        rows.append([name, e.shape[1], f"{ess(e) / elapsed:.1f}", f"{ess(m) / elapsed:.1f}",
                     f"{switches / elapsed:.1f}", extra])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", choices=["capacity", "bars", "annealing", "mixing"],
                    default=["capacity", "bars", "annealing", "mixing"])
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
        rows = bars([0, 4] if args.quick else [0, 4, 8], ["pcd", "pt"], 20 if args.quick else args.epochs,
                    [0] if args.quick else args.seeds)
        print(f"\n3x3 bars and stripes: exact log-likelihood per image, optimum log(1/14) = {math.log(1 / 14):.3f} "
              f"({time.perf_counter() - t0:.0f} s)")
        print(format_table(["model", "method", "mean LL", "range", "vs optimum", "s/run"], rows))
    if "annealing" in args.parts:
        t0 = time.perf_counter()
        rows = annealing(2 if args.quick else args.instances, args.chains, args.sweeps, args.units)
        print(f"\nGround-state hit rate on random frustrated {args.units}-unit BMs, {args.chains} chains x {args.sweeps} sweeps "
              f"({time.perf_counter() - t0:.0f} s)")
        print(format_table(["instance", "E ground", "SA hit", "descent hit", "SA mean gap", "descent mean gap"], rows))
    if "mixing" in args.parts:
        rows = mixing(2.0 if args.quick else args.seconds)
        print(f"\nMixing on a bimodal 16-unit machine, 16 chains, {2.0 if args.quick else args.seconds:g} s each "
              "(ESS of all chains pooled, per second)")
        print(format_table(["sampler", "steps", "ESS(E)/s", "ESS(mode)/s", "mode switches/s", "swap rates"], rows))


if __name__ == "__main__":
    main()
