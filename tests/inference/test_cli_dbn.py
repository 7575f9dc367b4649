"""pgm fit / eval / sample / graph for the deep belief net."""

import json

import pytest
import torch

from inference.checkpoint import load_model
from inference.cli import main
from models import DBN
from tests.inference.cli_run import run_ok as _ok



def test_dbn_fit_eval_sample_graph(tmp_path, capsys, one_thread):
    out = tmp_path / "dbn"
    _ok(["fit", "dbn", "--sizes", "64,8,4", "--epochs", "1", "--batch-size", "50", "--evaluate", "exact",
         "--samples", "20", "--no-progress", "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, DBN) and model.sizes == [64, 8, 4]
    history = json.loads((out / "history.json").read_text())
    assert [row["layer"] for row in history["bounds"]] == [1, 2] and len(history["layers"]) == 2
    assert (out / "checkpoint.layer1.pt").is_file() and (out / "checkpoint.layer2.pt").is_file()
    _ok(["fit", "dbn", "--sizes", "64,8,4", "--epochs", "1", "--batch-size", "50", "--no-progress",
         "--out", str(out), "--resume"])
    capsys.readouterr()
    _ok(["eval", str(out / "model.pt"), "--samples", "20", "--no-progress"])
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "dbn" and result["log_z"]["method"] == "exact" and result["log_likelihood"]["n"] == 359
    assert result["elbo"]["mean"] <= result["log_likelihood"]["mean"] == result["log_likelihood"]["upper"]
    _ok(["eval", str(out / "model.pt"), "--samples", "20", "--method", "ais", "--chains", "10", "--betas", "50",
         "--no-progress"])
    result = json.loads(capsys.readouterr().out)
    assert result["log_z"]["method"] == "ais"
    assert result["log_likelihood"]["lower"] <= result["log_likelihood"]["mean"] <= result["log_likelihood"]["upper"]
    _ok(["sample", str(out / "model.pt"), "--n", "4", "--steps", "20", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (4, 64) and set(samples.unique().tolist()) <= {0.0, 1.0}
    _ok(["graph", "dbn:64x32x16", "--out", str(tmp_path / "g.png")])
    text = capsys.readouterr().out
    assert "h1 -> v" in text and "h1 -- h2" in text and (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["fit", "dbn", "--method", "rws"], "--method rws does not apply to the dbn model"),
    (["fit", "dbn", "--evaluate", "importance"], "--evaluate importance does not apply to the dbn model"),
    (["fit", "dbn", "--sizes", "64,40,30", "--evaluate", "exact"], "exact log Z enumerates"),
    (["fit", "dbn", "--resume"], "checkpoint.layer1.pt"),
    (["graph", "dbn:64x32"], "expected three or more positive sizes"),
    (["fit", "rbm", "--method", "up_down"], "--method up_down does not apply to the rbm model"),
    (["fit", "dbn", "--up-down-epochs", "3"], "--up-down-epochs applies with --method up_down"),
])
def test_dbn_usage_errors(argv, message, tmp_path, capsys):
    assert main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "fit" else [])]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_dbn_fit_up_down_fine_tunes_after_the_greedy_layers(tmp_path, capsys, one_thread):
    out = tmp_path / "dbn"
    _ok(["fit", "dbn", "--sizes", "64,8,4", "--epochs", "1", "--batch-size", "50", "--method", "up_down",
         "--up-down-epochs", "2", "--evaluate", "exact", "--samples", "20", "--no-progress", "--out", str(out)])
    history = json.loads((out / "history.json").read_text())
    assert [row["layer"] for row in history["bounds"]] == [1, 2]
    assert history["up_down"]["epoch"] == [1, 2] and len(history["up_down"]["bound"]) == 2
    model = load_model(out / "model.pt")
    # the greedy layers alone leave R_1 = W_1ᵀ; up-down unties them
    assert isinstance(model, DBN) and not torch.equal(model.recognition[0].weight, model.generative[0].weight.t())
    assert "epoch 2" in capsys.readouterr().out
