r"""The denoising autoencoder's Markov chain (Bengio, Yao, Alain & Vincent 2013).

.. math::

    x_t \to \tilde x \sim C(\tilde x \mid x_t) \to x_{t+1} \sim P(x \mid h = f(\tilde x)),

an ergodic chain whose stationary distribution estimates the data distribution when the
autoencoder is a consistent estimator of P(x | x̃). A sampler as ``init`` / ``step`` over
a :class:`ChainState` with an explicit generator, like :mod:`inference.mcmc.gibbs`.
In-painting clamps the observed units: ``observed`` (a boolean mask) keeps ``values``
there and resamples only the others.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from pgm.checks import check_capable, check_int, check_units

__all__ = ["ChainState", "init", "step", "run", "record"]


class ChainState(NamedTuple):
    """``x``: the chains' states (n, n_visible); ``mean``: E[x | f(x̃)] of the last step
    (what pictures show); ``steps``: steps taken."""

    x: torch.Tensor
    mean: torch.Tensor
    steps: int


#: What the chain uses of an autoencoder.
CHAIN = ("check_data", "corruption", "encode", "decode", "decoder_output", "likelihood", "n_visible")


def _check(model, where):
    check_capable(model, CHAIN, where, "a denoising autoencoder such as a models.Autoencoder")
    if model.corruption is None or model.corruption.level == 0:
        raise ValueError(f"{where}: the denoising chain needs a corruption C(x̃ | x); the model has none "
                         "(build it with noise=... and noise_level > 0)")


def _clamp(model, observed, values, n, where):
    if observed is None and values is None:
        return None, None
    if observed is None or values is None:
        raise ValueError(f"{where}: observed and values go together (the mask of clamped units and their values)")
    if not isinstance(observed, torch.Tensor) or observed.dtype != torch.bool or observed.shape != (n, model.n_visible):
        raise ValueError(f"{where}: observed must be a bool tensor of shape ({n}, {model.n_visible}), got "
                         f"{getattr(observed, 'dtype', type(observed).__name__)} "
                         f"{tuple(getattr(observed, 'shape', ()))}")
    values = check_units(values, "values", model.n_visible, unit_interval=model.likelihood == "bernoulli",
                         dtype=model.dtype, device=model.device)
    if values.shape[0] != n:
        raise ValueError(f"{where}: values must have {n} rows, got {values.shape[0]}")
    return observed.to(model.device), values


def init(model, n: int, generator: torch.Generator, x0: torch.Tensor | None = None, observed=None,
         values=None) -> ChainState:
    """``n`` chains from ``x0`` (n, n_visible), or from noise: uniform in [0, 1] for a
    Bernoulli likelihood, N(0, 1) for a Gaussian one; clamped units set to ``values``."""
    where = "dae_chain.init"
    _check(model, where)
    n = check_int(n, "n", 1, where)
    if x0 is None:
        shape = (n, model.n_visible)
        x0 = (torch.rand(shape, generator=generator, dtype=model.dtype, device=model.device)
              if model.likelihood == "bernoulli"
              else torch.randn(shape, generator=generator, dtype=model.dtype, device=model.device))
    else:
        x0 = model.check_data(x0, "x0")
        if x0.shape[0] != n:
            raise ValueError(f"{where}: x0 must have n={n} rows, got {x0.shape[0]}")
    observed, values = _clamp(model, observed, values, n, where)
    if observed is not None:
        x0 = torch.where(observed, values, x0)
    return ChainState(x0, x0, 0)


@torch.no_grad()
def step(model, state: ChainState, generator: torch.Generator, observed=None, values=None) -> ChainState:
    """One step x̃ ~ C(· | x), x ~ P(· | f(x̃)); clamped units keep their ``values``."""
    where = "dae_chain.step"
    _check(model, where)
    x = state.x
    observed, values = _clamp(model, observed, values, x.shape[0], where)
    h = model.encode(model.corruption.sample(x, generator))
    out = model.decoder_output(h)
    if model.likelihood == "bernoulli":
        mean = torch.sigmoid(out)
        x = torch.bernoulli(mean, generator=generator)
    else:
        mean = out
        x = out + model.log_sigma.exp() * torch.randn(out.shape, generator=generator, dtype=out.dtype,
                                                      device=out.device)
    if observed is not None:
        x, mean = torch.where(observed, values, x), torch.where(observed, values, mean)
    return ChainState(x, mean, state.steps + 1)


def run(model, state: ChainState, n_steps: int, generator: torch.Generator, observed=None, values=None,
        record_every: int | None = None):
    """``n_steps`` steps; returns the final state, or with ``record_every`` also the means
    after every ``record_every`` steps, a tensor (records, n, n_visible)."""
    n_steps = check_int(n_steps, "n_steps", 0, "dae_chain.run")
    frames = []
    for t in range(n_steps):
        state = step(model, state, generator, observed, values)
        if record_every and (t + 1) % record_every == 0:
            frames.append(state.mean)
    if record_every:
        return state, torch.stack(frames) if frames else state.mean.new_zeros((0, *state.mean.shape))
    return state


def record(model, n_chains: int, n_draws: int, generator: torch.Generator, burn_in: int = 0, thin: int = 1,
           classify=None, n_classes: int | None = None, units: int = 16, x0=None):
    """Run ``n_chains`` denoising chains and record them for ArviZ, as
    :func:`inference.sample_chains` records Gibbs chains: after ``burn_in`` steps, every
    ``thin``-th step, ``n_draws`` draws of

    - ``recon_error``: ‖x − r(x)‖² of the chain's state (how far it sits from the
      autoencoder's manifold), dims (chain, draw);
    - ``class``: with ``classify`` (a callable rows → class indices, e.g. a trained
      classifier's ``predict``) the one-hot indicator of each draw's class, dims
      (chain, draw, ``class_unit``) over the ``n_classes`` classes: its R-hat and ESS say
      whether the chains move between classes;
    - ``v``: the first ``units`` visible units, dims (chain, draw, ``v_unit``).

    Returns an :class:`inference.export.ChainRecord` (``sampler="dae"``) for
    :func:`inference.to_inference_data`.
    """
    from ..export.chains import ChainRecord

    where = "dae_chain.record"
    _check(model, where)
    n_chains, n_draws = check_int(n_chains, "n_chains", 1, where), check_int(n_draws, "n_draws", 1, where)
    burn_in, thin = check_int(burn_in, "burn_in", 0, where), check_int(thin, "thin", 1, where)
    units = min(check_int(units, "units", 0, where), model.n_visible)
    if classify is not None and not callable(classify):
        raise TypeError(f"{where}: classify must be a callable rows -> class indices, got {classify!r}")
    if classify is not None:
        n_classes = check_int(n_classes, "n_classes", 2, where)
    state = run(model, init(model, n_chains, generator, x0=x0), burn_in, generator)
    errors, labels, values = [], [], []
    for _ in range(n_draws):
        state = run(model, state, thin, generator)
        with torch.no_grad():
            errors.append((state.x - model.decode(model.encode(state.x))).double().square().sum(-1))
            if classify is not None:
                labels.append(torch.as_tensor(classify(state.x)).long().reshape(n_chains))
        values.append(state.x[:, :units].double())
    variables = {"recon_error": torch.stack(errors, 1).cpu()}
    index = {}
    if classify is not None:
        lab = torch.stack(labels, 1)
        if bool(((lab < 0) | (lab >= n_classes)).any()):
            raise ValueError(f"{where}: classify returned classes outside 0..{n_classes - 1}")
        variables["class"] = torch.nn.functional.one_hot(lab, n_classes).double().cpu()
        index["class"] = torch.arange(n_classes)
    if units:
        variables["v"] = torch.stack(values, 1).cpu()
        index["v"] = torch.arange(units)
    return ChainRecord(variables, index, torch.ones(n_chains, dtype=torch.float64), "dae")
