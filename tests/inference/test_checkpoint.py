"""Checkpoints: atomic writes, model round trips, and resumed == uninterrupted training."""

import json
import os

import pytest
import torch

from inference import checkpoint as ckpt
from inference.checkpoint import (FORMAT, build_model, load_checkpoint, load_model, model_config, payload_checksum,
                                  save_model, write_payload)
from inference.learning.fit import fit
from models.energy import RBM, GaussianRBM
from tests.oracles import random_rbm

QUIET = dict(progress=False, monitor=0)


pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=40, width=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, width, generator=g) < 0.4).float()


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


class _Crash(RuntimeError):
    """Raised from a callback to simulate a crash mid-training."""


def _crash_at(epoch):
    def callback(e, history, model):
        if e == epoch:
            raise _Crash(f"simulated crash after epoch {e}")
    return callback


def _tmp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")]


# -- models -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_save_and_load_model_round_trip(tmp_path, dtype):
    model = random_rbm(7, 4, seed=1).to(dtype)
    path = tmp_path / "sub" / "model.pt"
    save_model(path, model)
    loaded = load_model(path)
    assert type(loaded) is RBM and loaded.config() == model.config() and loaded.dtype == dtype
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    v = (torch.rand(5, 7) < 0.5).to(dtype)
    assert torch.equal(model.free_energy(v), loaded.free_energy(v))
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT
    assert json.loads(payload["config"]) == {"class": "RBM", "config": model.config()}
    assert load_model(path, device="cpu").W.device.type == "cpu"


@pytest.mark.parametrize("learn_sigma", [True, False])
def test_gaussian_rbm_round_trip_keeps_its_buffers(tmp_path, learn_sigma):
    data = 3 * torch.randn(30, 5, generator=torch.Generator().manual_seed(0)) + 2
    model = GaussianRBM.from_data(data, 3, learn_sigma=learn_sigma, seed=1)
    with torch.no_grad():
        model.log_sigma.add_(-0.2)
    save_model(tmp_path / "g.pt", model)
    loaded = load_model(tmp_path / "g.pt")
    assert type(loaded) is GaussianRBM and loaded.config() == model.config()
    assert isinstance(loaded.log_sigma, torch.nn.Parameter) == learn_sigma
    for name in ("shift", "scale", "log_sigma", "W"):
        assert torch.equal(getattr(loaded, name), getattr(model, name)), name
    assert torch.equal(loaded.free_energy(data), model.free_energy(data))


def test_build_model_and_registry(tmp_path):
    model = build_model(model_config(RBM(3, 2, seed=4)))
    assert isinstance(model, RBM) and model.config()["seed"] == 4
    assert isinstance(build_model(json.dumps({"class": "RBM", "config": {"n_visible": 2, "n_hidden": 2}})), RBM)
    with pytest.raises(ValueError, match="unknown model class 'Nope'.*RBM"):
        build_model({"class": "Nope", "config": {}})
    with pytest.raises(ValueError, match="unknown model class 'EnergyModel'"):
        build_model({"class": "EnergyModel", "config": {}})
    with pytest.raises(ValueError, match="config must be"):
        build_model({"config": {}})

    @ckpt.register_model
    class WideRBM(RBM):
        """A user subclass, registered so checkpoints can rebuild it."""

    save_model(tmp_path / "w.pt", WideRBM(4, 2, seed=0))
    assert type(load_model(tmp_path / "w.pt")) is WideRBM
    with pytest.raises(TypeError, match="EnergyModel subclass"):
        ckpt.register_model(int)


def test_load_errors(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(FileNotFoundError, match=f"^{missing} is not a valid pgm file: it does not exist"):
        load_model(missing)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not a valid pgm file: format None, expected 'pgm/2'"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(TypeError, match="EnergyModel"):
        save_model(tmp_path / "x.pt", torch.nn.Linear(2, 2))
    save_model(tmp_path / "m.pt", RBM(3, 2))
    with pytest.raises(TypeError, match="allow_nonfinite must be True or False"):
        load_model(tmp_path / "m.pt", allow_nonfinite=1)


# -- the checksum and the previous format --------------------------------------------------

def test_files_carry_a_checksum_of_their_contents(tmp_path):
    model = random_rbm(5, 3, seed=2)
    save_model(tmp_path / "m.pt", model)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format"] == FORMAT == "pgm/2"
    assert payload["checksum"].startswith("sha256:") and len(payload["checksum"]) == 7 + 64
    assert payload["checksum"] == payload_checksum(payload)
    # canonical: neither the order of the entries nor a non-contiguous layout matter ...
    shuffled = {k: payload[k] for k in reversed(list(payload))}
    shuffled["model"] = {k: v.t().contiguous().t() if v.dim() == 2 else v for k, v in payload["model"].items()}
    assert not shuffled["model"]["W"].is_contiguous()
    assert payload_checksum(shuffled) == payload["checksum"]
    # ... but every value, dtype, shape and name does
    changes = [lambda p: p["model"]["W"].view(-1)[3].copy_(torch.nextafter(p["model"]["W"].view(-1)[3], torch.tensor(9.0))),
               lambda p: p["model"].__setitem__("b", p["model"]["b"].half()),
               lambda p: p["model"].__setitem__("c", p["model"]["c"].reshape(1, -1)),
               lambda p: p["model"].__setitem__("c2", p["model"].pop("c")),
               lambda p: p.__setitem__("config", p["config"].replace("3", "4")),
               lambda p: p.__setitem__("extra", 1.0),
               lambda p: p.__setitem__("extra", "1.0"),
               lambda p: p.__setitem__("extra", (1.0,)),
               lambda p: p.__setitem__("extra", [1.0])]
    sums = set()
    for change in changes:
        p = torch.load(tmp_path / "m.pt", weights_only=True)
        change(p)
        sums.add(payload_checksum(p))
    assert len(sums) == len(changes) and payload["checksum"] not in sums


def test_write_payload_adds_format_and_checksum(tmp_path):
    model = RBM(3, 2, seed=0)
    write_payload(tmp_path / "p.pt", {"config": json.dumps(model_config(model)), "model": model.state_dict(),
                                      "note": [1, 2.5, None, {"x": torch.arange(3)}]})
    payload = load_checkpoint(tmp_path / "p.pt")
    assert payload["format"] == FORMAT and payload["note"][3]["x"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"must not hold \['format', 'checksum'\]"):
        write_payload(tmp_path / "q.pt", {"format": FORMAT, "checksum": "x"})
    with pytest.raises(TypeError, match="dict with str keys"):
        write_payload(tmp_path / "q.pt", {1: 2})
    assert not (tmp_path / "q.pt").exists()


def test_previous_format_loads_with_a_warning(tmp_path):
    model = random_rbm(5, 3, seed=3)
    path = tmp_path / "old.pt"
    torch.save({"format": "pgm/1", "config": json.dumps(model_config(model)), "model": model.state_dict()}, path)
    with pytest.warns(UserWarning, match="format 'pgm/1' carries no checksum, so its contents cannot be verified"):
        loaded = load_model(path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    with pytest.warns(UserWarning, match="cannot be verified"):
        assert load_checkpoint(path)["format"] == "pgm/1"
    save_model(path, loaded)  # saving again upgrades the file
    assert load_checkpoint(path)["format"] == FORMAT


def test_allow_nonfinite(tmp_path):
    model = random_rbm(4, 2, seed=0)
    with torch.no_grad():
        model.W[1, 0] = float("nan")
        model.c[1] = float("-inf")
    save_model(tmp_path / "nan.pt", model)
    with pytest.raises(ValueError, match=r"non-finite parameters \(NaN or inf; W: 1 of 8, c: 1 of 2\); pass "
                                         "allow_nonfinite=True"):
        load_model(tmp_path / "nan.pt")
    with pytest.raises(ValueError, match="non-finite"):
        load_checkpoint(tmp_path / "nan.pt")
    loaded = load_model(tmp_path / "nan.pt", allow_nonfinite=True)
    assert torch.equal(loaded.W.isnan(), model.W.isnan()) and loaded.c[1].item() == float("-inf")
    assert load_checkpoint(tmp_path / "nan.pt", allow_nonfinite=True)["model"]["W"].isnan().sum() == 1


def test_model_that_cannot_be_built_on_meta_is_checked_by_a_real_build(tmp_path):
    @ckpt.register_model
    class ItemRBM(RBM):
        """A constructor that reads a tensor's value, which the meta device cannot give."""

        def __init__(self, n_visible, n_hidden, **kwargs):
            super().__init__(n_visible, n_hidden, **kwargs)
            self.first = float(self.W[0, 0].item())

    with pytest.raises(RuntimeError, match="meta"), torch.device("meta"):
        ItemRBM(3, 2, seed=0)
    model = ItemRBM(3, 2, seed=0)
    save_model(tmp_path / "i.pt", model)
    assert torch.equal(load_model(tmp_path / "i.pt").W, model.W)
    payload = torch.load(tmp_path / "i.pt", weights_only=True)
    payload["config"] = payload["config"].replace('"n_visible": 3', '"n_visible": 4')
    del payload["format"], payload["checksum"]
    write_payload(tmp_path / "j.pt", payload)
    with pytest.raises(ValueError, match=r"W has shape \(3, 2\), the config gives \(4, 2\)"):
        load_model(tmp_path / "j.pt")


# -- atomic writes --------------------------------------------------------------------------

def test_crash_while_writing_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    old = random_rbm(5, 3, seed=0)
    save_model(path, old)
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise _Crash("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(_Crash):
        save_model(path, random_rbm(5, 3, seed=1))
    monkeypatch.undo()
    assert path.read_bytes() == before and _tmp_files(tmp_path) == []
    assert torch.equal(load_model(path).W, old.W)


def test_crash_during_training_keeps_last_checkpoint(tmp_path, monkeypatch):
    """A crash mid-write (3rd checkpoint) and a crash from a callback both leave the
    previous checkpoint whole and loadable."""
    path = tmp_path / "ckpt.pt"
    real_save, calls = torch.save, []

    def flaky_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            f.write(b"garbage")
            raise _Crash("killed while writing")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", flaky_save)
    with pytest.raises(_Crash):
        fit(RBM(6, 3, seed=0), _data(), epochs=5, checkpoint=path, **QUIET)
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 2 and _tmp_files(tmp_path) == []
    assert isinstance(load_model(path), RBM)

    with pytest.raises(_Crash):
        fit(RBM(6, 3, seed=0), _data(), epochs=9, checkpoint=path, checkpoint_every=2,
            callbacks=_crash_at(5), **QUIET)
    payload = load_checkpoint(path)
    assert payload["epoch"] == 4 and payload["history"]["epoch"] == [1, 2, 3, 4]


# -- resume ----------------------------------------------------------------------------------

SETTINGS = [
    pytest.param(dict(method="cd", k=2), id="cd2"),
    pytest.param(dict(method="pcd", n_chains=9, average="polyak", lr_schedule="linear"), id="pcd-polyak-linear"),
    pytest.param(dict(method="pcd", average=0.8, lr_schedule="cosine", sample_visible=False), id="pcd-ema-cosine"),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_resume_equals_uninterrupted(tmp_path, settings):
    data = _data(43)  # 5 batches of 10, the last one short
    common = dict(epochs=8, batch_size=10, momentum="hinton", seed=3, progress=False, monitor=20, **settings)
    full = RBM(6, 4, seed=0)
    hist_full = fit(full, data, **common)

    path = tmp_path / "run" / "ckpt.pt"
    with pytest.raises(_Crash):
        fit(RBM(6, 4, seed=0), data, checkpoint=path, callbacks=_crash_at(6), **common)
    assert load_checkpoint(path)["epoch"] == 5
    resumed = RBM(6, 4, seed=1)  # different initial weights: all state comes from the file
    hist = fit(resumed, data, checkpoint=path, resume=True, **common)
    assert torch.equal(_params(resumed), _params(full))
    a, b = hist.as_dict(), hist_full.as_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    # a finished run resumes to a no-op with the same result
    again = RBM(6, 4, seed=2)
    fit(again, data, checkpoint=path, resume=True, **common)
    assert torch.equal(_params(again), _params(full))


def test_resume_can_extend_training(tmp_path):
    """With a constant rate, 2 epochs then 2 more equal 4 epochs in one go."""
    data = _data()
    path = tmp_path / "ckpt.pt"
    a = RBM(6, 3, seed=0)
    opts = dict(method="pcd", lr_schedule="constant", **QUIET)
    fit(a, data, epochs=2, checkpoint=path, **opts)
    hist = fit(a, data, epochs=4, checkpoint=path, resume=True, **opts)
    b = RBM(6, 3, seed=0)
    fit(b, data, epochs=4, **opts)
    assert hist.epoch == [1, 2, 3, 4] and torch.equal(_params(a), _params(b))


def test_resume_checks(tmp_path):
    data = _data()
    path = tmp_path / "ckpt.pt"
    with pytest.raises(FileNotFoundError):
        fit(RBM(6, 3), data, epochs=1, checkpoint=path, resume=True, **QUIET)
    hist = fit(RBM(6, 3, seed=0), data, epochs=2, checkpoint=path, resume="auto", **QUIET)  # fresh start
    assert len(hist) == 2
    with pytest.raises(ValueError, match="lr: checkpoint 0.1 vs now 0.2"):
        fit(RBM(6, 3), data, epochs=3, lr=0.2, checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match="the run differs.*data"):
        fit(RBM(6, 3), _data(seed=1), epochs=3, checkpoint=path, resume=True, **QUIET)
    with pytest.raises(ValueError, match=r"size mismatch.*W: checkpoint \(6, 3\) vs model \(6, 4\)"):
        fit(RBM(6, 4), data, epochs=3, checkpoint=path, resume=True, **QUIET)
    save_model(tmp_path / "model.pt", RBM(6, 3))
    with pytest.raises(ValueError, match="not a training checkpoint"):
        fit(RBM(6, 3), data, epochs=3, checkpoint=tmp_path / "model.pt", resume=True, **QUIET)


def test_checkpoint_contents_load_with_weights_only(tmp_path):
    path = tmp_path / "ckpt.pt"
    fit(RBM(6, 3, seed=0), _data(), epochs=2, method="pcd", average="polyak", lr_schedule="linear",
        checkpoint=path, **QUIET)
    payload = torch.load(path, weights_only=True)
    assert {"format", "config", "model", "fit", "epoch", "history", "optimizer", "scheduler",
            "estimator", "generator", "average"} <= payload.keys()
    assert payload["estimator"]["chains"]["values"]["v"].shape == (20, 6)  # n_chains = batch_size
    assert payload["average"]["n"] > 0 and payload["epoch"] == 2
    assert json.loads(payload["fit"])["method"] == "pcd"
    assert payload["checksum"] == payload_checksum(payload)
