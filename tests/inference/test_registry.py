"""The model registry: entries, builders, options, checkpoint round trips, user families."""

import argparse
import doctest

import pytest
import torch

import inference.registry
from inference import registry
from inference.checkpoint import build_model, load_model, model_config, register_model, save_model
from inference.cli import UsageError, build_parser, main
from models.energy import RBM, GaussianRBM
from pgm.datasets import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")


def _fit_args(name, *options):
    """The namespace ``pgm fit NAME OPTIONS`` parses to."""
    return build_parser().parse_args(["fit", name, *options])


@pytest.fixture(scope="module")
def real_digits():
    return load_digits(binarize=False, dequantize=True, split="train")[:200]


def test_library_entries():
    assert registry.names()[:2] == ["rbm", "grbm"]
    rbm, grbm = registry.lookup("rbm"), registry.lookup("grbm")
    assert (rbm.cls, rbm.visible_kind, rbm.default_data) == (RBM, "bernoulli", "digits")
    assert (grbm.cls, grbm.visible_kind, grbm.default_data) == (GaussianRBM, "gaussian", "digits-real")
    assert registry.entry_for(RBM(2, 1)) is rbm and registry.entry_for(GaussianRBM) is grbm
    with pytest.raises(ValueError, match=r"unknown model 'nosuch'; registered models: \['rbm', 'grbm'"):
        registry.lookup("nosuch")


@pytest.mark.parametrize("name", ["rbm", "grbm"])
def test_each_entry_builds_draws_and_round_trips(name, tmp_path, real_digits):
    entry = registry.lookup(name)
    data = (real_digits > 0.5).float() if entry.visible_kind == "bernoulli" else real_digits
    model = entry.build(data, _fit_args(name, "--hidden", "5", "--seed", "3"))
    assert type(model) is entry.cls and model.graph[model.visible_name].kind == entry.visible_kind
    assert model.config()["n_hidden"] == 5 and model.config()["seed"] == 3
    sized = entry.from_sizes((6, 2))
    assert type(sized) is entry.cls and [g.n_units for g in sized.graph.groups] == [6, 2]
    with pytest.raises(ValueError, match="expected two positive sizes"):
        entry.from_sizes((6, 2, 1))
    # checkpoints resolve the class through the registry
    save_model(tmp_path / "m.pt", model)
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is entry.cls and loaded.config() == model.config()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert type(build_model(model_config(model))) is entry.cls
    assert registry.model_class(entry.cls.__name__) is entry.cls


def test_family_options_reach_the_builder(real_digits):
    fixed = registry.lookup("grbm").build(real_digits, _fit_args("grbm", "--fixed-sigma", "--weight-std", "0"))
    assert fixed.learn_sigma is False and not isinstance(fixed.log_sigma, torch.nn.Parameter)
    assert torch.equal(fixed.W, torch.zeros_like(fixed.W))
    with pytest.raises(UsageError, match="unrecognized arguments: --fixed-sigma"):  # an RBM has none
        _fit_args("rbm", "--fixed-sigma")
    with pytest.raises(UsageError, match="--hidden"):
        _fit_args("rbm", "--hidden", "0")


class ToyRBM(RBM):
    """A user family: an RBM under another name."""


def _toy_entry():
    def add_arguments(parser):
        parser.add_argument("--units", type=int, default=3)

    return registry.ModelEntry(
        "toy", ToyRBM, lambda data, args: ToyRBM(data.shape[1], args.units, seed=args.seed), add_arguments,
        lambda sizes: ToyRBM(*sizes), "bernoulli", "digits", "a user's RBM")


def test_a_user_family_trains_saves_and_draws_through_the_cli(tmp_path, capsys):
    registry.register(_toy_entry())
    try:
        with pytest.raises(ValueError, match="'toy' is already registered"):
            registry.register(_toy_entry())
        registry.register(_toy_entry(), replace=True)
        assert main(["fit", "--help"]) == 0
        assert "toy" in capsys.readouterr().out
        data = (torch.rand(30, 6, generator=torch.Generator().manual_seed(0)) < 0.5).float()
        torch.save(data, tmp_path / "x.pt")
        assert main(["fit", "toy", "--units", "2", "--data", str(tmp_path / "x.pt"), "--epochs", "1",
                     "--out", str(tmp_path / "run"), "--no-progress"]) == 0
        model = load_model(tmp_path / "run" / "model.pt")
        assert type(model) is ToyRBM and model.n_hidden == 2
        assert main(["graph", "toy:5x4", "--out", str(tmp_path / "g.png")]) == 0
        assert "v: bernoulli 5 (observed)" in capsys.readouterr().out
    finally:
        registry.unregister("toy")
    assert "toy" not in registry.names()
    assert type(load_model(tmp_path / "run" / "model.pt")) is ToyRBM  # the class stays loadable


def test_register_model_keeps_working_for_user_classes(tmp_path):
    @register_model
    class PlainUserRBM(RBM):
        """Registered for checkpoints only, not on the command line."""

    save_model(tmp_path / "u.pt", PlainUserRBM(3, 2, seed=0))
    assert type(load_model(tmp_path / "u.pt")) is PlainUserRBM
    assert registry.model_class("PlainUserRBM") is PlainUserRBM and "PlainUserRBM" in registry.known_classes()
    assert registry.entry_for(PlainUserRBM).name == "rbm"  # its family's defaults apply


def test_entries_are_checked():
    ok = _toy_entry()
    with pytest.raises(ValueError, match="lower-case str"):
        registry.ModelEntry("Toy", ToyRBM, ok.build, ok.add_arguments, ok.from_sizes, "bernoulli", "digits")
    with pytest.raises(TypeError, match="cls must be an EnergyModel subclass"):
        registry.ModelEntry("toy", argparse.Namespace, ok.build, ok.add_arguments, ok.from_sizes, "bernoulli",
                            "digits")
    with pytest.raises(TypeError, match="build must be callable"):
        registry.ModelEntry("toy", ToyRBM, None, ok.add_arguments, ok.from_sizes, "bernoulli", "digits")
    with pytest.raises(TypeError, match="expected a ModelEntry"):
        registry.register("toy")
    with pytest.raises(TypeError, match="EnergyModel subclass"):
        registry.register_class(int)
    with pytest.raises(ValueError, match="unknown model class 'Nope'"):
        registry.model_class("Nope")


def test_docstring_examples():
    result = doctest.testmod(inference.registry)
    assert result.attempted > 0 and result.failed == 0
