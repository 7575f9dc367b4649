"""``pgm`` with the conv RBM and the conv DBN: fit, eval, sample, filters and graph on the
8×8 digits and on 28×28 images read from IDX files."""

import json

import numpy as np
import pytest
import torch

from inference.checkpoint import load_model
from models import ConvDBN, ConvRBM
from tests.inference.cli_run import run_ok as _ok
from tests.pgm.test_datasets import write_idx


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The first 200 binarized 8×8 training digits as a .pt file (fewer rows: a quicker epoch)."""
    from pgm.datasets import load_digits

    path = tmp_path_factory.mktemp("digits") / "digits.pt"
    torch.save(load_digits(split="train")[:200].clone(), path)
    return str(path)


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory):
    """40 training and 10 test 28×28 images of random strokes, as IDX files."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.RandomState(0)
    for name, n in (("train", 40), ("t10k", 10)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i in range(n):
            r, c = rng.randint(4, 20, size=2)
            images[i, r:r + 8, c:c + 3] = 255
        write_idx(folder / f"{name}-images-idx3-ubyte", images)
        write_idx(folder / f"{name}-labels-idx1-ubyte", rng.randint(0, 10, size=n).astype(np.uint8))
    return folder


def test_convrbm_on_digits(digits, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    _ok(["fit", "convrbm", "--data", digits, "--filters", "4", "--epochs", "1", "--sparsity", "0.1", "--out", str(run),
         "--no-progress"])
    model = load_model(run / "model.pt")
    assert isinstance(model, ConvRBM) and model.hidden_shape == (4, 4, 4) and model.sparsity == 0.1
    capsys.readouterr()
    _ok(["eval", str(run / "model.pt"), "--data", digits, "--betas", "50", "--chains", "10", "--no-progress"])
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "convrbm" and result["log_z"]["method"] == "ais"
    assert result["log_likelihood"]["n"] == 200 and result["log_likelihood"]["mean"] < 0
    out = tmp_path / "s.pt"
    _ok(["sample", str(run / "model.pt"), "--n", "6", "--steps", "2", "--out", str(out)])
    assert torch.load(out, weights_only=True).shape == (6, 64)
    _ok(["filters", str(run / "model.pt"), "--out", str(tmp_path / "f.png")])
    assert "wrote" in capsys.readouterr().out and (tmp_path / "f.png").stat().st_size > 0
    assert "h: block_softmax 64 (latent)" in model.graph.describe()


def test_convdbn_on_digits(digits, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    _ok(["fit", "convdbn", "--data", digits, "--filters", "3,4", "--epochs", "1", "--out", str(run), "--no-progress"])
    model = load_model(run / "model.pt")
    assert isinstance(model, ConvDBN) and model.layer2.n_channels == 3
    assert (run / "checkpoint.layer1.pt").is_file() and (run / "checkpoint.layer2.pt").is_file()
    capsys.readouterr()
    _ok(["eval", str(run / "model.pt"), "--data", digits, "--samples", "3", "--no-progress"])
    result = json.loads(capsys.readouterr().out)
    assert result["log_z"]["method"] == "exact"  # 4 top detection units: enumerated
    assert result["elbo"]["mean"] <= result["log_likelihood"]["mean"] < 0
    _ok(["sample", str(run / "model.pt"), "--n", "4", "--steps", "2", "--out", str(tmp_path / "s.png")])
    _ok(["filters", str(run / "model.pt"), "--out", str(tmp_path / "f.png")])
    assert "(7 filters)" in capsys.readouterr().out
    _ok(["graph", "convdbn:8x3x3x2x4x2x2", "--out", str(tmp_path / "g.png")])
    printed = capsys.readouterr().out
    assert "p1 -> h1" in printed and "h2 -- p1" in printed


def test_both_on_28x28_images(mnist_folder, tmp_path, capsys, one_thread):
    spec = f"mnist:{mnist_folder}"
    _ok(["fit", "convrbm", "--data", spec, "--filters", "2", "--epochs", "1", "--out", str(tmp_path / "r"),
         "--no-progress"])
    rbm = load_model(tmp_path / "r" / "model.pt")
    assert rbm.hidden_shape == (2, 24, 24) and rbm.pool_shape == (2, 12, 12)
    _ok(["fit", "convdbn", "--data", spec, "--filters", "2,3", "--filter-sizes", "5,5", "--epochs", "1",
         "--out", str(tmp_path / "d"), "--no-progress"])
    dbn = load_model(tmp_path / "d" / "model.pt")
    assert dbn.layer2.hidden_shape == (3, 8, 8) and dbn.layer2.pool_shape == (3, 4, 4)
    capsys.readouterr()
    _ok(["eval", str(tmp_path / "d" / "model.pt"), "--data", spec, "--samples", "2", "--betas", "20", "--chains",
         "4", "--no-progress"])
    assert json.loads(capsys.readouterr().out)["log_z"]["method"] == "ais"
    _ok(["sample", str(tmp_path / "d" / "model.pt"), "--n", "3", "--steps", "1", "--out", str(tmp_path / "s.pt")])
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (3, 784)
    _ok(["filters", str(tmp_path / "d" / "model.pt"), "--out", str(tmp_path / "f.png")])
    assert "(5 filters)" in capsys.readouterr().out


@pytest.mark.parametrize("spec, kind, width", [("mnist", "binary", 784), ("mnist-grey", "grey", 784),
                                               ("mnist-real", "real", 784), ("mnist-labels", "binary", 794)])
def test_mnist_variants_of_the_data_spec(mnist_folder, spec, kind, width):
    from pgm.datasets import load_mnist
    from inference.cli.data import data_kind, load_data

    x = load_data(f"{spec}:{mnist_folder}", "train")
    assert x.shape == (40, width) and data_kind(f"{spec}:{mnist_folder}", x) == kind
    assert load_data(f"{spec}:{mnist_folder}", "all").shape == (50, width)
    pixels, labels = load_mnist(mnist_folder)
    if spec == "mnist-grey":
        assert torch.equal(x, pixels)
    elif spec == "mnist-labels":
        assert torch.equal(x[:, :784], (pixels >= 0.5).float()) and torch.equal(x[:, 784:].argmax(1), labels)
    elif spec == "mnist-real":
        assert torch.equal(torch.floor(x.double() * 256), torch.round(pixels.double() * 255))


def test_stacks_default_to_the_data_s_width(mnist_folder, tmp_path, one_thread):
    """Without --sizes a DBN's visible layer is the data's 784 columns, then 32, 16."""
    run = tmp_path / "run"
    _ok(["fit", "dbn", "--data", f"mnist:{mnist_folder}", "--epochs", "1", "--out", str(run), "--no-progress"])
    assert load_model(run / "model.pt").sizes == [784, 32, 16]
