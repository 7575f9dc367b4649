"""What the generator models of this package share: a generator network g(z [, y]) read
as a Pyro program, its labels, its samples and its Gaussian decoder likelihood.

:class:`GeneratorProgram` is a mixin for a ``torch.nn.Module`` with ``generator``
(``generator(z, y_onehot=None)`` → (n, n_visible)), ``n_visible``, ``n_latent``,
``n_classes``, ``visible_kind`` and ``config()``; :class:`~models.adversarial.GAN`,
:class:`~models.adversarial.DCGAN` and :class:`~models.adversarial.GMMN` use it. Where
the models once differed, one rule holds for all:

* **labels** of a conditional model are class indices (n,) or one-hot rows (n, K); when
  :meth:`~GeneratorProgram.sample` is given none, the rows take the classes in turn,
  0, 1, …, K − 1, 0, … (deterministic: a sample of K rows shows every class once).
  The Pyro program :meth:`~GeneratorProgram.model` instead draws an unobserved label
  from its prior, Categorical(1/K), as a program should;
* **eval mode**: the generator is evaluated in eval mode (batch normalisation with its
  running statistics, so that a row does not depend on the others of its batch) by
  every method here, and each method leaves the module's train/eval flags as they were
  (nothing changes for a generator without batch normalisation);
* **the decoder** :meth:`~GeneratorProgram.decoder` of a conditional model takes the
  labels of the rows of x and repeats each as decoder AIS repeats the rows of x for its
  chains, so conditional models have a decoder likelihood too;
* **σ** is for the Gaussian observation only: the program refuses it with the others.
"""

from __future__ import annotations

import contextlib
from functools import partial

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

    @property
    def data_groups(self) -> tuple[str, ...]:
        """The groups whose values, side by side, form a row of data: ``("v",)``, or a
        conditional model's pixels and one-hot label ``("v", "y")``, rows [pixels, one-hot
        label] as ``--data digits-labels`` gives them."""
        return ("v", "y") if self.n_classes else ("v",)

    @property
    def data_width(self) -> int:
        """Columns of such a row: n_visible, plus n_classes for the one-hot label."""
        return self.n_visible + self.n_classes

    # -- inputs ----------------------------------------------------------------------------
    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (a float tensor ``(batch, n_visible)``, finite; in [0, 1] for a
        sigmoid output) and moved to the model's dtype and device."""
        return check_units(x, name, self.n_visible, unit_interval=self.visible_kind == "bernoulli",
                           dtype=self.dtype, device=self.device)

    def check_labels(self, y, n: int | None = None, name: str = "y", where: str | None = None) -> torch.Tensor:
        """Labels ``y`` as class indices, a long tensor (n,) on the model's device: ``y``
        given as indices (n,) in 0..n_classes − 1 or as one-hot rows (n, n_classes);
        ``n`` None accepts any number of rows. Refused for an unconditional model."""
        where = where or type(self).__name__
        if self.n_classes == 0:
            raise ValueError(f"{where}: {name} (labels) needs a conditional model (n_classes > 0); this one has "
                             f"n_classes=0, so pass {name}=None")
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{where}: {name} must be a tensor of class indices (n,) or one-hot rows "
                            f"(n, {self.n_classes}), got {type(y).__name__}")
        if y.dim() == 2:
            from pgm.checks import check_onehot
            y = check_onehot(y, name, self.n_classes, dtype=self.dtype, device=self.device).argmax(1)
        elif y.dim() == 1 and not y.is_floating_point() and not y.is_complex() and y.dtype != torch.bool:
            if y.numel() and bool(((y < 0) | (y >= self.n_classes)).any()):
                raise ValueError(f"{where}: {name} must hold class indices in 0..{self.n_classes - 1}, got values "
                                 f"from {int(y.min())} to {int(y.max())}")
        elif y.dim() == 1:
            raise TypeError(f"{where}: {name} must be an integer tensor of class indices, shape (n,), got "
                            f"{y.dtype}; convert with torch.as_tensor({name}).long()")
        else:
            raise ValueError(f"{where}: {name} must be class indices of shape (n,) or one-hot rows "
                             f"(n, {self.n_classes}), got shape {tuple(y.shape)}")
        if n is not None and y.shape[0] != n:
            raise ValueError(f"{where}: {name} must have {n} rows (one label per row), got {y.shape[0]}")
        return y.to(device=self.device, dtype=torch.long)

    def default_labels(self, n: int) -> torch.Tensor | None:
        """The labels of ``n`` rows drawn without labels: the classes in turn, 0, 1, …,
        K − 1, 0, … (None for an unconditional model)."""
        return torch.arange(n, device=self.device) % self.n_classes if self.n_classes else None

    def one_hot(self, y, n: int | None = None, name: str = "y", where: str | None = None) -> torch.Tensor | None:
        """Labels as one-hot rows (n, n_classes) of the model's dtype, from ``y`` as taken
        by :meth:`check_labels`; ``y`` None: None for an unconditional model, the classes
        in turn (:meth:`default_labels`) of ``n`` rows for a conditional one."""
        if y is None:
            if self.n_classes == 0:
                return None
            if n is None:
                raise ValueError(f"{where or type(self).__name__}: a conditional model needs the labels {name} "
                                 f"(or the number of rows n)")
            y = self.default_labels(n)
        y = self.check_labels(y, n, name, where)
        return F.one_hot(y, self.n_classes).to(self.dtype)

    def _generate(self, z, y_onehot=None):
        with evaluation_mode(self.generator):
            return self.generator(z, y_onehot)

    def _check_sigma(self, sigma, where):
        if sigma is None:
            raise ValueError(f"{where}: the gaussian observation needs sigma (> 0)")
        return check_float(sigma, "sigma", 0.0, low_open=True, where=where)

    # -- the program -----------------------------------------------------------------------
    def model(self, x=None, n: int = 1, y=None, observation: str = "delta", sigma: float | None = None):
        r"""p(z) [p(y)] p(v | g(z [, y])): ``z`` ~ N(0, I) (``to_event(1)``) in
        ``pyro.plate("data")``; for a conditional model the label ``y`` ~ Categorical(1/K),
        observed when given (indices or one-hot rows); then ``v`` observes g(z [, y]),
        evaluated in eval mode.

        Parameters
        ----------
        x : Tensor (batch, n_visible), optional
            Observed values of ``v``; without it ``n`` rows are drawn.
        n : int, default 1
            Rows when ``x`` is None.
        y : Tensor, optional
            Labels of a conditional model (drawn from the prior when None).
        observation : {"delta", "gaussian", "bernoulli"}, default "delta"
            ``v`` ~ δ(g(z)) (the implicit model itself), N(g(z), σ² I) (decoder AIS) or
            Bernoulli(g(z)) (sigmoid outputs only).
        sigma : float, optional
            σ of the Gaussian observation (required for it, refused otherwise).

        Returns the value of ``v``, shape (n, n_visible).
        """
        where = f"{type(self).__name__}.model"
        check_choice(observation, "observation", OBSERVATIONS, where)
        if observation == "gaussian":
            sigma = self._check_sigma(sigma, where)
        elif sigma is not None:
            raise ValueError(f"{where}: sigma applies to the gaussian observation only, got sigma={sigma!r} with "
                             f"observation={observation!r}")
        if observation == "bernoulli" and self.visible_kind != "bernoulli":
            raise ValueError(f"{where}: the bernoulli observation needs a sigmoid output (values in [0, 1]); use "
                             "'gaussian' for a linear output")
        if x is not None:
            x = self.check_data(x)
            n = x.shape[0]
        else:
            n = check_int(n, "n", 0, where)
        if y is not None:
            y = self.check_labels(y, n, where=where)
        with pyro.plate("data", n):
            zero = torch.zeros(n, self.n_latent, dtype=self.dtype, device=self.device)
            z = pyro.sample("z", dist.Normal(zero, 1.0).to_event(1))
            if self.n_classes:
                logits = torch.zeros(n, self.n_classes, dtype=self.dtype, device=self.device)
                y = pyro.sample("y", dist.Categorical(logits=logits), obs=y).long()
            g = self._generate(z, None if y is None else F.one_hot(y, self.n_classes).to(self.dtype))
            if observation == "delta":
                obs = dist.Delta(g, event_dim=1)
            elif observation == "gaussian":
                obs = dist.Normal(g, sigma).to_event(1)
            else:
                obs = dist.Bernoulli(probs=g.clamp(1e-6, 1 - 1e-6), validate_args=False).to_event(1)
            return pyro.sample("v", obs, obs=x)

    @property
    def graph(self) -> pgm.Graph:
        """``z`` (and the observed label ``y``) → ``v`` (observed), traced once from
        :meth:`model` with the observation of the model's visible kind, so that ``v`` is a
        ``bernoulli`` or ``gaussian`` group."""
        graph = self.__dict__.get("_graph")
        if graph is None:
            with torch.no_grad(), validation_disabled():
                x = torch.zeros(1, self.n_visible, dtype=self.dtype, device=self.device)
                y = torch.zeros(1, dtype=torch.long, device=self.device) if self.n_classes else None
                sigma = 1.0 if self.visible_kind == "gaussian" else None
                graph = pgm.from_pyro(self.model, x, 1, y, self.visible_kind, sigma)
            self.__dict__["_graph"] = graph
        return graph

    @property
    def latent_names(self) -> list[str]:
        return ["z"]

    # -- samples and the decoder -------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y=None, z=None) -> torch.Tensor:
        """``n`` draws g(z [, y]) with z ~ N(0, I) from ``generator`` (or the given ``z``,
        (n, n_latent)), shape (n, n_visible), in eval mode, the module's mode untouched.
        Labels ``y`` of a conditional model (indices (n,) or one-hot rows) default to the
        classes in turn, 0, 1, …, K − 1, 0, …"""
        where = f"{type(self).__name__}.sample"
        n = check_int(n, "n", 0, where)
        _check_generator(generator, where)
        labels = self.one_hot(y, n, where=where)
        if z is None:
            z = torch.randn(n, self.n_latent, generator=generator, dtype=self.dtype, device=self.device)
        else:
            z = check_units(z, "z", self.n_latent, dtype=self.dtype, device=self.device)
            if z.shape[0] != n:
                raise ValueError(f"{where}: z must have n={n} rows, got {z.shape[0]}")
        return self._generate(z, labels)

    def decoder_log_prob(self, z: torch.Tensor, x: torch.Tensor, sigma: float, y=None) -> torch.Tensor:
        r"""log N(x; g(z [, y]), σ² I) of aligned rows, summed over the dimensions, shape
        (N,), differentiable in z (N, n_latent); g in eval mode. Labels ``y`` of a
        conditional model: N of them, or n with N a multiple of n, each label then repeated
        N / n times in a row (how decoder AIS repeats the rows of x for its chains)."""
        where = f"{type(self).__name__}.decoder_log_prob"
        if y is not None:
            y = self.check_labels(y, None, where=where)
            if not y.shape[0] or z.shape[0] % y.shape[0]:
                raise ValueError(f"{where}: z has {z.shape[0]} rows, not a multiple of the {y.shape[0]} labels y")
            y = F.one_hot(y.repeat_interleave(z.shape[0] // y.shape[0]), self.n_classes).to(self.dtype)
        elif self.n_classes:
            raise ValueError(f"{where}: a conditional model needs the labels y of the rows of x")
        return dist.Normal(self._generate(z, y), sigma).log_prob(x).sum(-1)

    def decoder(self, sigma: float, y=None):
        """``(log_lik, n_latent)`` for :func:`inference.evaluation.decoder_ais.decoder_ais`:
        ``log_lik(z, x)`` = :meth:`decoder_log_prob` with σ = ``sigma`` and, for a
        conditional model, the labels ``y`` of the rows of x (required) bound in: its
        attribute ``bound_rows`` (the number of labels, None without) lets decoder AIS
        refuse to split these rows across processes, which would misalign the labels."""
        where = f"{type(self).__name__}.decoder"
        sigma = check_float(sigma, "sigma", 0.0, low_open=True, where=where)
        if y is not None:
            y = self.check_labels(y, None, where=where)
        elif self.n_classes:
            raise ValueError(f"{where}: a conditional model needs the labels y of the rows of x")
        log_lik = partial(self.decoder_log_prob, sigma=sigma, y=y)
        log_lik.bound_rows = None if y is None else y.shape[0]  # decoder AIS will not split such rows
        return log_lik, self.n_latent

    @property
    def n_parameters(self) -> int:
        """Learned values (weights and biases; batch-norm running statistics excluded)."""
        return sum(p.numel() for p in self.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
