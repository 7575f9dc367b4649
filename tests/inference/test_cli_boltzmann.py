"""``pgm fit bm|hopfield`` and ``pgm sample`` for both, on 3×3 bars and stripes."""

import json

import torch

from inference.checkpoint import load_model
from inference.cli import main
from models import BoltzmannMachine, Hopfield
from pgm.datasets import bars_and_stripes


def _data(tmp_path):
    path = tmp_path / "bas.pt"
    torch.save(bars_and_stripes(3).float().repeat(3, 1), path)
    return path


def test_fit_and_sample_a_boltzmann_machine(tmp_path, capsys, one_thread):
    data = _data(tmp_path)
    for method in ("pcd", "pt"):
        out = tmp_path / method
        assert main(["fit", "bm", "--data", str(data), "--hidden", "2", "--epochs", "2", "--method", method,
                     "--temperatures", "3", "--no-progress", "--out", str(out)]) == 0
        model = load_model(out / "model.pt")
        assert isinstance(model, BoltzmannMachine) and model.config()["n_hidden"] == 2
        assert len(json.loads((out / "history.json").read_text())["epoch"]) == 2
    assert main(["sample", str(tmp_path / "pt" / "model.pt"), "--n", "8", "--steps", "5",
                 "--out", str(tmp_path / "s.pt")]) == 0
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (8, 9) and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_fit_stores_patterns_in_a_hopfield_net_and_sample_draws_spins(tmp_path, capsys, one_thread):
    data = _data(tmp_path)
    out = tmp_path / "hop"
    assert main(["fit", "hopfield", "--data", str(data), "--rule", "pseudo_inverse", "--patterns", "3",
                 "--out", str(out)]) == 0
    model = load_model(out / "model.pt")
    assert isinstance(model, Hopfield) and model.n_patterns == 3 and model.rule == "pseudo_inverse"
    summary = json.loads((out / "history.json").read_text())
    assert summary["patterns"] == 3 and summary["fixed_points"] == 1.0
    assert main(["sample", str(out / "model.pt"), "--n", "4", "--steps", "3", "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").stat().st_size > 0
