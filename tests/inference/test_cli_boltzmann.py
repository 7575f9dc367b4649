"""``pgm fit bm|hopfield`` and ``pgm sample`` for both, on 3×3 bars and stripes."""

import json

import torch

from inference.checkpoint import load_model, save_model
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
    frames = tmp_path / "h.pt"
    assert main(["sample", str(out / "model.pt"), "--data", str(data), "--flip", "0.2", "--seed", "1",
                 "--out", str(frames)]) == 0
    recall = torch.load(frames, weights_only=True)  # (sweeps + 1, probes, n): every stored pattern probed
    assert recall.ndim == 3 and recall.shape[1:] == (3, 9) and recall.shape[0] >= 2
    patterns = bars_and_stripes(3).float()[:3] * 2 - 1
    assert ((recall[0] != patterns).sum(1) == 2).all()  # round(0.2 * 9) bits flipped in every probe
    last = model.recall(recall[-1], max_sweeps=1)  # the recall ends on fixed points
    assert last.converged.all() and torch.equal(last.states, recall[-1])
    assert "stored patterns exactly from probes with 2 of 9 bits flipped" in capsys.readouterr().out
    picture = tmp_path / "recall" / "h.png"
    assert main(["sample", str(out / "model.pt"), "--data", str(data), "--n", "2", "--out", str(picture)]) == 0
    assert picture.stat().st_size > 0 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_of_a_hopfield_net_refuses_what_it_cannot_recall(tmp_path, capsys):
    data = _data(tmp_path)
    out = tmp_path / "hop"
    assert main(["fit", "hopfield", "--data", str(data), "--patterns", "2", "--out", str(out)]) == 0
    model = str(out / "model.pt")
    for argv, message in [(["--data", str(data), "--n", "3"], "--n 3: the net stores 2 patterns"),
                          (["--data", str(data), "--steps", "0"], "at least one sweep"),
                          ([], "--data digits has 64 columns, but"),
                          (["--data", "digits-real"], "holds real-valued data")]:
        capsys.readouterr()
        assert main(["sample", model, *argv, "--out", str(tmp_path / "x.png")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    empty = tmp_path / "empty.pt"
    save_model(empty, Hopfield(9))
    assert main(["sample", str(empty), "--data", str(data), "--out", str(tmp_path / "x.png")]) == 2
    assert "no stored patterns" in capsys.readouterr().err


def test_a_hopfield_net_takes_spin_data_and_is_evaluated_on_it(tmp_path, capsys, one_thread):
    """``--data digits-spin`` (2v − 1) stores the same patterns as ``digits``, and ``pgm eval``
    of a net small enough to enumerate gives −E(s) − log Z exactly; {0, 1} data is refused."""
    for spec in ("digits", "digits-spin"):
        assert main(["fit", "hopfield", "--data", spec, "--patterns", "4", "--out", str(tmp_path / spec)]) == 0
    a, b = (load_model(tmp_path / spec / "model.pt") for spec in ("digits", "digits-spin"))
    assert torch.equal(a.W, b.W) and a.n_patterns == b.n_patterns == 4
    net = Hopfield(9)
    net.store(bars_and_stripes(3).float()[:3] * 2 - 1)
    save_model(tmp_path / "h9.pt", net)
    spins = bars_and_stripes(3).float() * 2 - 1
    torch.save(spins, tmp_path / "s.pt")
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "h9.pt"), "--data", str(tmp_path / "s.pt"), "--method", "exact"]) == 0
    result = json.loads(capsys.readouterr().out)
    from inference import exact_log_partition
    net64 = Hopfield(9).double()
    net64.load_state_dict(net.state_dict())
    want = (-net64.energy({"v": spins.double()}) - exact_log_partition(net).log_z).mean().item()
    assert abs(result["log_likelihood"]["mean"] - want) < 1e-9
    assert "variational_bound" not in result  # nothing is latent: the likelihood itself is exact
    torch.save((spins + 1) / 2, tmp_path / "b.pt")
    assert main(["eval", str(tmp_path / "h9.pt"), "--data", str(tmp_path / "b.pt"), "--method", "exact"]) == 2
    assert "use --data digits-spin" in capsys.readouterr().err
