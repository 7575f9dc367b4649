"""What the generator-only models of this package share: a generator network g(z [, y])
read as a Pyro program, its samples and its Gaussian decoder likelihood.

:class:`GeneratorProgram` is a mixin for a ``torch.nn.Module`` with ``generator``,
``n_visible``, ``n_latent``, ``n_classes``, ``visible_kind`` and ``config()``; the
generator is evaluated in eval mode (batch normalisation with its running statistics)
by every method here, and each method leaves the module's train/eval flags as they were.
"""

from __future__ import annotations

import contextlib
import math

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F

import pgm
from pgm.checks import check_choice, check_float, check_int, check_units, validation_disabled

from ..parameters import ParameterInfo

__all__ = ["GeneratorProgram", "OBSERVATIONS", "OUTPUTS", "evaluation_mode", "seeded"]

#: How the Pyro program observes g(z): a point mass, Gaussian noise of scale σ, or
#: Bernoulli units of mean g(z) (sigmoid outputs only).
OBSERVATIONS = ("delta", "gaussian", "bernoulli")
#: Output layers of a generator: sigmoid (data in [0, 1]) or linear (real data).
OUTPUTS = ("sigmoid", "linear")
_LOG_2PI = math.log(2 * math.pi)


@contextlib.contextmanager
def evaluation_mode(module: torch.nn.Module):
    """Put every submodule of ``module`` in eval mode, and give each back its own flag
    afterwards (also on an error)."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


def seeded(seed):
    """A context in which torch's global generator is seeded with ``seed`` and restored
    afterwards (nothing when ``seed`` is None)."""
    if seed is None:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.random.fork_rng())
    torch.manual_seed(seed)
    return stack


def _check_generator(generator, where):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{where}: generator must be a torch.Generator or None, got {type(generator).__name__}")


class GeneratorProgram(ParameterInfo):
    """The Pyro program, sampler, labels and decoder likelihood of a generator network."""

    visible_name = "v"

    # -- inputs ----------------------------------------------------------------------------
    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (a float tensor ``(batch, n_visible)``, finite; in [0, 1] for a
        sigmoid output) and moved to the model's dtype and device."""
        return check_units(x, name, self.n_visible, unit_interval=self.visible_kind == "bernoulli",
                           dtype=self.dtype, device=self.device)

    def one_hot(self, y, n: int, name: str = "y", where: str | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Labels as one-hot rows (n, n_classes) of the model's dtype: ``y`` class indices
        (n,) in 0..n_classes−1 or one-hot rows; drawn uniformly (from ``generator``) when
        ``y`` is None. ``None`` for an unconditional model, which refuses labels."""
        where = where or type(self).__name__
        if self.n_classes == 0:
            if y is not None:
                raise ValueError(f"{where}: {name} (labels) needs a conditional model (n_classes > 0); this one has "
                                 f"n_classes=0")
            return None
        if y is None:
            y = torch.randint(self.n_classes, (n,), generator=generator, device=self.device)
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{where}: {name} must be a tensor of class indices (n,) or one-hot rows "
                            f"(n, {self.n_classes}), got {type(y).__name__}")
        if y.dim() == 2:
            from pgm.checks import check_onehot
            y = check_onehot(y, name, self.n_classes, dtype=self.dtype, device=self.device)
        elif y.dim() == 1 and not y.is_floating_point() and y.dtype != torch.bool:
            if y.numel() and bool(((y < 0) | (y >= self.n_classes)).any()):
                raise ValueError(f"{where}: {name} must hold class indices in 0..{self.n_classes - 1}, got values "
                                 f"from {int(y.min())} to {int(y.max())}")
            y = F.one_hot(y.long().to(self.device), self.n_classes).to(self.dtype)
        else:
            raise ValueError(f"{where}: {name} must be integer class indices of shape (n,) or one-hot rows "
                             f"(n, {self.n_classes}), got {y.dtype} of shape {tuple(y.shape)}")
        if y.shape[0] != n:
            raise ValueError(f"{where}: {name} must have {n} rows (one label per row), got {y.shape[0]}")
        return y

    # -- the program -----------------------------------------------------------------------
    def _generate(self, z, y):
        with evaluation_mode(self.generator):
            return self.generator(z, y)

    def model(self, x=None, n: int = 1, y=None, observation: str = "delta", sigma: float | None = None) -> None:
        r"""z ~ N(0, I) in ``pyro.plate("data")``, then ``v`` observes g(z [, y]).

        Parameters
        ----------
        x : Tensor (batch, n_visible), optional
            Observed values of ``v``; without it ``n`` rows are drawn.
        n : int, default 1
            Rows when ``x`` is None.
        y : Tensor, optional
            Labels of a conditional model (drawn uniformly when None).
        observation : {"delta", "gaussian", "bernoulli"}, default "delta"
            ``v`` ~ δ(g(z)) (the implicit model itself), N(g(z), σ² I) or Bernoulli(g(z))
            (sigmoid outputs only).
        sigma : float, optional
            σ of the Gaussian observation (required for it, refused otherwise).
        """
        where = f"{type(self).__name__}.model"
        check_choice(observation, "observation", OBSERVATIONS, where)
        if observation == "gaussian":
            if sigma is None:
                raise ValueError(f"{where}: the gaussian observation needs sigma (> 0)")
            sigma = check_float(sigma, "sigma", 0.0, low_open=True, where=where)
        elif sigma is not None:
            raise ValueError(f"{where}: sigma applies to the gaussian observation only, got sigma={sigma!r} with "
                             f"observation={observation!r}")
        if observation == "bernoulli" and self.visible_kind != "bernoulli":
            raise ValueError(f"{where}: the bernoulli observation needs a sigmoid output (values in [0, 1])")
        if x is not None:
            x = self.check_data(x)
            n = x.shape[0]
        else:
            n = check_int(n, "n", 0, where)
        labels = self.one_hot(y, n, where=where)
        with pyro.plate("data", n):
            zero = torch.zeros(n, self.n_latent, dtype=self.dtype, device=self.device)
            z = pyro.sample("z", dist.Normal(zero, 1.0).to_event(1))
            g = self._generate(z, labels)
            if observation == "delta":
                obs = dist.Delta(g, event_dim=1)
            elif observation == "gaussian":
                obs = dist.Normal(g, sigma).to_event(1)
            else:
                obs = dist.Bernoulli(probs=g.clamp(1e-6, 1 - 1e-6), validate_args=False).to_event(1)
            pyro.sample("v", obs, obs=x)

    def _trace_graph(self) -> pgm.Graph:
        with torch.no_grad(), validation_disabled():
            x = torch.zeros(1, self.n_visible, dtype=self.dtype, device=self.device)
            return pgm.from_pyro(self.model, x)

    # -- samples and the decoder -------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y=None, z=None) -> torch.Tensor:
        """``n`` draws g(z [, y]) with z ~ N(0, I) from ``generator`` (or the given ``z``,
        (n, n_latent)), shape (n, n_visible); in eval mode, the module's mode untouched."""
        where = f"{type(self).__name__}.sample"
        n = check_int(n, "n", 0, where)
        _check_generator(generator, where)
        if z is None:
            z = torch.randn(n, self.n_latent, generator=generator, dtype=self.dtype, device=self.device)
        else:
            z = check_units(z, "z", self.n_latent, dtype=self.dtype, device=self.device)
            if z.shape[0] != n:
                raise ValueError(f"{where}: z must have n={n} rows, got {z.shape[0]}")
        labels = self.one_hot(y, n, where=where, generator=generator)
        return self._generate(z, labels)

    def decoder(self, sigma: float):
        r"""``(log_lik, n_latent)`` for decoder AIS: log_lik(z, x) = log N(x; g(z), σ² I)
        summed over the n_visible dimensions, shape (N,), differentiable in z (N, n_latent);
        g in eval mode. Unconditional models only."""
        where = f"{type(self).__name__}.decoder"
        sigma = check_float(sigma, "sigma", 0.0, low_open=True, where=where)
        if self.n_classes:
            raise ValueError(f"{where}: decoder AIS of a conditional model (n_classes={self.n_classes}) is not "
                             f"supported: its likelihood needs each row's label")
        log_sigma = math.log(sigma)

        def log_lik(z, x):
            d = (x - self._generate(z, None)) / sigma
            return -(0.5 * d.square() + log_sigma + 0.5 * _LOG_2PI).sum(-1)

        return log_lik, self.n_latent

    @property
    def n_parameters(self) -> int:
        """Learned values (weights and biases; batch-norm running statistics excluded)."""
        return sum(p.numel() for p in self.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
