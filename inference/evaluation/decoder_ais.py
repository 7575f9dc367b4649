r"""AIS for decoder-based models (Wu, Burda, Salakhutdinov & Grosse 2017), and its reverse.

For a decoder with prior z ~ N(0, I) and an observation model p(x | z), log p(x) is the
log normaliser of the posterior. :func:`decoder_ais` anneals, for each data point, ``K``
chains from the prior to the posterior through

.. math:: p_t(z) \propto p(z)\, p(x \mid z)^{\beta_t}, \qquad 0 = \beta_0 < \dots < \beta_T = 1,

with batched HMC transitions (:mod:`inference.mcmc.hmc`; each example's step-size
schedule is learned by a pilot run adapting toward an acceptance rate, then held fixed),
accumulating log w = Σ_t (β_t − β_{t−1}) log p(x | z_{t−1}).
Then p̂(x) = (1/K) Σ_k w_k is unbiased, so log p̂(x) is a stochastic lower bound of
log p(x). :func:`reverse_decoder_ais` runs the schedule backwards from exact posterior
samples (available for data simulated from the model, BDMC; Grosse, Ghahramani & Adams
2015) and gives a stochastic upper bound: the pair brackets log p(x), and the gap
measures how far either is from it.

Both split their rows across the ranks of a ``torch.distributed`` group (``distributed``):
each example's chains are independent of the other examples', so rank r anneals the rows
r, r + W, ... (:func:`~inference.distributed.map_rows`) from a generator seeded
``seed + r`` and the per-example estimates are gathered back in the rows' order.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

from pgm.checks import check_int

from ..distributed import joined, map_rows
from ..mcmc import hmc
from ..mcmc.sampling import make_generator

__all__ = ["DecoderAIS", "SigmaChoice", "choose_sigma", "decoder_ais", "reverse_decoder_ais", "sigmoid_schedule",
           "plot_decoder_ais"]


class DecoderAIS(NamedTuple):
    """Per-example AIS estimates of log p(x), float64.

    Attributes
    ----------
    log_likelihood : Tensor, shape (n,)
        log (1/K) Σ_k w_k per example (forward: a stochastic lower bound; reverse: an
        upper bound).
    sem : Tensor, shape (n,)
        Delta-method standard error of each estimate, std(w) / (√K mean(w)).
    ess : Tensor, shape (n,)
        Effective sample size of each example's K weights, (Σ w)² / Σ w².
    accept : float
        Mean HMC acceptance over the run.
    n_chains, n_steps : int
    direction : str
        ``"forward"`` or ``"reverse"``.
    trace : dict or None
        With ``checkpoints``: ``"betas"`` (C,), ``"log_w"`` (C, n · K), the log-weights
        accumulated up to each of C checkpoints, and ``"accept"`` (C,), the mean HMC
        acceptance of the step before each (:func:`plot_decoder_ais` draws them).
    """

    log_likelihood: torch.Tensor
    sem: torch.Tensor
    ess: torch.Tensor
    accept: float
    n_chains: int
    n_steps: int
    direction: str
    trace: dict | None = None

    @property
    def mean(self) -> float:
        """The mean over examples."""
        return float(self.log_likelihood.mean())


def sigmoid_schedule(n_steps: int, rad: float = 4.0) -> torch.Tensor:
    """βs from 0 to 1 spaced by a sigmoid (dense at both ends), float64, shape (n_steps + 1,)."""
    n_steps = check_int(n_steps, "n_steps", 1, "sigmoid_schedule")
    s = torch.sigmoid(torch.linspace(-rad, rad, n_steps + 1, dtype=torch.float64))
    return (s - s[0]) / (s[-1] - s[0])


def _check(log_lik, x, n_chains, where):
    if not callable(log_lik):
        raise TypeError(f"{where}: log_lik must be a callable (z, x) -> log p(x | z) per row, got {log_lik!r}")
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{where}: x must be a floating tensor of shape (n, n_visible), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if x.shape[0] == 0:
        raise ValueError(f"{where}: x has no rows")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: x contains NaN or infinite values")
    return check_int(n_chains, "n_chains", 1, where)


def _anneal(log_lik, x_rep, z, betas, generator, n_leapfrog, step_size, target_accept, schedule=None, n=None,
            record_every=0):
    """Run the chains z (N, d) through ``betas`` (any direction); returns the log-weights
    Σ_t (β_t − β_{t−1}) log p(x | z_{t−1}) (N,), the mean acceptance and the step sizes.

    Without ``schedule`` the step sizes adapt per chain and the log step sizes of every
    step are returned averaged over each example's chains (``n`` examples, chains
    example-major): shape (T, n), a schedule. With ``schedule`` (T, n) the step sizes are
    those, fixed in advance, and the transitions do not adapt, so that every kernel is
    chosen before the chain that uses it runs and the weights stay unbiased.
    """
    def target(beta):
        return lambda v: -0.5 * v.square().sum(-1) + beta * log_lik(v, x_rep)

    state = hmc.init(target(float(betas[0])), z, step_size)
    log_w = torch.zeros(z.shape[0], dtype=torch.float64, device=z.device)
    accept, steps, trace = 0.0, [], {"betas": [], "log_w": [], "accept": []}
    per = z.shape[0] // n
    for t in range(1, len(betas)):
        b_prev, b = float(betas[t - 1]), float(betas[t])
        with torch.enable_grad():
            v = state.z.detach().requires_grad_(True)
            ll = log_lik(v, x_rep)
            (g,) = torch.autograd.grad(ll.sum(), v)
        ll = ll.detach()
        log_w += (b - b_prev) * ll.double()
        state = state._replace(log_prob=-0.5 * state.z.square().sum(-1) + b * ll, grad=-state.z + b * g)
        if schedule is not None:
            state = state._replace(step_size=schedule[t - 1].exp().repeat_interleave(per).to(state.z.dtype))
        state = hmc.step(target(b), state, generator, n_leapfrog=n_leapfrog, adapt=schedule is None,
                         target_accept=target_accept)
        if schedule is None:
            steps.append(state.step_size.double().log().view(n, per).mean(1))
        accept += float(state.accept.mean())
        if record_every and (t % record_every == 0 or t == len(betas) - 1):
            trace["betas"].append(b)
            trace["log_w"].append(log_w.clone())
            trace["accept"].append(float(state.accept.mean()))
    if record_every:
        trace = {"betas": torch.tensor(trace["betas"], dtype=torch.float64),
                 "log_w": torch.stack(trace["log_w"]) if trace["log_w"] else None,
                 "accept": torch.tensor(trace["accept"], dtype=torch.float64)}
    return log_w, accept / max(1, len(betas) - 1), (torch.stack(steps) if steps else schedule), \
        (trace if record_every else None)


def _run(log_lik, x, z_start, betas, generator, n_leapfrog, step_size, target_accept, n_pilot, pilot_start,
         record_every=0):
    """A pilot run (``n_pilot`` chains per example from ``pilot_start``) learns each
    example's step-size schedule; the chains from ``z_start`` then run on it, fixed."""
    n = x.shape[0]
    K = z_start.shape[0] // n
    _, _, schedule, _ = _anneal(log_lik, x.repeat_interleave(n_pilot, 0), pilot_start, betas, generator, n_leapfrog,
                             step_size, target_accept, n=n)
    log_w, accept, _, trace = _anneal(log_lik, x.repeat_interleave(K, 0), z_start, betas, generator, n_leapfrog,
                                      step_size, target_accept, schedule=schedule, n=n, record_every=record_every)
    return log_w, accept, trace


def _split(run, n, K, device, distributed, seed, where, log_lik=None):
    """``run(index, seed) -> (log_w (m · K,), accept, trace)`` of the rows ``index`` (m,),
    over all ``n`` rows: on one process ``run(arange(n), seed)``; in a group each rank runs
    its rows with ``seed + rank`` and the per-row log-weights (and traced log-weights) are
    gathered in the rows' order, the acceptances averaged over the ranks. Returns
    ``(log_w (n · K,), accept, trace)``."""
    kept = {}

    def per_row(index):
        log_w, kept["accept"], kept["trace"] = run(index, seed)
        lw = log_w.view(index.shape[0], K)
        traced = kept["trace"] is not None and kept["trace"]["log_w"] is not None
        return (lw, kept["trace"]["log_w"].view(-1, index.shape[0], K).transpose(0, 1)) if traced else lw

    with joined(distributed, device, where) as replicas:
        if replicas is not None:  # this rank's draws
            bound = getattr(log_lik, "bound_rows", None)
            if bound is not None:
                raise ValueError(f"{where}: log_lik has the labels of {bound} rows bound in, and under a process group "
                                 "each rank scores its own rows: put each row's label in columns of x and read them "
                                 "in log_lik, or pass distributed=False")
            seed = replicas.seed(seed)
        out = map_rows(per_row, torch.arange(n, device=device), replicas)
        lw, traced = out if isinstance(out, tuple) else (out, None)
        accept, trace = kept["accept"], kept["trace"]
        if replicas is not None:  # every rank runs ⌈n / W⌉ rows: the mean over all chains run
            shared = [torch.tensor([accept], dtype=torch.float64, device=device)]
            if trace is not None:
                shared.append(trace["accept"].to(device))
            shared = replicas.average(shared)
            accept = float(shared[0])
            if trace is not None:
                trace = {**trace, "accept": shared[1].cpu()}
    if traced is not None:
        trace = {**trace, "log_w": traced.transpose(0, 1).reshape(traced.shape[1], n * K)}
    return lw.reshape(n * K), accept, trace


def _summary(log_w, n, K, accept, steps, direction, trace=None):
    """Forward: log (1/K) Σ w; reverse: −log (1/K) Σ w^rev (E[w^rev] = 1 / p(x))."""
    lw = log_w.view(n, K)
    est = torch.logsumexp(lw, 1) - math.log(K)
    if direction == "reverse":
        est = -est
    w = torch.exp(lw - lw.max(1, keepdim=True).values)
    sem = w.std(1) / (w.mean(1) * math.sqrt(K)) if K > 1 else torch.full((n,), math.inf, dtype=torch.float64)
    ess = w.sum(1).square() / w.square().sum(1)
    return DecoderAIS(est, sem, ess, accept, K, steps, direction, trace)


def decoder_ais(log_lik: Callable, n_latent: int, x: torch.Tensor, *, n_chains: int = 16, n_steps: int = 500,
                betas=None, n_leapfrog: int = 10, step_size: float = 0.05, target_accept: float = 0.65,
                n_pilot: int = 4, checkpoints: int = 0, seed: int | None = 0, distributed=None) -> DecoderAIS:
    """Forward AIS estimates of log p(x) for a decoder with prior N(0, I) (module docstring).

    Parameters
    ----------
    log_lik : callable (z, x) -> Tensor (N,)
        log p(x_i | z_i) of aligned rows z (N, n_latent) and x (N, n_visible),
        differentiable in z. It is called with the rows of ``x`` repeated for their
        chains (example-major), and under a group with a rank's rows only: what it needs of
        each row besides the data (a conditional decoder's label) belongs in columns of
        ``x``, not bound in ``log_lik`` for the whole data set.
    n_latent : int
    x : Tensor, shape (n, n_visible)
        The rows ``log_lik`` scores (n_visible: the columns it reads).
    n_chains : int, default 16
        K chains per example.
    n_steps : int, default 500
        T, with the sigmoid schedule (:func:`sigmoid_schedule`) unless ``betas`` is given.
    n_leapfrog, step_size, target_accept
        The HMC transitions: leapfrog steps, initial step size, acceptance aimed at.
    n_pilot : int, default 4
        Chains per example of the pilot run that learns each example's step-size
        schedule (adapted toward ``target_accept``); the K chains then use it fixed.
        Adapting the chains' own step sizes as they run biases the weights (measured on
        probabilistic PCA: 0.3 to 1 nat in the reverse direction), a fixed schedule does
        not.
    checkpoints : int, default 0
        Record the log-weights and the acceptance at about this many points of the
        schedule (``DecoderAIS.trace``; 0: none).
    seed : int or None, default 0
        Seeds the generator of the initial draws and the HMC transitions.
    distributed : bool or None, default None
        Split the rows across the ranks of a ``torch.distributed`` group: rank r anneals
        the rows r, r + W, ... (:class:`~inference.distributed.Shard`; the sampler repeats
        the first rows so every rank holds ⌈n / W⌉) from a generator seeded ``seed + r``,
        and the per-example estimates (and traced log-weights) are gathered back in the
        rows' order, so every rank returns the estimate of the whole data set; ``accept``
        (and the traced acceptances) are the means over the ranks. ``None`` joins a group
        that is open or that a launcher (``torchrun``) describes; ``False`` runs every row
        on each process.

    Returns
    -------
    DecoderAIS
    """
    K = _check(log_lik, x, n_chains, "decoder_ais")
    d = check_int(n_latent, "n_latent", 1, "decoder_ais")
    betas = sigmoid_schedule(n_steps) if betas is None else torch.as_tensor(betas, dtype=torch.float64)
    n = x.shape[0]
    n_pilot = check_int(n_pilot, "n_pilot", 1, "decoder_ais")
    every = max(1, (len(betas) - 1) // checkpoints) if check_int(checkpoints, "checkpoints", 0, "decoder_ais") else 0

    def run(index, seed):
        gen = make_generator(seed, x.device)
        pilot = torch.randn(index.shape[0] * n_pilot, d, generator=gen, dtype=x.dtype, device=x.device)
        z = torch.randn(index.shape[0] * K, d, generator=gen, dtype=x.dtype, device=x.device)
        return _run(log_lik, x[index], z, betas, gen, n_leapfrog, step_size, target_accept, n_pilot, pilot, every)

    log_w, accept, trace = _split(run, n, K, x.device, distributed, seed, "decoder_ais", log_lik)
    return _summary(log_w, n, K, accept, len(betas) - 1, "forward", trace)


class SigmaChoice(NamedTuple):
    """The noise level chosen by :func:`choose_sigma`.

    Attributes
    ----------
    sigma : float
        The σ of the grid with the highest mean validation log-likelihood.
    scores : dict
        σ → the mean decoder-AIS log p(x) (nats per example) of the validation rows
        under N(x; g(z), σ² I), in grid order.
    """

    sigma: float
    scores: dict


def choose_sigma(log_lik_of_sigma: Callable, n_latent: int, valid: torch.Tensor,
                 sigmas=(0.05, 0.1, 0.2, 0.3, 0.5), *, n_chains: int = 16, n_steps: int = 500,
                 seed: int | None = 0, search: str = "grid", distributed=None) -> SigmaChoice:
    r"""The noise level σ of a Gaussian observation model p(x | z) = N(x; g(z), σ² I) that
    gives validation rows the highest log-likelihood, each σ of the grid scored by
    :func:`decoder_ais` (the same seed for every σ).

    An implicit generator (a GAN) defines no likelihood; under this observation model it
    has one per σ, and σ sets its scale: too small, and a validation row far from every
    g(z) costs ‖x − g(z)‖² / 2σ²; too large, and every row pays the log σ of each
    dimension. Choose σ on rows other than the test rows (Wu et al. 2017).

    Parameters
    ----------
    log_lik_of_sigma : callable σ -> log_lik
        ``log_lik(z, x)`` of :func:`decoder_ais` at that σ (such as
        ``lambda s: model.decoder(s)[0]``).
    n_latent : int
    valid : Tensor, shape (n, n_visible)
        The validation rows.
    sigmas : sequence of float > 0
        The grid.
    n_chains, n_steps, seed, distributed
        As :func:`decoder_ais` (under a group, each σ's rows split across the ranks).
    search : {"grid", "climb"}, default "grid"
        ``"grid"`` scores every σ. ``"climb"`` starts at the middle σ of the sorted grid
        and moves to a better-scoring neighbour until neither neighbour scores higher,
        scoring only the σ it visits (3 of 5 when the best is the middle one): the same
        choice as ``"grid"`` whenever the validation log-likelihood is unimodal in σ over
        the grid (it rises while σ grows toward the rows' distance from the generator's
        outputs and falls beyond: the trade-off above), for a fraction of the cost.

    Returns
    -------
    SigmaChoice
        ``(sigma, scores)``; ``scores`` holds the σ scored, in grid order.
    """
    if not callable(log_lik_of_sigma):
        raise TypeError(f"choose_sigma: log_lik_of_sigma must be callable (sigma -> log_lik), got "
                        f"{type(log_lik_of_sigma).__name__}")
    grid = [float(s) for s in (sigmas if isinstance(sigmas, (list, tuple)) else [sigmas])]
    if not grid or not all(math.isfinite(s) and s > 0 for s in grid):
        raise ValueError(f"choose_sigma: sigmas must be a non-empty sequence of finite values > 0, got {sigmas!r}")
    if search not in ("grid", "climb"):
        raise ValueError(f"choose_sigma: search must be 'grid' or 'climb', got {search!r}")
    scored = {}

    def score(s):
        if s not in scored:
            value = decoder_ais(log_lik_of_sigma(s), n_latent, valid, n_chains=n_chains, n_steps=n_steps,
                                seed=seed, distributed=distributed).mean
            scored[s] = value if math.isfinite(value) else -math.inf
        return scored[s]

    if search == "grid":
        best = max(grid, key=score)
    else:
        ordered = sorted(set(grid))
        i = len(ordered) // 2
        while True:
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(ordered)]
            j = max([i, *near], key=lambda k: score(ordered[k]))  # ties keep the current σ
            if j == i:
                break
            i = j
        best = ordered[i]
    return SigmaChoice(best, {s: scored[s] for s in grid if s in scored})


def reverse_decoder_ais(log_lik: Callable, z_posterior: torch.Tensor, x: torch.Tensor, *, n_steps: int = 500,
                        betas=None, n_leapfrog: int = 10, step_size: float = 0.05, target_accept: float = 0.65,
                        n_pilot: int = 4, seed: int | None = 0, distributed=None) -> DecoderAIS:
    """Reverse AIS (BDMC): from exact posterior samples ``z_posterior`` (n, K, n_latent) of
    each example's p(z | x), the schedule run from β = 1 down to 0; returns stochastic
    upper bounds of log p(x) (``log_likelihood`` = −log (1/K) Σ_k w_k^rev).

    ``log_lik``, ``n_steps``, ``betas``, ``n_leapfrog``, ``step_size``, ``target_accept``,
    ``n_pilot`` (at most K: the pilot reuses the first posterior draws), ``seed`` and
    ``distributed`` are as in :func:`decoder_ais`; under a group each rank takes its rows
    of ``x`` with their posterior draws."""
    if not isinstance(z_posterior, torch.Tensor) or z_posterior.dim() != 3 or z_posterior.shape[0] != x.shape[0]:
        raise ValueError(f"reverse_decoder_ais: z_posterior must have shape (n, K, n_latent) with n = {x.shape[0]} "
                         f"rows of x, got {tuple(getattr(z_posterior, 'shape', ()))}")
    n, K, d = z_posterior.shape
    _check(log_lik, x, K, "reverse_decoder_ais")
    betas = sigmoid_schedule(n_steps) if betas is None else torch.as_tensor(betas, dtype=torch.float64)
    n_pilot = min(check_int(n_pilot, "n_pilot", 1, "reverse_decoder_ais"), K)

    def run(index, seed):
        gen = make_generator(seed, x.device)
        m, z = index.shape[0], z_posterior[index.to(z_posterior.device)]
        pilot = z[:, :n_pilot].reshape(m * n_pilot, d).to(x.dtype)  # the pilot's draws are reused, not weighed
        return _run(log_lik, x[index], z.reshape(m * K, d).to(x.dtype), betas.flip(0), gen, n_leapfrog,
                    step_size, target_accept, n_pilot, pilot)

    log_w, accept, _ = _split(run, n, K, x.device, distributed, seed, "reverse_decoder_ais", log_lik)
    return _summary(log_w, n, K, accept, len(betas) - 1, "reverse")


def plot_decoder_ais(result: DecoderAIS, example: int = 0, path=None, title=None):
    """Three panels of a traced run (``decoder_ais(..., checkpoints=C)``) for one example:
    the final log-weights of its K chains, their effective sample size over β, and the
    mean HMC acceptance over β. Returns the Figure."""
    from pgm.checks import check_path, check_title
    from pgm.plots._common import new_figure, save
    from pgm.plots.annealing import effective_sample_size

    check_path(path, "plot_decoder_ais"), check_title(title, "plot_decoder_ais")
    if result.trace is None or result.trace["log_w"] is None:
        raise ValueError("plot_decoder_ais: the result has no trace; run decoder_ais(..., checkpoints=50)")
    n = result.log_likelihood.shape[0]
    example = check_int(example, "example", 0, "plot_decoder_ais")
    if example >= n:
        raise ValueError(f"plot_decoder_ais: example must be below the {n} examples, got {example}")
    K = result.n_chains
    betas = result.trace["betas"].numpy()
    log_w = result.trace["log_w"].cpu().view(len(betas), n, K)[:, example]
    fig = new_figure((11, 3.2))
    ax = fig.add_subplot(1, 3, 1)
    ax.hist(log_w[-1].numpy(), bins=min(30, max(5, K // 2)), color="0.4")
    ax.set_xlabel("final log w")
    ax.set_ylabel("chains")
    ax = fig.add_subplot(1, 3, 2)
    ax.plot(betas, effective_sample_size(log_w.numpy()), color="C0")
    ax.set_xlabel("β")
    ax.set_ylabel(f"ESS of {K} chains")
    ax = fig.add_subplot(1, 3, 3)
    ax.plot(betas, result.trace["accept"].numpy(), color="C1")
    ax.set_xlabel("β")
    ax.set_ylabel("HMC acceptance")
    ax.set_ylim(0, 1.02)
    fig.suptitle(title or f"decoder AIS, example {example}: log p̂(x) = "
                           f"{float(result.log_likelihood[example]):.3f} ± {float(result.sem[example]):.3f}")
    save(fig, path)
    return fig
