"""Greedy layer-wise pre-training of deep Boltzmann machines."""

import pytest
import torch

from inference import exact_log_partition, log_likelihood, pretrain_dbm
from models import DBM
from tests.inference.learning.test_sml import _teacher_data
from tests.oracles import all_binary_states


def test_layers_double_their_missing_inputs_and_middle_weights_are_halved(one_thread):
    data = _teacher_data(60)
    dbm = DBM([6, 4, 3, 2], seed=0)
    layers = pretrain_dbm(dbm, data, epochs=2, progress=False)
    assert [(layer.up, layer.down) for layer in layers] == [(2, 1), (2, 2), (1, 2)]
    torch.testing.assert_close(dbm.weights[0].detach(), layers[0].W)
    torch.testing.assert_close(dbm.weights[1].detach(), layers[1].W / 2)
    torch.testing.assert_close(dbm.weights[2].detach(), layers[2].W)
    torch.testing.assert_close(dbm.biases[1].detach(), (layers[0].c + layers[1].b) / 2)
    torch.testing.assert_close(dbm.biases[3].detach(), layers[2].c)
    one = DBM([6, 3], seed=0)
    assert [(layer.up, layer.down) for layer in pretrain_dbm(one, data, epochs=1, progress=False)] == [(1, 1)]


def test_pretraining_raises_the_exact_log_likelihood(one_thread):
    data = _teacher_data()
    dbm = DBM.from_data(data, [3, 2], seed=0)
    before = log_likelihood(dbm, data, exact_log_partition(dbm)).mean
    layers = pretrain_dbm(dbm, data, epochs=15, progress=False)
    after = log_likelihood(dbm, data, exact_log_partition(dbm)).mean
    assert after > before + 0.5, (before, after)
    assert layers[0].recon_error[-1] < layers[0].recon_error[0]


def test_centred_and_plain_pretraining_give_the_same_distribution(one_thread):
    data = _teacher_data(80)
    plain, centred = DBM([6, 3, 2], seed=0), DBM([6, 3, 2], centered=True, seed=0)
    pretrain_dbm(plain, data, epochs=3, progress=False, seed=4)
    pretrain_dbm(centred, data, epochs=3, progress=False, seed=4)
    torch.testing.assert_close(centred.offset0, data.mean(0))
    bits = all_binary_states(11, dtype=torch.float32)
    states = {"v": bits[:, :6], "h1": bits[:, 6:9], "h2": bits[:, 9:]}
    diff = (centred.energy(states) - plain.energy(states)).detach().double()
    assert diff.std() < 1e-5
    assert exact_log_partition(centred).log_z - exact_log_partition(plain).log_z == pytest.approx(
        -float(diff.mean()), abs=1e-4)


def test_bad_arguments_are_refused():
    data = _teacher_data(10)
    with pytest.raises(TypeError, match="models.DBM"):
        pretrain_dbm("dbm", data)
    with pytest.raises(ValueError, match="data"):
        pretrain_dbm(DBM([5, 2]), data)
    with pytest.raises(ValueError, match="epochs"):
        pretrain_dbm(DBM([6, 2]), data, epochs=0)
    with pytest.raises(ValueError, match="pretrain_dbm: momentum"):
        pretrain_dbm(DBM([6, 2]), data, momentum=1.0)
