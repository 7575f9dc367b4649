"""How far NReLU Gibbs sampling is from the stepped-sigmoid model it approximates.

On tiny binary RBMs with random weights (enumerable: 2^n_visible visible states), the
exact visible marginal p(v) ∝ exp(−F(v)) of the stepped-sigmoid model (``hidden="stepped"``,
N copies per hidden unit) is compared with the empirical distribution of the final
states of independent Gibbs chains that draw the hidden units from NReLU
(``hidden="nrelu"``: the same model, the approximate conditional). The distance is the
total variation TV = ½ Σ_v |p̂(v) − p(v)|. With M samples TV carries a positive sampling
bias of about ½ Σ_v √(2 p(v)(1 − p(v)) / (π M)); the same estimate from chains that draw
the exact count conditional (``hidden="stepped"``) measures that floor, and the row's
standard error comes from 10 independent groups of M / 10 chains.

    python benchmarks/nrelu_approximation.py                  # about a minute on one core
    python benchmarks/nrelu_approximation.py --chains 20000 --sweeps 50
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import format_table, machine_line, set_threads  # noqa: E402

from inference import gibbs, make_generator  # noqa: E402
from models.energy import RBM  # noqa: E402


def random_model(n_visible, n_hidden, scale, n_steps, hidden, seed):
    """An RBM with N(0, scale²) weights, N(0, 1) visible biases and hidden biases N(0, 1)."""
    model = RBM(n_visible, n_hidden, weight_std=scale, seed=seed, hidden=hidden, n_steps=n_steps).double()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        model.b.normal_(0, 1, generator=gen)
        model.c.normal_(0, 1, generator=gen)
    return model


def chain_tv(model, exact, states, n_chains, sweeps, seed, groups=10):
    """TV of the final states of ``n_chains`` chains to ``exact``; (TV, its standard error from
    ``groups`` independent groups)."""
    gen = make_generator(seed)
    state = gibbs.init(model, n_chains, gen)
    for _ in range(sweeps):
        state = gibbs.step(model, state, gen)
    v = state.values["v"]
    code = (v * (2 ** torch.arange(v.shape[1] - 1, -1, -1, dtype=v.dtype))).sum(1).long()
    freq = torch.bincount(code, minlength=len(states)).double() / n_chains
    tv = 0.5 * float((freq - exact).abs().sum())
    parts = []
    for g in code.chunk(groups):
        f = torch.bincount(g, minlength=len(states)).double() / g.numel()
        parts.append(0.5 * float((f - exact).abs().sum()))
    parts = torch.tensor(parts)
    # TV's sampling variance scales as 1/M: the full run's standard error is the spread of
    # the groups' TVs (M / groups chains each) divided by √groups
    return tv, float(parts.std() / math.sqrt(groups))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visible", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=3)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0], help="weight scales")
    parser.add_argument("--steps", type=int, nargs="+", default=[20], help="copies N per hidden unit")
    parser.add_argument("--chains", type=int, default=20000)
    parser.add_argument("--sweeps", type=int, default=200, help="Gibbs sweeps per chain (burn-in)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    print(machine_line())
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=args.visible)), dtype=torch.float64)
    rows = []
    for n_steps, scale, seed in itertools.product(args.steps, args.scales, args.seeds):
        stepped = random_model(args.visible, args.hidden, scale, n_steps, "stepped", seed)
        nrelu = random_model(args.visible, args.hidden, scale, n_steps, "nrelu", seed)
        with torch.no_grad():
            exact = torch.softmax(-stepped.free_energy(states), 0)
        floor = 0.5 * float(torch.sqrt(2 * exact * (1 - exact) / (math.pi * args.chains)).sum())
        tv_s, se_s = chain_tv(stepped, exact, states, args.chains, args.sweeps, 100 + seed)
        tv_n, se_n = chain_tv(nrelu, exact, states, args.chains, args.sweeps, 200 + seed)
        rows.append([n_steps, scale, seed, f"{floor:.4f}", f"{tv_s:.4f} ± {se_s:.4f}", f"{tv_n:.4f} ± {se_n:.4f}"])
    print(f"\nRBM {args.visible}x{args.hidden}, {args.chains} independent chains, {args.sweeps} sweeps each; "
          "TV to the exact stepped-sigmoid visible marginal")
    print(format_table(["N", "weight scale", "seed", "sampling floor", "stepped chains (exact)", "NReLU chains"],
                       rows))


if __name__ == "__main__":
    main()
