"""``pgm`` with the classification RBM: fit on digits with labels, eval with accuracy,
class-conditional samples, the graph from sizes, and refusals."""

import json

import pytest
import torch

from inference import exact_log_partition, log_likelihood
from inference.checkpoint import load_model
from inference.cli import load_data, main
from models.energy import ClassRBM
from pgm.datasets import load_digits
from tests.inference.cli_run import run_ok as _ok



def test_digits_labels_are_pixels_then_one_hot_labels():
    x = load_data("digits-labels", "test")
    v, y = load_digits(split="test", return_labels=True)
    assert x.shape == (359, 74) and torch.equal(x[:, :64], v)
    assert torch.equal(x[:, 64:].argmax(1), y) and torch.all(x[:, 64:].sum(1) == 1)


def test_fit_eval_sample_graph(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    _ok(["fit", "crbm", "--hidden", "8", "--epochs", "3", "--out", str(run), "--no-progress"])
    model = load_model(run / "model.pt")
    assert isinstance(model, ClassRBM) and (model.n_visible, model.n_hidden, model.n_classes) == (64, 8, 10)
    capsys.readouterr()

    _ok(["eval", str(run / "model.pt"), "--method", "exact"])
    result = json.loads(capsys.readouterr().out)
    test = load_data("digits-labels", "test")
    v, labels = model.split_labels(test)
    assert result["accuracy"] == pytest.approx(model.score(v, labels))
    want = log_likelihood(model, test, exact_log_partition(model)).mean
    assert result["log_likelihood"]["mean"] == pytest.approx(want, abs=1e-9) and want < 0

    out = tmp_path / "samples.pt"
    _ok(["sample", str(run / "model.pt"), "--n", "20", "--steps", "3", "--out", str(out)])
    means = torch.load(out, weights_only=True)
    assert means.shape == (20, 64) and bool(((means >= 0) & (means <= 1)).all())
    _ok(["sample", str(run / "model.pt"), "--n", "4", "--steps", "2", "--label", "3", "--out",
         str(tmp_path / "three.png")])
    assert (tmp_path / "three.png").stat().st_size > 0

    capsys.readouterr()
    _ok(["graph", "crbm:64x16x10", "--out", str(tmp_path / "graph.png")])
    printed = capsys.readouterr().out
    assert "y: softmax 10 (observed)" in printed and "h -- y" in printed


def test_class_conditional_sampling_clamps_the_label_it_is_given(tmp_path, monkeypatch):
    """``pgm sample`` hands gibbs the label clamp: class ⌊iK/n⌋ for sample i, or --label."""
    from inference.cli.commands import _label_clamp

    model = ClassRBM(6, 3, 4, seed=0)

    class Args:
        n, label = 8, None

    clamp = _label_clamp(model, Args)
    assert clamp["y"].argmax(1).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    Args.label = 2
    assert _label_clamp(model, Args)["y"].argmax(1).tolist() == [2] * 8


@pytest.mark.parametrize("argv, status, text", [
    (["fit", "crbm", "--data", "digits", "--epochs", "1"], 1, "not one-hot labels"),
    (["fit", "crbm", "--classes", "80", "--epochs", "1"], 1, "--classes 80"),
    (["graph", "crbm:64x16", "--out", "g.png"], 2, "VISIBLExHIDDENxCLASSES"),
    (["graph", "crbm:64x16x1", "--out", "g.png"], 2, "CLASSES >= 2"),
])
def test_bad_command_lines_are_refused(argv, status, text, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, *(["--out", str(tmp_path / "run"), "--no-progress"] if argv[0] == "fit" else [])]) == status
    assert text in capsys.readouterr().err


def test_eval_and_sample_refuse_what_does_not_fit(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    _ok(["fit", "crbm", "--hidden", "4", "--epochs", "1", "--out", str(run), "--no-progress"])
    capsys.readouterr()
    assert main(["eval", str(run / "model.pt"), "--data", "digits", "--method", "exact"]) == 2
    assert "takes 74 (v + y)" in capsys.readouterr().err
    assert main(["sample", str(run / "model.pt"), "--label", "10", "--out", str(tmp_path / "s.png")]) == 2
    assert "10 classes" in capsys.readouterr().err
    _ok(["fit", "rbm", "--hidden", "4", "--epochs", "1", "--out", str(tmp_path / "rbm"), "--no-progress"])
    assert main(["sample", str(tmp_path / "rbm" / "model.pt"), "--label", "1", "--out", str(tmp_path / "r.png")]) == 2
    assert "no label group" in capsys.readouterr().err
