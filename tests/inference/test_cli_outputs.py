"""What ``pgm`` writes: an earlier run's outputs are never overwritten without ``--force``
(``pgm fit`` continues one with ``--resume``), a diverged run says how to run again, and
every JSON it prints or writes is valid JSON (no NaN or Infinity)."""

import shlex

import numpy as np
import pytest
import torch

import inference.demo
from inference import families as registry
from inference.checkpoint import save_model
from inference.cli import main
from models.directed import VAE
from models.energy import RBM
from pgm.datasets import load_digits
from tests.inference.cli_run import run_ok as _ok
from tests.inference.cli_run import strict_json


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save((torch.rand(40, 64, generator=torch.Generator().manual_seed(0)) < 0.5).float(), path)
    return path


def _fit(tiny, out, *extra):
    return main(["fit", "rbm", "--data", str(tiny), "--hidden", "3", "--epochs", "1", "--batch-size", "20",
                 "--no-progress", "--out", str(out), *extra])


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.usefixtures("one_thread")
def test_fit_refuses_another_runs_folder_unless_force_or_resume(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert _fit(tiny, out) == 0
    before = _files(out)
    assert set(before) == {"checkpoint.pt", "history.json", "model.pt"}
    capsys.readouterr()
    assert _fit(tiny, out, "--seed", "1") == 2  # refused before any work: nothing changes
    err = capsys.readouterr().err
    assert err == (f"pgm fit rbm: error: --out {out} holds the outputs of another run (checkpoint.pt, history.json, "
                   "model.pt); add --force to overwrite them, --resume to continue it, or name another --out\n")
    assert _files(out) == before
    # --force: the old run's files go (a stale checkpoint of another model too); other files stay
    (out / "checkpoint.layer1.pt").write_bytes(b"an older DBN's checkpoint\n")
    (out / "notes.txt").write_text("mine\n")
    assert _fit(tiny, out, "--seed", "1", "--force") == 0
    after = _files(out)
    assert set(after) == {"checkpoint.pt", "history.json", "model.pt", "notes.txt"}
    assert after["model.pt"] != before["model.pt"] and after["notes.txt"] == b"mine\n"
    # --resume continues it, one more epoch
    assert _fit(tiny, out, "--seed", "1", "--epochs", "2", "--resume") == 0
    assert strict_json((out / "history.json").read_text())["epoch"] == [1, 2]


def test_a_folder_of_other_files_is_not_another_run(tiny, tmp_path, one_thread):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    assert _fit(tiny, out) == 0 and (out / "notes.txt").read_text() == "mine\n"


def test_demo_refuses_an_earlier_demos_files_unless_force(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(inference.demo, "run_demo", lambda out, **kwargs: ran.append(kwargs["parts"]))
    out = tmp_path / "demo"
    out.mkdir()
    (out / "dbn.pt").write_bytes(b"an earlier demo's\n")
    _ok(["demo", "--out", str(out), "--parts", "rbm,dbm"])  # writes no dbn.pt, but...
    (out / "metrics.json").write_text("{}\n")  # ...every part writes metrics.json
    assert main(["demo", "--out", str(out), "--parts", "rbm"]) == 2
    assert "holds the outputs of an earlier demo (metrics.json)" in capsys.readouterr().err
    _ok(["demo", "--out", str(out), "--parts", "rbm", "--force"])
    assert ran == [("rbm", "dbm"), ("rbm",)]


def test_sample_graph_and_filters_overwrite_only_with_force(tmp_path, capsys):
    save_model(tmp_path / "m.pt", RBM(64, 3, seed=0))
    out = tmp_path / "x.png"
    for command in (["sample", str(tmp_path / "m.pt"), "--n", "4", "--steps", "1"], ["graph", "rbm:64x3"],
                    ["filters", str(tmp_path / "m.pt")]):
        out.write_bytes(b"an earlier picture\n")
        assert main([*command, "--out", str(out)]) == 2
        assert f"--out {out} exists; add --force" in capsys.readouterr().err
        assert out.read_bytes() == b"an earlier picture\n"
        _ok([*command, "--out", str(out), "--force"])
        assert out.read_bytes()[:4] == b"\x89PNG"


def _diverge(model, data, **kwargs):
    kwargs["checkpoint"].write_bytes(b"epoch 5\n")  # the last good epoch's checkpoint
    raise FloatingPointError("fit: parameters ['W'] became NaN or infinite during epoch 6: training diverged")


def test_a_diverged_run_says_to_lower_lr_not_to_resume(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(registry.lookup("rbm"), "fit", _diverge)
    out = tmp_path / "run"
    assert _fit(tiny, out, "--lr", "0.5") == 1
    err = capsys.readouterr().err
    assert err.endswith(f"diverged; kept {out}, which holds checkpoint.pt; run again with a lower --lr than this "
                        "run's 0.5 and --force (resuming would diverge again)\n")
    assert "--resume" not in err and "checkpoint.pt and checkpoint.pt" not in err
    assert _fit(tiny, out) == 2  # the kept folder is a run: replaced with --force
    monkeypatch.setattr(registry.lookup("grbm"), "fit", _diverge)
    real = tmp_path / "real.pt"
    torch.save(torch.randn(40, 64, generator=torch.Generator().manual_seed(0)), real)
    assert main(["fit", "grbm", "--data", str(real), "--out", str(tmp_path / "g"), "--units", "nrelu"]) == 1
    assert "a lower --lr than this run's 0.0005 and --force" in capsys.readouterr().err  # the model's default


def test_an_interrupted_run_still_says_resume(tiny, tmp_path, monkeypatch, capsys):
    def interrupted(model, data, **kwargs):
        kwargs["checkpoint"].write_bytes(b"epoch 1\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(registry.lookup("rbm"), "fit", interrupted)
    assert _fit(tiny, tmp_path / "run") == 130
    assert capsys.readouterr().err.endswith("which holds checkpoint.pt (add --resume to continue from its checkpoint)\n")


@pytest.mark.usefixtures("one_thread")
def test_eval_of_one_row_prints_valid_json(tmp_path, capsys):
    row = tmp_path / "one_row.npy"
    np.save(row, load_digits(split="test")[:1].numpy())
    save_model(tmp_path / "vae.pt", VAE(64, 8, 2, seed=0))
    save_model(tmp_path / "rbm.pt", RBM(64, 3, seed=0))
    _ok(["eval", str(tmp_path / "vae.pt"), "--data", str(row), "--samples", "5", "--no-progress"])
    result = strict_json(capsys.readouterr().out)
    assert result["log_likelihood"]["n"] == 1 and result["log_likelihood"]["sem"] is None  # NaN: one row
    assert result["elbo"]["sem"] is None and isinstance(result["log_likelihood"]["mean"], float)
    _ok(["eval", str(tmp_path / "rbm.pt"), "--data", str(row), "--method", "exact"])
    result = strict_json(capsys.readouterr().out)
    assert result["log_likelihood"]["n"] == 1 and result["log_likelihood"]["sem"] is None


def test_json_text_writes_null_for_what_json_cannot_hold():
    from inference.checkpoint import json_text

    text = json_text({"nan": float("nan"), "inf": -float("inf"), "np": np.float32(0.5), "int": np.int64(3),
                      "tensor": torch.tensor(2.5), "tuple": (1, True, None)})
    assert strict_json(text) == {"nan": None, "inf": None, "np": 0.5, "int": 3, "tensor": 2.5,
                                 "tuple": [1, True, None]}
    with pytest.raises(TypeError, match="cannot write a object as JSON"):
        json_text({"x": object()})


def test_empty_out_is_refused_everywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in ("fit rbm", "demo", "sample m.pt", "graph rbm:3x4", "filters m.pt"):
        assert main([*shlex.split(command), "--out", ""]) == 2, command
        assert "argument --out: expected a" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
