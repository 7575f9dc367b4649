"""pgm fit / eval / sample / filters / graph for the autoregressive families."""

import json

import torch

from inference.checkpoint import load_model
from models.autoregressive import MADE, NADE
from tests.inference.cli_run import run_ok as _ok


def test_nade_fit_resume_eval_sample_inpaint_filters_graph(tmp_path, capsys, one_thread):
    out = tmp_path / "nade"
    _ok(["fit", "nade", "--hidden", "8", "--epochs", "2", "--evaluate", "exact", "--no-progress", "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, NADE) and model.n_hidden == 8
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2] and history["eval_nll"][-1] > 0
    _ok(["fit", "nade", "--hidden", "8", "--epochs", "3", "--no-progress", "--out", str(out), "--resume"])
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    capsys.readouterr()
    _ok(["eval", str(out / "model.pt")])
    result = json.loads(capsys.readouterr().out)
    model = load_model(out / "model.pt")
    from pgm import load_digits

    with torch.no_grad():
        exact = model.log_prob(load_digits(split="test")).double().mean()
    assert result["method"] == "exact" and abs(result["log_likelihood"]["mean"] - float(exact)) < 1e-6
    _ok(["sample", str(out / "model.pt"), "--n", "4", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (4, 64) and bool(((samples == 0) | (samples == 1)).all())
    _ok(["sample", str(out / "model.pt"), "--inpaint", "top", "--n", "3", "--out", str(tmp_path / "i.pt")])
    completed, truth = torch.load(tmp_path / "i.pt", weights_only=True), load_digits(split="test")[:3]
    assert torch.equal(completed[:, :32], truth[:, :32])
    _ok(["sample", str(out / "model.pt"), "--inpaint", "top", "--out", str(tmp_path / "i.png")])
    _ok(["filters", str(out / "model.pt"), "--out", str(tmp_path / "f.png")])
    capsys.readouterr()
    _ok(["graph", "nade:64x16", "--out", str(tmp_path / "g.png")])
    assert "x0-7 -> x8-15" in capsys.readouterr().out


def test_made_ensembles_and_fvsbn(tmp_path, capsys, one_thread):
    _ok(["fit", "made", "--hidden", "16,16", "--masks", "3", "--order-agnostic", "--epochs", "1", "--no-progress",
         "--out", str(tmp_path / "m")])
    model = load_model(tmp_path / "m" / "model.pt")
    assert isinstance(model, MADE) and model.n_masks == 3
    capsys.readouterr()
    _ok(["eval", str(tmp_path / "m" / "model.pt"), "--ensemble", "3"])
    result = json.loads(capsys.readouterr().out)
    members = [m["mean"] for m in result["members"]]
    assert len(members) == 3 and result["ensemble"]["k"] == 3
    assert result["ensemble"]["mean"] >= min(members)  # log-mean-exp of per-row values dominates their minimum
    _ok(["fit", "fvsbn", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "f")])
    _ok(["sample", str(tmp_path / "f" / "model.pt"), "--n", "4", "--out", str(tmp_path / "fs.png")])
