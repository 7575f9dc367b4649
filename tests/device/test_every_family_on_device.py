"""Every family on an accelerator: a small model of each registered family moved with
``model.to(device)`` trains an epoch (writing a checkpoint), samples, scores data the way
``pgm eval`` does, and saves a model file; the file and the checkpoint load on the CPU with
the same values.

The devices are the available CUDA device, or those named in the environment variable
``PGM_TEST_DEVICES`` (comma-separated, e.g. ``cpu`` to check these tests themselves on a
machine without a GPU); with neither, every test here is skipped. An energy model's exact
log Z on the device is compared with the same model's on the CPU.
"""

from __future__ import annotations

import math
import os
import warnings

import pytest
import torch

from inference import families as registry
from inference.checkpoint import load_model, save_model
from inference.partition import exact_log_partition
from inference.partition.exact import enumeration_set
from pgm.graph import BERNOULLI_KINDS, SPIN_KINDS
from inference.cli import build_parser

from ..pgm.test_draw_every_model import small_model


def _devices() -> list[str]:
    named = os.environ.get("PGM_TEST_DEVICES")
    if named:
        return [d.strip() for d in named.split(",") if d.strip()]
    return ["cuda"] if torch.cuda.is_available() else []


DEVICES = _devices()
pytestmark = [pytest.mark.device,
              pytest.mark.skipif(not DEVICES, reason="no CUDA device (set PGM_TEST_DEVICES=cpu to run these on "
                                                     "the CPU)")]


def _data(family, model, n: int = 12) -> torch.Tensor:
    """Rows (or sequences) the model takes, on its device, from a fixed seed: binary or ±1
    for binary units, reals otherwise; a classification RBM's rows end in one-hot labels."""
    gen = torch.Generator().manual_seed(0)
    group = family.visible(model)
    shape = (n, 5, group.n_units) if family.sequences else (n, group.n_units)
    if group.kind in BERNOULLI_KINDS + SPIN_KINDS:
        x = torch.bernoulli(torch.full(shape, 0.4), generator=gen)
        x = 2 * x - 1 if group.kind in SPIN_KINDS else x
    else:
        x = torch.randn(shape, generator=gen)
    if hasattr(model, "split_labels"):
        x = torch.cat([x, torch.nn.functional.one_hot(_labels(model, n), model.n_classes).to(x)], 1)
    param = next(model.parameters())
    return x.to(dtype=param.dtype, device=param.device)


def _labels(model, n: int) -> torch.Tensor:
    return torch.arange(n) % model.n_classes


def _fit_options(family, model, method) -> dict:
    """One short epoch; labels for a conditional generator."""
    wanted = {"epochs": 1, "batch_size": 4, "progress": False, "monitor": 0, "seed": 0}
    if getattr(model, "n_classes", 0) and not hasattr(model, "split_labels"):
        wanted["labels"] = _labels(model, 12).to(next(model.parameters()).device)
    return {k: v for k, v in wanted.items() if k in family.options(method)}


def _enumerable(model, max_units: int = 20) -> bool:
    try:
        return enumeration_set(model)[1] <= max_units
    except TypeError:  # no all-binary set of groups to enumerate
        return False


def _headline_numbers(scores) -> list[float]:
    """The estimates in ``pgm eval``'s result (every ``mean`` and ``log_z``; the bounds of
    a bracket may be infinite)."""
    found = []
    for key, value in scores.items():
        if isinstance(value, dict):
            found += _headline_numbers(value)
        elif key in ("mean", "log_z") and isinstance(value, float):
            found.append(value)
    return found


def _same_state(a, b) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key].cpu(), sb[key].cpu()), key


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", registry.names())
def test_family_trains_samples_scores_and_saves_on_device(name, device, tmp_path):
    family = registry.lookup(name)
    model = small_model(family)[0].to(device)
    data = _data(family, model)
    method = family.default_method(model)
    options = _fit_options(family, model, method)
    if "checkpoint" in family.options(method):
        options["checkpoint"] = tmp_path / "checkpoint.pt"
    family.fit(model, data, method=method, **options)
    for key, value in model.state_dict().items():
        assert value.device.type == torch.device(device).type, key
        if value.is_floating_point():
            assert bool(torch.isfinite(value).all()), key

    if "samples" in family.pictures and not (hasattr(model, "corruption") and model.corruption is None):
        gen = torch.Generator(device=device).manual_seed(0)  # (an autoencoder samples by its denoising chain)
        samples = family.sample(model, 3, gen, 2)
        assert samples.shape[0] == 3 and samples.device.type == torch.device(device).type
        assert bool(torch.isfinite(samples).all())

    path = tmp_path / "model.pt"
    save_model(path, model)
    on_cpu = load_model(path, device="cpu")
    _same_state(model, on_cpu)
    assert all(v.device.type == "cpu" for v in on_cpu.state_dict().values())
    if "checkpoint" in options and options["checkpoint"].exists():  # a training checkpoint written on the device
        _same_state(model, load_model(options["checkpoint"], device="cpu"))
        resumed = load_model(path, device="cpu")  # and the run goes on on the CPU from it, one more epoch
        on_host = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in options.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a CUDA generator state reseeds the CPU's, with a warning
            family.fit(resumed, data.cpu(), method=method, **{**on_host, "epochs": 2, "resume": True})
        assert any(not torch.equal(a, b) for a, b in zip(resumed.parameters(), on_cpu.parameters()))  # it trained

    if family.evaluation == "samples":
        return
    args = build_parser().parse_args(["eval", str(path), "--no-progress", "--samples", "20", "--chains", "8",
                                      "--betas", "30"])
    scores = family.evaluate(model, data, args, lambda: data)
    numbers = _headline_numbers(scores)
    assert numbers and all(math.isfinite(v) for v in numbers), scores
    if family.evaluation == "ais" and _enumerable(model):  # its exact log Z on the device is the CPU's
        assert exact_log_partition(model).log_z == pytest.approx(exact_log_partition(on_cpu).log_z, rel=1e-5,
                                                                 abs=1e-4)
