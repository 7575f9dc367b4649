"""The family protocol: the registry, dispatch by class, per-family options and defaults,
user families end to end, and that nothing above ``models`` switches on a concrete class."""

import doctest
import inspect
import re
from pathlib import Path

import pytest
import torch

import inference
import inference.families.protocol
from inference import families
from inference.checkpoint import build_model, load_model, model_config, register_model, save_model
from inference.cli import UsageError, build_parser, main
from inference.families import DirectedFamily, EnergyFamily, Family, family_of
from models import VAE, SigmoidBeliefNet
from models.energy import RBM, EnergyModel, GaussianRBM, Hopfield
from pgm.datasets import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[3]


def _fit_args(name, *options):
    """The namespace ``pgm fit NAME OPTIONS`` parses to."""
    return build_parser().parse_args(["fit", name, *options])


@pytest.fixture(scope="module")
def real_digits():
    return load_digits(binarize=False, dequantize=True, split="train")[:200]


def test_library_families():
    assert families.names() == ["rbm", "grbm", "bm", "hopfield", "dbm", "crbm", "ssrbm", "sbn", "helmholtz", "vae",
                                "dbn", "ae", "dae", "sae", "cae", "stacked", "gsn", "fvsbn", "nade", "made", "oanade",
                                "rnade", "gan", "cgan", "dcgan", "gmmn", "condrbm", "rnnrbm", "convrbm", "convdbn", "mcrbm", "mpot"]
    rbm, grbm = families.lookup("rbm"), families.lookup("grbm")
    assert (rbm.cls, rbm.visible_kind, rbm.default_data) == (RBM, "bernoulli", "digits")
    assert (grbm.cls, grbm.visible_kind, grbm.default_data) == (GaussianRBM, "gaussian", "digits-real")
    assert family_of(RBM(2, 1)) is rbm and family_of(GaussianRBM) is grbm
    assert family_of(SigmoidBeliefNet([3, 2])).name == "sbn"  # the first family of a shared class
    with pytest.raises(ValueError, match=r"unknown model 'nosuch'; registered models: \['rbm', 'grbm'"):
        families.lookup("nosuch")
    evaluations = {f.name: f.evaluation for f in families.families()}
    assert evaluations == {"rbm": "ais", "grbm": "ais", "bm": "ais", "hopfield": "ais", "dbm": "bound",
                           "crbm": "ais", "ssrbm": "ais", "sbn": "importance", "helmholtz": "importance",
                           "vae": "importance", "dbn": "importance", "ae": "samples", "dae": "samples",
                           "sae": "samples", "cae": "samples", "stacked": "samples", "gsn": "samples",
                           "fvsbn": "autoregressive", "nade": "autoregressive", "made": "autoregressive",
                           "oanade": "autoregressive", "rnade": "autoregressive",
                           "gan": "samples", "cgan": "samples", "dcgan": "samples", "gmmn": "samples",
                           "condrbm": "exact", "rnnrbm": "exact",
                           "convrbm": "ais", "convdbn": "importance",
                           "mcrbm": "ais", "mpot": "ais"}
    for family in families.families():
        assert family.evaluation in families.EVALUATIONS and set(family.pictures) <= set(families.PICTURES)


def test_a_model_of_no_named_family_gets_its_base_class_family():
    class MyEnergy(EnergyModel):
        pass

    class MyDirected(VAE):
        pass

    assert type(family_of(MyEnergy)) is EnergyFamily and family_of(MyEnergy).name is None
    assert family_of(MyDirected).name == "vae"
    assert family_of(torch.nn.Linear(2, 2)) is None
    with pytest.raises(TypeError, match="fit: model must be a model of a registered family"):
        inference.fit(torch.nn.Linear(2, 2), torch.zeros(3, 2))


@pytest.mark.parametrize("name", ["rbm", "grbm"])
def test_each_family_builds_draws_and_round_trips(name, tmp_path, real_digits):
    family = families.lookup(name)
    data = (real_digits > 0.5).float() if family.visible_kind == "bernoulli" else real_digits
    model = family.build(data, _fit_args(name, "--hidden", "5", "--seed", "3"))
    assert type(model) is family.cls and model.graph[model.visible_name].kind == family.visible_kind
    assert model.config()["n_hidden"] == 5 and model.config()["seed"] == 3
    sized = family.from_sizes((6, 2))
    assert type(sized) is family.cls and [g.n_units for g in sized.graph.groups] == [6, 2]
    with pytest.raises(ValueError, match="expected two positive sizes"):
        family.from_sizes((6, 2, 1))
    save_model(tmp_path / "m.pt", model)  # checkpoints resolve the class through the class lookup
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is family.cls and loaded.config() == model.config()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert type(build_model(model_config(model))) is family.cls


def test_family_options_reach_the_builder(real_digits):
    fixed = families.lookup("grbm").build(real_digits, _fit_args("grbm", "--fixed-sigma", "--weight-std", "0"))
    assert fixed.learn_sigma is False and not isinstance(fixed.log_sigma, torch.nn.Parameter)
    assert torch.equal(fixed.W, torch.zeros_like(fixed.W))
    with pytest.raises(UsageError, match="unrecognized arguments: --fixed-sigma 1 \\(--fixed-sigma is an option "
                                         "of grbm, not of rbm\\)"):
        main_parse(["fit", "rbm", "--fixed-sigma", "1"])
    with pytest.raises(UsageError, match="--hidden"):
        _fit_args("rbm", "--hidden", "0")


def main_parse(argv):
    """Parse as ``main`` does, raising its usage error."""
    from inference.cli import _owners

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        raise UsageError(f"unrecognized arguments: {' '.join(extra)}{_owners(parser, args, extra)}")
    return args


def _help(name, capsys):
    assert main(["fit", name, "--help"]) == 0
    return capsys.readouterr().out


def test_fit_help_lists_only_the_family_s_own_options(capsys):
    vae, rbm, hop, dbn = (_help(n, capsys).split("errors:")[0] for n in ("vae", "rbm", "hopfield", "dbn"))
    for option in ("--temperatures", "--k ", "--momentum", "--average", "--up-down-epochs", "--patterns"):
        assert option not in vae
    assert "--particles" in vae and "--method {elbo,nvil,iwae,rws,wake_sleep}" in vae
    assert "--particles" not in rbm and "--method {cd,pcd,pt,sml}" in rbm and "--evaluate {none,exact,ais}" in rbm
    for option in ("--epochs", "--batch-size", "--lr", "--evaluate", "--resume"):
        assert option not in hop
    assert "--patterns" in hop and "--rule" in hop
    assert "--up-down-lr" in dbn and "--layer-method {cd,pcd,pt,sml}" in dbn and "--method {greedy,up_down}" in dbn


@pytest.mark.parametrize("name", ["rbm", "vae", "dbn"])
def test_command_line_defaults_are_the_trainer_s(name, capsys):
    """One set of defaults: what `pgm fit NAME --help` states is the trainer's signature."""
    text = " ".join(_help(name, capsys).split())
    family = families.lookup(name)
    defaults = family.options(family.cli_default_method())
    assert f"--epochs EPOCHS epochs{family.epochs_help} (default {defaults['epochs']})" in text
    assert f"(default {defaults['batch_size']})" in text
    args = _fit_args(name)
    assert args.epochs is None and args.batch_size is None  # left to the trainer
    assert inspect.signature(family.trainer or family.fit).parameters  # has a signature to read


def test_vae_trains_at_the_same_batch_size_from_python_and_the_command_line():
    assert families.lookup("vae").options()["batch_size"] == 100
    assert families.lookup("rbm").options()["batch_size"] == 20


def test_an_option_of_another_family_is_refused_naming_its_families():
    data = (torch.rand(20, 6, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    vae = VAE(6, 8, 2, seed=0)
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    with pytest.raises(TypeError, match=r"fit: k is not an option of the vae family .*families that take it: "
                                        r"k: rbm, grbm, bm, hopfield, dbm, crbm, ssrbm, dbn"):
        inference.fit(vae, data, k=3)
    with pytest.raises(TypeError, match=r"n_particles, nonsense are not options of the rbm family .*"
                                        r"n_particles: sbn, helmholtz, vae; nonsense: no family"):
        inference.fit(RBM(6, 2), data, n_particles=3, nonsense=1)
    assert all(torch.equal(v, vae.state_dict()[k]) for k, v in before.items())


def test_a_hopfield_net_stores_at_most_the_data_s_rows():
    data = (torch.rand(4, 9, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    net = Hopfield(9)
    with pytest.raises(ValueError, match=r"fit: patterns=5 exceeds the 4 rows of data; store at most 4"):
        inference.fit(net, data, patterns=5)
    assert net.n_patterns == 0
    assert inference.fit(net, data, patterns=4)["patterns"] == 4


def test_the_dbn_s_up_down_defaults_are_its_own():
    dbn = families.lookup("dbn")
    assert dbn.options("up_down")["k"] == 10 and dbn.options("up_down")["lr"] == 0.01
    assert dbn.options("greedy")["k"] is None  # each layer's fit: k = 1
    with pytest.raises(TypeError, match="layer_method is not an option of the dbn family with method 'up_down'"):
        inference.fit(inference.families.lookup("dbn").from_sizes((6, 4, 3)), torch.zeros(4, 6), method="up_down",
                      layer_method="cd")


class ToyRBM(RBM):
    """A user family: an RBM under another name."""


def _toy_family():
    def arguments(parser):
        parser.add_argument("--units", type=int, default=3)

    return EnergyFamily(name="toy", cls=ToyRBM, help="a user's RBM",
                        build_fn=lambda data, args: ToyRBM(data.shape[1], args.units, seed=args.seed),
                        sizes_fn=lambda sizes: ToyRBM(*sizes), model_arguments=arguments)


def test_a_user_family_trains_saves_and_draws_through_the_cli(tmp_path, capsys):
    families.register(_toy_family())
    try:
        with pytest.raises(ValueError, match="'toy' is already registered"):
            families.register(_toy_family())
        families.register(_toy_family(), replace=True)
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
        assert main(["sample", str(tmp_path / "run" / "model.pt"), "--n", "2", "--steps", "3",
                     "--out", str(tmp_path / "s.pt")]) == 0
    finally:
        families.unregister("toy")
    assert "toy" not in families.names() and family_of(ToyRBM).name == "rbm"
    assert type(load_model(tmp_path / "run" / "model.pt")) is ToyRBM  # the class stays loadable


def test_register_model_keeps_working_for_user_classes(tmp_path):
    from inference.classes import known_classes, model_class

    @register_model
    class PlainUserRBM(RBM):
        """Registered for checkpoints only, not on the command line."""

    save_model(tmp_path / "u.pt", PlainUserRBM(3, 2, seed=0))
    assert type(load_model(tmp_path / "u.pt")) is PlainUserRBM
    assert model_class("PlainUserRBM") is PlainUserRBM and "PlainUserRBM" in known_classes()
    assert family_of(PlainUserRBM).name == "rbm"  # its family's defaults apply


def test_families_are_checked():
    ok = _toy_family()
    with pytest.raises(ValueError, match="lower-case str"):
        EnergyFamily(name="Toy", cls=ToyRBM, build_fn=ok.build_fn, sizes_fn=ok.sizes_fn)
    with pytest.raises(TypeError, match="cls must be a model class"):
        EnergyFamily(name="toy", cls=int, build_fn=ok.build_fn, sizes_fn=ok.sizes_fn)
    with pytest.raises(TypeError, match="build_fn must be callable"):
        EnergyFamily(name="toy", cls=ToyRBM, build_fn=None, sizes_fn=ok.sizes_fn)
    with pytest.raises(TypeError, match="unknown attribute 'colour'"):
        DirectedFamily(name="toy", cls=VAE, colour="red")
    with pytest.raises(ValueError, match="evaluation must be one of"):
        Family(name="toy", cls=VAE, evaluation="vibes")
    with pytest.raises(TypeError, match="expected a Family"):
        families.register("toy")
    from inference.classes import model_class, register_class

    with pytest.raises(TypeError, match="EnergyModel subclass"):
        register_class(int)
    with pytest.raises(ValueError, match="unknown model class 'Nope'"):
        model_class("Nope")


def test_nothing_above_models_switches_on_a_concrete_family():
    """Dispatch goes through the families: the command line, fit, the pictures and the demo
    never test a model against a concrete model class (argument checks of a family's own
    algorithms, e.g. ``fit_greedy`` refusing a non-DBN, live beside those algorithms)."""
    concrete = r"isinstance\([a-z_]+, \(?(DBN|VAE|Hopfield|SigmoidBeliefNet|DirectedModel|DBM|RBM|GaussianRBM|" \
               r"ClassRBM|BoltzmannMachine|SpikeSlabRBM|HelmholtzMachine)\b"
    for path in ["inference/cli", "inference/families", "inference/pictures.py", "inference/demo.py",
                 "inference/learning/fit.py"]:
        files = [ROOT / path] if path.endswith(".py") else sorted((ROOT / path).rglob("*.py"))
        for f in files:
            hits = [line for line in f.read_text().splitlines() if re.search(concrete, line)]
            assert not hits, f"{f.relative_to(ROOT)}: {hits}"


def test_docstring_examples():
    result = doctest.testmod(inference.families.protocol)
    assert result.attempted > 0 and result.failed == 0


def test_covariance_families():
    from models.energy import MeanCovarianceRBM, MPoT

    mc, mp = families.lookup("mcrbm"), families.lookup("mpot")
    assert (mc.cls, mp.cls) == (MeanCovarianceRBM, MPoT)
    assert mc.methods == mp.methods == ("hmc", "pcd", "cd") and mc.default_method(MPoT(2, 1, n_mean=1)) == "hmc"
    assert (mc.default_data, mc.visible_kind, mc.fit_evaluations, mp.fit_evaluations) == \
        ("patches", "gaussian", ("exact",), ())
    model = mc.from_sizes([3, 4, 2])
    assert (model.n_visible, model.n_factors, model.n_covariance, model.n_mean) == (3, 4, 4, 2)
    assert model.graph.gibbs_blocks() == [["v"], ["hc", "hm"]]
    assert mc.visible_weights(model).shape == (3, 4)

