"""Every public entry point against a table of bad inputs.

Each row calls one entry point with one thing wrong and states the exception it must
raise and a pattern its message must contain (the argument's name, and where useful the
bad value). After every call the model's ``state_dict`` is bit-for-bit what it was, and
nothing but the expected exception escapes.

The table is built from three lists, so a new model or entry point is one more entry:

* :data:`SUBJECTS` — a model family (a small seeded model and valid data for it); every
  row of :data:`ROWS` runs once per subject;
* :data:`ROWS` — ``Row(name, call, error, match)`` where ``call(ctx)`` performs the call on
  the subject's context :class:`Ctx`;
* :data:`CONSTRUCTORS` — rows for a family's constructor (which has no model to guard).

Directed models (SBN, VAE) have their own pair, :data:`DIRECTED_SUBJECTS` and
:data:`DIRECTED_ROWS`, with the same checks (they have no Gibbs state).

Files (corrupted, truncated, malicious) are in :data:`FILE_ROWS`; the command line has its
own table in ``tests/inference/test_cli_errors.py``. This module holds the shared
subjects and helpers; the ``test_*`` modules beside it hold the tables.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from typing import Callable, NamedTuple

import pytest
import torch

from inference import fit
from inference import LogZEstimate
from inference.checkpoint import load_checkpoint, write_payload
from inference.mcmc import GibbsState
from models.energy import RBM, ConvRBM, GaussianRBM, SpikeSlabRBM
from tests.models.test_conv_rbm import random_conv_rbm
from tests.models.test_spike_slab_rbm import random_spike_slab_rbm
from tests.oracles import random_gaussian_rbm, random_rbm

QUIET = dict(progress=False, monitor=0)
_LOG_Z = LogZEstimate(0.0, 0.0, 0.0, math.inf, 0, "exact")  # a well-formed estimate: the rows test other arguments
INF, NAN = float("inf"), float("nan")


class Subject(NamedTuple):
    """A model family under test: ``build()`` a small seeded model, ``data(n)`` valid rows."""

    name: str
    build: Callable[[], torch.nn.Module]
    data: Callable[[int], torch.Tensor]
    large: Callable[[], torch.nn.Module]  # one too large to enumerate


def _binary(n, width=6, seed=0):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def _real(n, width=6, seed=0):
    return torch.randn(n, width, generator=torch.Generator().manual_seed(seed))


SUBJECTS = [
    Subject("rbm", lambda: random_rbm(6, 4, seed=0, dtype=torch.float32), _binary, lambda: RBM(40, 40, seed=0)),
    Subject("grbm", lambda: random_gaussian_rbm(6, 4, seed=0, dtype=torch.float32), _real,
            lambda: GaussianRBM(40, 40, seed=0)),
    Subject("ssrbm", lambda: random_spike_slab_rbm(6, 4, seed=0, dtype=torch.float32), _real,
            lambda: SpikeSlabRBM(40, 40, seed=0)),
    Subject("rbm-stepped", lambda: random_rbm(6, 4, seed=0, dtype=torch.float32, hidden="stepped", n_steps=3),
            _binary, lambda: RBM(40, 40, seed=0, hidden="stepped")),
    Subject("grbm-nrelu", lambda: random_gaussian_rbm(6, 4, seed=0, dtype=torch.float32, hidden="nrelu", n_steps=3),
            _real, lambda: GaussianRBM(40, 40, seed=0, hidden="nrelu")),
    Subject("convrbm", lambda: random_conv_rbm((2, 3), 2, 2, 1, seed=0, dtype=torch.float32), _binary,
            lambda: ConvRBM((5, 8), 16, 3, 1, seed=0)),
]


@dataclass
class Ctx:
    """What a row's ``call`` gets: the model under test, valid data, a generator, a Gibbs
    state, a scratch folder and the model's groups."""

    model: torch.nn.Module
    data: torch.Tensor
    gen: torch.Generator
    state: GibbsState
    tmp: object
    subject: Subject

    @property
    def v(self):
        return self.model.visible_name

    def groups(self):
        return [grp.name for grp in self.model.graph.groups]

    def hidden(self):
        return next(name for name in self.groups() if name != self.v)

    def with_values(self, **values):
        return self.state._replace(values={**self.state.values, **values})

    def with_beta(self, beta):
        return self.state._replace(beta=torch.full_like(self.state.beta, beta))

    def poisoned(self, group, value=NAN):
        x = self.state.values[group].clone()
        x[0, 0] = value
        return self.with_values(**{group: x})

    def widened(self, group):
        x = self.state.values[group]
        return self.with_values(**{group: torch.cat([x, x[:, :1]], 1)})

    def bad_data(self, kind):
        x = self.data.clone()
        if kind == "nan":
            x[1, 2] = NAN
        elif kind == "inf":
            x[0, 0] = INF
        elif kind == "wide":
            x = torch.cat([x, x[:, :1]], 1)
        elif kind == "flat":
            x = x.reshape(-1)
        elif kind == "empty":
            x = x[:0]
        elif kind == "list":
            x = x.tolist()
        elif kind == "complex":
            x = x.to(torch.complex64)
        return x

    def checkpoint_of(self, model, **options):
        path = self.tmp / f"ckpt-{len(os.listdir(self.tmp))}.pt"
        fit(model, self.data, epochs=1, batch_size=10, checkpoint=path, **QUIET, **options)
        return path

    def corrupted_checkpoint(self, entry, change):
        """A training checkpoint of a copy of the model whose ``entry`` is replaced by
        ``change(old)``, rewritten with a valid checksum (the entry checks, not the
        checksum, must catch it)."""
        path = self.checkpoint_of(self.subject.build(), method="pcd")
        payload = load_checkpoint(path)
        del payload["format"], payload["checksum"]
        payload[entry] = change(payload[entry])
        write_payload(path, payload)
        return path


class Row(NamedTuple):
    name: str
    call: Callable[[Ctx], object]
    error: type
    match: str
    when: Callable[[Subject], bool] = lambda subject: True  # the subjects it applies to


def _binary_visible(subject):
    return subject.build().graph[subject.build().visible_name].kind == "bernoulli"


def _binary_latents(subject):
    """Mean-field (inpaint) needs every latent group binary."""
    model = subject.build()
    return all(g.kind == "bernoulli" for g in model.graph.groups if g.name != model.visible_name)


def _dense(subject):
    """A model built as ``cls(n_visible, n_hidden)`` with a weight matrix (not the conv RBM,
    whose rows are its own, in ``test_energy_models.CONV_ROWS``)."""
    return subject.name != "convrbm"


def _hidden_kind(subject):
    return subject.build().graph["h"].kind


def _optim(kind, value):
    return lambda c: fit(c.model, c.data, epochs=1, **{kind: value}, **QUIET)


def _resized_state(payload):
    return {k: torch.cat([v, v[..., :1]], -1) if k.startswith("W") else v for k, v in payload.items()}


def on_meta(model):
    """A copy of ``model`` on the ``meta`` device (shapes, no values); the model itself stays."""
    return copy.deepcopy(model).to("meta")


#: A count of chains, draws or rows that no machine's memory holds.
HUGE = 10**12
INVERTED = _LOG_Z._replace(lower=1.0, upper=-1.0)  # lower > log_z > upper


def unwritable_checkpoint(tmp):
    """A checkpoint path whose folder is a file: nothing can be written there."""
    (tmp / "a-file").write_text("")
    return tmp / "a-file" / "ckpt.pt"


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) or (a[k].isnan() == b[k].isnan()).all()
                                        and torch.equal(a[k].nan_to_num(), b[k].nan_to_num()) for k in a)


def assert_refused(call, error, match, model=None, generator=None):
    """``call()`` raises ``error`` with ``match`` in its message, and leaves ``model``'s
    parameters and ``generator``'s state as they were."""
    before = None if model is None else _snapshot(model)
    gen_before = None if generator is None else generator.get_state()
    with pytest.raises(error) as caught:
        call()
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
    if model is not None:
        assert _same(_snapshot(model), before), "the model changed"
    if generator is not None:
        assert torch.equal(generator.get_state(), gen_before), "the generator was drawn from"
