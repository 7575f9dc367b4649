"""The one epoch loop and the one checkpointer, through every trainer that runs in them."""

import importlib
from dataclasses import dataclass, field

import pytest
import torch

import inference
from inference.dbn import discriminative_finetune, fit_up_down
from inference.training import Checkpoint, EpochTable, Trainer, run_epochs
from inference.training.checkpointer import generator_part, optimizer_part
from models import DBN, VAE
from models.energy import RBM, GaussianRBM, SpikeSlabRBM

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"progress": False}


def _binary(n=60, width=6, seed=0):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < 0.4).float()




@dataclass
class _Table(EpochTable):
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


class _Toy(Trainer):
    """An RBM's weights fitted by SGD to a random linear map, made to diverge at ``bad_epoch``."""

    desc = "toy"

    def __init__(self, bad_epoch=None, seed=0):
        self.model = RBM(3, 1, weight_std=0.0)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.gen = torch.Generator().manual_seed(seed)
        self.history, self.bad_epoch, self.started = _Table(), bad_epoch, []

    def settings(self):
        return {"lr": 0.1}

    def parts(self):
        return {"optimizer": optimizer_part(self.opt), "generator": generator_part(self.gen)}

    def lr(self):
        return 0.1

    def start(self, resumed):
        self.started.append(resumed)

    def train_epoch(self, epoch):
        x = torch.randn(8, 3, generator=self.gen)
        loss = ((x @ self.model.W).squeeze(1) - x.sum(1)).square().mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        if epoch + 1 == self.bad_epoch:
            with torch.no_grad():
                self.model.W[1, 0] = float("nan")
        return {"loss": loss.item()}


def test_the_non_finite_guard_puts_back_the_epoch_s_start_and_names_it(tmp_path):
    toy = _Toy(bad_epoch=3)
    with pytest.raises(FloatingPointError, match=r"parameters \['W'\] became NaN or infinite during epoch 3 "
                                                 r"\(learning rate 0.1 at the end of it\).*the checkpoint .* is left"):
        run_epochs(toy, 5, checkpoint=Checkpoint(tmp_path / "c.pt"), progress=False)
    assert torch.isfinite(toy.model.W).all() and len(toy.history) == 2
    fresh = _Toy()
    run_epochs(fresh, 2, progress=False)
    torch.testing.assert_close(toy.model.W, fresh.model.W)  # the parameters after epoch 2


def test_callbacks_stop_and_the_checkpoint_cadence_holds(tmp_path):
    saved = []
    toy = _Toy()
    from inference.training import checkpointer

    real = checkpointer.save

    def spy(path, trainer, epoch, history):
        saved.append(epoch)
        real(path, trainer, epoch, history)

    checkpointer.save = spy
    try:
        run_epochs(toy, 7, checkpoint=Checkpoint(tmp_path / "c.pt", every=3), progress=False,
                   callbacks=(lambda epoch, history, model: epoch == 5,))
    finally:
        checkpointer.save = real
    assert saved == [3, 5] and len(toy.history) == 5 and toy.started == [False]


def test_a_resumed_toy_run_is_bit_identical_and_says_which_setting_differs(tmp_path):
    whole = _Toy()
    run_epochs(whole, 4, progress=False)
    part = _Toy()
    run_epochs(part, 2, checkpoint=Checkpoint(tmp_path / "c.pt"), progress=False)
    resumed = _Toy(seed=5)  # another generator state: the checkpoint's must replace it
    run_epochs(resumed, 4, checkpoint=Checkpoint(tmp_path / "c.pt", resume=True), progress=False)
    assert resumed.started == [True] and resumed.history.epoch == [1, 2, 3, 4]
    assert torch.equal(resumed.model.W, whole.model.W) and resumed.history.loss == whole.history.loss
    other = _Toy()
    other.settings = lambda: {"lr": 0.2}
    with pytest.raises(ValueError, match=r"cannot resume .*the run differs \(lr: checkpoint 0.1 vs now 0.2\)"):
        run_epochs(other, 4, checkpoint=Checkpoint(tmp_path / "c.pt", resume=True), progress=False)


def test_up_down_resumes_bit_for_bit(tmp_path):
    data = _binary(40)

    def dbn():
        return DBN([6, 4, 3], seed=0)

    whole = dbn()
    h_whole = fit_up_down(whole, data, epochs=3, batch_size=10, k=2, **QUIET)
    part = dbn()
    fit_up_down(part, data, epochs=1, batch_size=10, k=2, checkpoint=tmp_path / "u.pt", **QUIET)
    resumed = dbn()
    h = fit_up_down(resumed, data, epochs=3, batch_size=10, k=2, checkpoint=tmp_path / "u.pt", resume=True, **QUIET)
    assert h.loss == h_whole.loss
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    with pytest.raises(ValueError, match=r"the run differs \(k: checkpoint 2 vs now 3\)"):
        fit_up_down(dbn(), data, epochs=3, batch_size=10, k=3, checkpoint=tmp_path / "u.pt", resume=True, **QUIET)


def test_discriminative_fine_tuning_runs_in_the_loop():
    x = _binary(40)
    y = (x[:, 0] > 0).long()
    stops = []
    clf, hist = discriminative_finetune(DBN([6, 4, 3], seed=0), x, y, epochs=10, **QUIET,
                                        callbacks=lambda epoch, history, model: stops.append(epoch) or epoch == 4)
    assert len(hist) == 4 and stops == [1, 2, 3, 4] and hist.seconds[0] >= 0


@pytest.mark.parametrize("cls", [GaussianRBM, SpikeSlabRBM])
def test_fit_learns_the_standardisation_of_a_model_built_by_its_constructor(cls):
    data = torch.randn(50, 4, generator=torch.Generator().manual_seed(0)) * 3 + 5
    fresh = cls(4, 2, seed=0)
    assert fresh.standardised is False
    inference.fit(fresh, data, epochs=1, monitor=0, **QUIET)
    reference = cls.from_data(data, 2, seed=0)
    assert fresh.standardised is True
    torch.testing.assert_close(fresh.shift, reference.shift)
    torch.testing.assert_close(fresh.scale, reference.scale)
    if cls is GaussianRBM:
        assert fresh.max_sigma == reference.max_sigma == 1.0
    shift = fresh.shift.clone()
    inference.fit(fresh, data[:10] * 2, epochs=1, monitor=0, **QUIET)  # a second call keeps what it learned
    assert torch.equal(fresh.shift, shift)


def test_a_refused_fit_leaves_a_fresh_model_unstandardised(tmp_path):
    data = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    model = GaussianRBM(4, 2, seed=0)
    with pytest.raises(FileNotFoundError, match="none.pt"):
        inference.fit(model, data, epochs=1, checkpoint=tmp_path / "none.pt", resume=True, **QUIET)
    assert model.standardised is False and torch.equal(model.shift, torch.zeros(4))


def test_a_loaded_model_is_not_standardised_again(tmp_path):
    from inference.checkpoint import load_model, save_model

    save_model(tmp_path / "g.pt", GaussianRBM(3, 2, seed=0))  # identity standardisation, saved as such
    loaded = load_model(tmp_path / "g.pt")
    assert loaded.standardised is True
    inference.fit(loaded, torch.randn(20, 3) * 4, epochs=1, monitor=0, **QUIET)
    assert torch.equal(loaded.scale, torch.ones(3))


def test_every_trainer_reaches_the_loop(monkeypatch):
    """fit of each family, up-down and fine-tuning all go through ``run_epochs``."""
    import inference.training.loop as loop

    seen = []
    real = loop.run_epochs

    def spy(trainer, epochs, **kw):
        seen.append(type(trainer).__name__)
        return real(trainer, epochs, **kw)

    for module in ("inference.learning.fit", "inference.directed.train", "inference.dbn.up_down",
                   "inference.dbn.discriminative"):
        monkeypatch.setattr(importlib.import_module(module), "run_epochs", spy)
    x = _binary(20)
    inference.fit(RBM(6, 2, seed=0), x, epochs=1, monitor=0, **QUIET)
    inference.fit(VAE(6, 4, 2, seed=0), x, epochs=1, monitor=0, **QUIET)
    dbn = DBN([6, 4, 3], seed=0)
    inference.fit(dbn, x, method="greedy", epochs=1, monitor=0, **QUIET)
    inference.fit(dbn, x, method="up_down", epochs=1, **QUIET)
    discriminative_finetune(dbn, x, (x[:, 0] > 0).long(), epochs=1, **QUIET)
    assert seen == ["_EnergyTrainer", "_DirectedTrainer", "_EnergyTrainer", "_EnergyTrainer", "_UpDownTrainer",
                    "_FineTuner"]


def test_a_generator_state_written_on_another_kind_of_device_reseeds_the_run_with_a_warning(tmp_path):
    """A CUDA run's generator state (Philox: seed and offset, 16 bytes) resumes on the CPU:
    the generator is reseeded from it, the same way each time, and the run goes on."""
    import shutil

    from inference.checkpoint import load_checkpoint, write_payload

    data, ckpt = _binary(), tmp_path / "run.pt"
    inference.fit(RBM(6, 3, seed=0), data, method="pcd", epochs=2, batch_size=10, checkpoint=ckpt, **QUIET)
    payload = {k: v for k, v in load_checkpoint(ckpt).items() if k not in ("format", "checksum")}
    payload["generator"] = torch.tensor([7] + [0] * 15, dtype=torch.uint8)
    write_payload(ckpt, payload)
    runs = []
    for copy in ("a.pt", "b.pt"):
        shutil.copy(ckpt, tmp_path / copy)
        model = RBM(6, 3, seed=0)
        with pytest.warns(UserWarning, match="written on 'cuda' and resumes on 'cpu'.*no longer bit-identical"):
            history = inference.fit(model, data, method="pcd", epochs=4, batch_size=10, checkpoint=tmp_path / copy,
                                    resume=True, **QUIET)
        assert history.epoch == [1, 2, 3, 4]
        runs.append(model.W.detach().clone())
    assert torch.equal(runs[0], runs[1])
    payload["generator"] = torch.zeros(100, dtype=torch.uint8)  # neither device's size: refused
    write_payload(ckpt, payload)
    with pytest.raises(ValueError, match="'generator' entry must be a generator state"):
        inference.fit(RBM(6, 3, seed=0), data, method="pcd", epochs=4, batch_size=10, checkpoint=ckpt, resume=True,
                      **QUIET)
