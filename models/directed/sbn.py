r"""The layered sigmoid belief net with a bottom-up recognition net (a Helmholtz machine)."""

from __future__ import annotations

import copy

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_device, check_init, check_int, check_memory, check_sizes
from .base import DirectedModel

__all__ = ["SigmoidBeliefNet", "HelmholtzMachine", "MAX_EXACT_LATENT"]

#: Largest number of latent units :meth:`SigmoidBeliefNet.exact_log_likelihood` enumerates.
MAX_EXACT_LATENT = 16
_CELLS = 1 << 22  # states × rows per enumeration chunk


def _bernoulli_log_prob(logits: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Σ_i log Bernoulli(value_i; σ(logits_i)) over the last dimension."""
    return (value * logits - F.softplus(logits)).sum(-1)


class _Stack(nn.Module):
    """Linear maps between consecutive layers (plain ``torch.nn``: parameters stay in the
    module's ``state_dict``), plus a bias for the top layer of the generative side."""

    def __init__(self, pairs, top: int | None = None):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        if top is not None:
            self.top = nn.Parameter(torch.zeros(top))


class SigmoidBeliefNet(DirectedModel):
    r"""A layered sigmoid belief net with a bottom-up recognition SBN as its guide.

    With layers h_0 = v (visible, n_0 units), h_1, …, h_L (``sizes = [n_0, …, n_L]``):

    .. math::

        p(h_L) = \prod_j \mathrm{Bernoulli}(h_{L,j}; \sigma(a_j)), \qquad
        p(h_{l-1} \mid h_l) = \prod_i \mathrm{Bernoulli}(h_{l-1,i}; \sigma(W_l h_l + b_{l-1})_i),

        q(h_l \mid h_{l-1}) = \prod_j \mathrm{Bernoulli}(h_{l,j}; \sigma(R_l h_{l-1} + c_l)_j),
        \qquad q(h \mid v) = \prod_{l=1}^{L} q(h_l \mid h_{l-1}).

    The generative net with its recognition net is a Helmholtz machine (Dayan, Hinton,
    Neal & Zemel 1995); :data:`HelmholtzMachine` is the same class.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the visible layer up, at least two (e.g. ``[64, 32, 16]``).
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights (biases start at zero).
    seed : int, optional
        Seed of the initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    generative : nn.Module
        ``generative.layers[l - 1]`` maps h_l to the logits of h_{l-1} (W_l, b_{l-1});
        ``generative.top`` is a, shape (n_L,).
    recognition : nn.Module
        ``recognition.layers[l - 1]`` maps h_{l-1} to the logits of h_l (R_l, c_l).
    graph : pgm.Graph
        Traced from :meth:`model`: ``h{L}`` → … → ``h1`` → ``v`` (observed), all bernoulli.

    Notes
    -----
    Sample sites are ``"h{L}"``, …, ``"h1"`` and ``"v"``, each of shape (batch, units)
    inside ``pyro.plate("data")``.

    References
    ----------
    R. Neal, "Connectionist learning of belief networks", Artificial Intelligence, 1992.
    P. Dayan, G. Hinton, R. Neal, R. Zemel, "The Helmholtz machine", Neural Computation, 1995.

    Examples
    --------
    >>> sbn = SigmoidBeliefNet([6, 3, 2], seed=0)
    >>> sbn.graph.parents("v")
    {'h1'}
    >>> sbn.sample(4, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 6])
    """

    #: The training method :func:`inference.fit` uses when none is given.
    default_method = "rws"

    def __init__(self, sizes, *, weight_std: float = 0.01, seed: int | None = None):
        super().__init__()
        sizes = check_sizes(sizes, "SigmoidBeliefNet", 2, "visible and one latent")
        weight_std, seed = check_init("SigmoidBeliefNet", weight_std, seed)
        check_memory("SigmoidBeliefNet", 2 * sum(a * b for a, b in zip(sizes, sizes[1:])))
        self.sizes, self.weight_std, self.seed = list(sizes), float(weight_std), seed
        self.n_visible, self.n_layers = sizes[0], len(sizes) - 1
        self.generative = _Stack([(sizes[l], sizes[l - 1]) for l in range(1, len(sizes))], top=sizes[-1])
        self.recognition = _Stack([(sizes[l - 1], sizes[l]) for l in range(1, len(sizes))])
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for linear in [*self.generative.layers, *self.recognition.layers]:
                linear.weight.copy_(torch.randn(linear.weight.shape, generator=gen) * weight_std)
                linear.bias.zero_()
        self.graph = self._trace_graph(self.n_visible)

    def config(self) -> dict:
        return {"sizes": list(self.sizes), "weight_std": self.weight_std, "seed": self.seed}

    @property
    def latent_names(self) -> list[str]:
        """``["h1", …, "h{L}"]``, bottom-up."""
        return [f"h{l}" for l in range(1, self.n_layers + 1)]

    # -- the Pyro programs ------------------------------------------------------------
    def model(self, x: torch.Tensor) -> None:
        """The generative program p(h_L) ∏_l p(h_{l-1} | h_l), with ``v`` observed as ``x``
        (shape (batch, n_visible), binary)."""
        x = self.check_data(x)
        L = self.n_layers
        with pyro.plate("data", x.shape[0]):
            h = pyro.sample(f"h{L}", dist.Bernoulli(logits=self.generative.top.expand(x.shape[0], -1)).to_event(1))
            for l in range(L, 1, -1):
                h = pyro.sample(f"h{l - 1}", dist.Bernoulli(logits=self.generative.layers[l - 1](h)).to_event(1))
            pyro.sample("v", dist.Bernoulli(logits=self.generative.layers[0](h)).to_event(1), obs=x)

    def guide(self, x: torch.Tensor) -> None:
        """The recognition program ∏_l q(h_l | h_{l-1}), bottom-up from h_0 = ``x``."""
        x = self.check_data(x)
        with pyro.plate("data", x.shape[0]):
            h = x
            for l in range(1, self.n_layers + 1):
                h = pyro.sample(f"h{l}", dist.Bernoulli(logits=self.recognition.layers[l - 1](h)).to_event(1))

    # -- plain tensor code: densities, sampling, enumeration ------------------------------
    @classmethod
    def from_data(cls, data: torch.Tensor, sizes, **kwargs) -> "SigmoidBeliefNet":
        """A net for ``data`` (binary, (n, sizes[0])) with b_0 set from its marginals."""
        model = cls(sizes, **kwargs)
        data = model.check_data(data, "data")
        with torch.no_grad():
            p = data.mean(0).clamp(1e-3, 1 - 1e-3)
            model.generative.layers[0].bias.copy_(torch.log(p) - torch.log1p(-p))
        return model

    def log_joint(self, x: torch.Tensor, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        r"""log p(x, h) = log p(h_L) + Σ_l log p(h_{l-1} | h_l), summed over units.

        ``x`` (…, n_visible) and ``latents[f"h{l}"]`` (…, n_l) broadcast against each
        other; the result has their broadcast leading shape.
        """
        L = self.n_layers
        h = latents[f"h{L}"]
        out = _bernoulli_log_prob(self.generative.top, h)
        for l in range(L, 0, -1):
            below = x if l == 1 else latents[f"h{l - 1}"]
            out = out + _bernoulli_log_prob(self.generative.layers[l - 1](h), below)
            h = below
        return out

    def guide_log_prob(self, x: torch.Tensor, latents: dict[str, torch.Tensor]) -> torch.Tensor:
        r"""log q(h | x) = Σ_l log q(h_l | h_{l-1}), broadcasting like :meth:`log_joint`."""
        out, below = 0.0, x
        for l in range(1, self.n_layers + 1):
            h = latents[f"h{l}"]
            out = out + _bernoulli_log_prob(self.recognition.layers[l - 1](below), h)
            below = h
        return out

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        r"""The recognition net's means bottom-up (q(h_l = 1 | h_{l−1}) propagated as
        probabilities), then the generative net's means top-down, shape (n, n_visible)."""
        h = self.check_data(x, "x")
        for up in self.recognition.layers:
            h = torch.sigmoid(up(h))
        for down in reversed(self.generative.layers):
            h = torch.sigmoid(down(h))
        return h

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, latents: bool = False):
        """``n`` ancestral samples: h_L from its prior, then each layer given the one above.

        Returns the visible samples, shape (n, n_visible), or with ``latents=True`` a dict
        of every layer (``"v"``, ``"h1"``, …).
        """
        n = check_int(n, "n", 0, where="SigmoidBeliefNet.sample")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"SigmoidBeliefNet.sample: generator must be a torch.Generator or None, "
                            f"got {type(generator).__name__}")
        L = self.n_layers
        out = {}
        h = torch.bernoulli(torch.sigmoid(self.generative.top).expand(n, -1), generator=generator)
        out[f"h{L}"] = h
        for l in range(L, 0, -1):
            h = torch.bernoulli(torch.sigmoid(self.generative.layers[l - 1](h)), generator=generator)
            out["v" if l == 1 else f"h{l - 1}"] = h
        return out if latents else out["v"]

    def _enumerable(self, where: str) -> int:
        n_latent = sum(self.sizes[1:])
        if n_latent > MAX_EXACT_LATENT:
            raise ValueError(f"{where}: enumerates all 2**{n_latent} latent states of this {self.sizes} net; "
                             f"at most {MAX_EXACT_LATENT} latent units can be enumerated. Estimate the "
                             "log-likelihood with inference.importance_log_likelihood instead")
        return n_latent

    def all_latent_states(self) -> dict[str, torch.Tensor]:
        """Every joint latent state, layer by layer: ``{f"h{l}": (2**n_latent, n_l)}``
        (counting order, first unit of h1 most significant); at most
        :data:`MAX_EXACT_LATENT` latent units."""
        n_latent = self._enumerable("SigmoidBeliefNet.all_latent_states")
        k = torch.arange(2 ** n_latent, device=self.device)
        bits = ((k[:, None] >> torch.arange(n_latent - 1, -1, -1, device=self.device)) & 1).to(self.dtype)
        return dict(zip(self.latent_names, bits.split(self.sizes[1:], dim=1)))

    @torch.no_grad()
    def exact_log_posterior(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(:meth:`all_latent_states`, log p(h | x) of shape (batch, 2**n_latent), float64)."""
        x = self.check_data(x)
        log_joint = self._log_joint_all(x)
        return self.all_latent_states(), log_joint - torch.logsumexp(log_joint, 1, keepdim=True)

    @torch.no_grad()
    def exact_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        r"""log p(x) = log Σ_h p(x, h) by enumerating every latent state, in float64.

        Parameters
        ----------
        x : Tensor, shape (batch, n_visible)
            Binary data.

        Returns
        -------
        Tensor, shape (batch,), float64

        Raises
        ------
        ValueError
            More than :data:`MAX_EXACT_LATENT` latent units, or bad data.
        """
        check_device(self, "model", "SigmoidBeliefNet.exact_log_likelihood")
        x = self.check_data(x)
        return torch.logsumexp(self._log_joint_all(x), 1)

    def _log_joint_all(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_b, h_s), shape (batch, 2**n_latent), float64 on a float64 copy."""
        self._enumerable("SigmoidBeliefNet.exact_log_likelihood")
        net = copy.deepcopy(self).double()
        states = net.all_latent_states()
        x = x.double()
        n_states = 2 ** sum(self.sizes[1:])
        rows = max(1, _CELLS // n_states)
        chunks = [net.log_joint(x[i:i + rows, None, :], {k: s[None] for k, s in states.items()})
                  for i in range(0, x.shape[0], rows)]
        return torch.cat(chunks, 0) if chunks else x.new_zeros(0, n_states)


#: The sigmoid belief net with its recognition network, trained by wake-sleep or
#: reweighted wake-sleep: the same class as :class:`SigmoidBeliefNet`.
HelmholtzMachine = SigmoidBeliefNet
