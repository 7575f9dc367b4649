"""Evaluation split across two gloo processes on the CPU, and persistent chains folded into
fewer ranks on resume.

One module fixture starts the two ranks of ``_eval_worker.py`` once (as ``torchrun``
would: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and the tests read what each rank saved:
``pgm eval`` printing on rank 0 alone the number one process prints, the log-likelihood
with log Z by enumeration over state ranges and by AIS over chain shares equal to one
process's from the same states or chains, the rows gathered without padding. The folding
of chains is checked on :func:`scatter_states` directly, with stand-in ranks.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch

from models import DBM, DBN, NADE, Autoencoder, SigmoidBeliefNet
from models.energy import RBM

from inference.checkpoint import save_model
from inference.cli import main as pgm
from inference.distributed import scatter_states
from inference.evaluation import log_likelihood
from inference.learning import PCD, PT
from inference.learning.parts import estimator_part
from inference.partition import exact_log_partition
from inference.partition.estimate import from_log_weights
from inference.partition.split_ais import ais_chain_weights, chain_share
from inference.training.checkpointer import generator_part

from . import _eval_worker as worker
from ._launch import free_port, run_ranks


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny RBM, a directed model and a DBM as model files, and 7 rows of binary data."""
    out = tmp_path_factory.mktemp("split_eval")
    save_model(out / "rbm.pt", RBM(6, 4, seed=1))
    save_model(out / "sbn.pt", SigmoidBeliefNet([6, 3], seed=0))
    save_model(out / "dbm.pt", DBM([6, 4, 3], seed=0))
    save_model(out / "dbn.pt", DBN([6, 4, 3], seed=0))
    save_model(out / "ae.pt", Autoencoder(6, 3, seed=0))
    save_model(out / "nade.pt", NADE(6, 4, seed=0))
    torch.save(worker.data(), out / "data.pt")
    return out


@pytest.fixture(scope="module")
def ranks(files):
    """What ranks 0 and 1 saved."""
    ports = ",".join(str(free_port()) for _ in range(3))  # the phases after the first, each on a port of its own
    run_ranks("tests.inference.distributed._eval_worker", files, ports, files / "rbm.pt", files / "data.pt")
    return [torch.load(files / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _model(files):
    from inference.checkpoint import load_model

    return load_model(files / "rbm.pt")


def _shared_chains(model):
    """One process's AIS estimate from the chains the two ranks ran: rank r's share seeded seed + r."""
    opts = worker.ais_options()
    parts = [ais_chain_weights(model, chain_share(opts["n_chains"], r, 2), opts["betas"], opts["base"], None,
                               opts["seed"] + r) for r in range(2)]
    return from_log_weights(torch.cat([w for w, _ in parts]), parts[0][1], "ais")


def _close(got, want, tol):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a == pytest.approx(b, rel=0, abs=tol)


def test_exact_log_likelihood_on_two_ranks_equals_one_process(ranks, files, one_process):
    r0, r1 = ranks
    assert r0["exact"] == r1["exact"]
    want = log_likelihood(_model(files), worker.data(), "exact", distributed=False)
    assert r0["exact"][4] == want.n == 7  # the padded row counted once
    _close(r0["exact"], want, 1e-12)
    assert r0["log_z_exact"] == r1["log_z_exact"]
    assert r0["log_z_exact"] == pytest.approx(exact_log_partition(_model(files)).log_z, abs=1e-12)


def test_ais_log_likelihood_on_two_ranks_equals_one_process_with_the_same_chains(ranks, files, one_process):
    r0, r1 = ranks
    assert r0["ais"] == r1["ais"]
    model = _model(files)
    want = log_likelihood(model, worker.data(), _shared_chains(model), distributed=False)
    _close(r0["ais"], want, 1e-10)
    assert r0["ais"][1] < r0["ais"][2]  # the bracket of the AIS estimate is carried through


def test_rows_alone_split_with_a_given_log_z_and_fewer_rows_than_ranks(ranks, files, one_process):
    r0, r1 = ranks
    model, x = _model(files), worker.data()
    assert r0["given"] == r1["given"]
    _close(r0["given"], log_likelihood(model, x, 0.25, distributed=False), 1e-12)
    one = log_likelihood(model, x[:1], "exact", distributed=False)
    _close(r0["one_row"][:3], one[:3], 1e-12)
    assert r0["one_row"][4] == 1 and r0["one_row"][3] != r0["one_row"][3]  # one row: n = 1, sem NaN


def _printed(out: str) -> dict:
    return json.loads(out)


def test_pgm_eval_under_the_launcher_prints_the_one_process_number_once(ranks, files, one_process, capsys):
    (code0, out0), (code1, out1) = ranks[0]["cli_exact"], ranks[1]["cli_exact"]
    assert code0 == code1 == 0 and out1 == ""  # rank 1 prints nothing
    assert pgm(["eval", str(files / "rbm.pt"), "--data", str(files / "data.pt"), "--method", "exact"]) == 0
    want, got = _printed(capsys.readouterr().out), _printed(out0)
    assert got["log_z"]["method"] == "exact" and got["log_likelihood"]["n"] == 7
    for key in ("log_z", "log_likelihood"):
        for name, value in want[key].items():
            assert got[key][name] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value)


def test_pgm_eval_ais_under_the_launcher_splits_the_chains(ranks, files, one_process):
    (code0, out0), (code1, out1) = ranks[0]["cli_ais"], ranks[1]["cli_ais"]
    assert code0 == code1 == 0 and out1 == ""
    got, model = _printed(out0), _model(files)
    est = _shared_chains(model)
    assert got["log_z"]["n_chains"] == 9
    assert got["log_z"]["log_z"] == pytest.approx(est.log_z, abs=1e-10)
    assert got["log_likelihood"]["mean"] == pytest.approx(
        log_likelihood(model, worker.data(), est, distributed=False).mean, abs=1e-10)


def test_every_registered_family_splits_its_evaluation():
    from inference.families.protocol import Family, families

    assert [f.name for f in families() if type(f).split_evaluation is Family.split_evaluation] == []


def test_pgm_eval_under_a_launcher_refuses_a_family_that_declares_no_split(files, monkeypatch, capsys):
    """The protocol's default (a family of one's own that does not say how its evaluation
    splits): a usage error rather than W copies of the whole evaluation."""
    from inference.families import lookup
    from inference.families.protocol import Family

    monkeypatch.setattr(type(lookup("ae")), "split_evaluation", Family.split_evaluation)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert pgm(["eval", str(files / "ae.pt"), "--data", str(files / "data.pt"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "does not evaluate across processes" in err and "its evaluation runs on one process" in err
    assert "without torchrun" in err


@pytest.mark.parametrize("argv", [["sample", "{rbm}", "--out", "{tmp}/samples.png"], ["graph", "{rbm}"],
                                  ["filters", "{rbm}", "--out", "{tmp}/filters.png"], ["demo", "--quick"]])
def test_commands_that_do_not_share_their_work_refuse_a_launcher(files, tmp_path, monkeypatch, capsys, argv):
    """Every process would repeat the command and write the same files: refused, nothing written."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.chdir(tmp_path)
    argv = [a.format(rbm=files / "rbm.pt", tmp=tmp_path) for a in argv]
    assert pgm(argv) == 2
    assert f"pgm {argv[0]} runs on one process; run it without torchrun" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_log_likelihood_refuses_a_bad_estimator_name_and_stray_options(files):
    model, x = _model(files), worker.data()
    with pytest.raises(TypeError, match="log_z must be a LogZEstimate, a float or the name of an estimator"):
        log_likelihood(model, x, "enumerate")
    with pytest.raises(ValueError, match="ais_options must be a dict of ais_log_partition keywords given with "
                                         "log_z='ais', got dict with log_z='exact'"):
        log_likelihood(model, x, "exact", ais_options={"n_chains": 4})


# -- persistent chains folded into fewer ranks ---------------------------------------------------

def _pcd_state(rank: int, n: int = 2) -> dict:
    """Chains of old rank ``rank``, each value marking its rank and row."""
    v = torch.full((n, 6), float(rank)) + torch.arange(n).unsqueeze(1) / 10
    return {"chains": {"values": {"v": v, "h": torch.full((n, 4), float(rank))},
                       "beta": torch.ones(n, dtype=torch.float64)}}


def _pt_state(rank: int, c: int = 2, t: int = 3) -> dict:
    """PT chains: rows temperature-major, row τ·c + j marked rank + j/10 + τ/100."""
    mark = float(rank) + (torch.arange(c) / 10).repeat(t) + torch.arange(t).repeat_interleave(c) / 100
    betas = PT(n_temperatures=t).betas
    return {"chains": {"values": {"v": mark.unsqueeze(1).expand(t * c, 6).clone(),
                                  "h": mark.unsqueeze(1).expand(t * c, 4).clone()},
                       "beta": betas.repeat_interleave(c)},
            "swaps": {"accepted": torch.full((t - 1,), float(rank + 1), dtype=torch.float64),
                      "proposed": torch.full((t - 1,), 10.0, dtype=torch.float64), "n_steps": 5}}


def _trainer(est):
    model = RBM(6, 4, seed=0)
    gen = torch.Generator().manual_seed(0)
    trainer = SimpleNamespace(rank_parts=("generator", "estimator"), where="fit", gen=gen, est=est,
                              fresh=[])
    trainer.parts = lambda: {"generator": generator_part(gen), "estimator": estimator_part(est, model)}
    trainer.fresh_state = trainer.fresh.append
    return trainer


def _bad(entry):
    return lambda what: ValueError(f"{entry}: {what}")


def _generators(world: int) -> list:
    return [torch.Generator().manual_seed(100 + r).get_state() for r in range(world)]


@pytest.mark.parametrize("rank, old", [(0, [0, 2]), (1, [1])])
def test_three_rank_checkpoint_on_two_ranks_folds_the_chains(rank, old):
    saved = {"world_size": 3, "generator": _generators(3), "estimator": [_pcd_state(r) for r in range(3)]}
    trainer = _trainer(PCD(n_chains=2))
    note = scatter_states(saved, trainer, SimpleNamespace(rank=rank, world_size=2, is_main=rank == 0), "ck.pt", _bad)
    chains = trainer.est.chains
    assert torch.equal(chains.values["v"], torch.cat([_pcd_state(r)["chains"]["values"]["v"] for r in old]))
    assert torch.equal(chains.values["h"], torch.cat([_pcd_state(r)["chains"]["values"]["h"] for r in old]))
    assert trainer.est.n_chains == 2 * len(old) and chains.beta.shape == (2 * len(old),)
    assert torch.equal(trainer.gen.get_state(), saved["generator"][rank])  # its own generator; rank 2's is dropped
    assert trainer.fresh == []
    if rank == 0:
        assert "written by 3 processes and resumes on 2" in note
        assert "estimator state of rank 2 is folded in" in note and "generator state of rank 2 is dropped" in note
    else:
        assert note is None  # rank 0 alone warns


def test_one_process_takes_every_ranks_chains():
    saved = {"world_size": 3, "generator": _generators(3), "estimator": [_pcd_state(r) for r in range(3)]}
    trainer = _trainer(PCD(n_chains=2))
    note = scatter_states(saved, trainer, None, "ck.pt", _bad)
    assert trainer.est.chains.values["v"][:, 0].tolist() == pytest.approx([0, 0.1, 1, 1.1, 2, 2.1])
    assert "resumes on one" in note and "ranks 1 to 2" in note


def test_parallel_tempering_chains_fold_temperature_by_temperature():
    saved = {"world_size": 2, "generator": _generators(2), "estimator": [_pt_state(r) for r in range(2)]}
    trainer = _trainer(PT(n_chains=2, n_temperatures=3))
    scatter_states(saved, trainer, None, "ck.pt", _bad)
    chains = trainer.est.chains
    # temperature τ holds rank 0's chains then rank 1's: row τ·4 + j
    want = [r + j / 10 + tau / 100 for tau in range(3) for r in range(2) for j in range(2)]
    assert chains.values["v"][:, 0].tolist() == pytest.approx(want)
    assert torch.equal(chains.betas, PT(n_temperatures=3).betas)
    assert trainer.est.chains_per_temperature == 4
    assert chains.accepted.tolist() == [3.0, 3.0] and chains.proposed.tolist() == [20.0, 20.0]


def test_folded_chains_must_still_be_whole_ranks():
    state = _pcd_state(0, n=3)  # 3 chains where the run has 2 per process: no number of ranks gives that
    saved = {"world_size": 1, "generator": _generators(1), "estimator": [state]}
    with pytest.raises(ValueError, match="holds 3 chains, the run has 2 per process"):
        scatter_states(saved, _trainer(PCD(n_chains=2)), SimpleNamespace(rank=0, world_size=2, is_main=True),
                       "ck.pt", _bad)


def test_importance_estimate_on_two_ranks_is_each_rank_s_rows_gathered(ranks, files, one_process):
    """Rank r estimates the rows r, r + 2, ... with torch's generator seeded seed + r; the
    per-example estimates come back in the rows' order and the summary is theirs."""
    from inference.checkpoint import load_model
    from inference.evaluation import importance_log_likelihood

    (r0, r1) = ranks
    assert r0["importance"][:3] == r1["importance"][:3]  # every rank returns the whole data set's estimate
    assert torch.equal(r0["importance"][3], r1["importance"][3])
    sbn, x = load_model(files / "sbn.pt"), worker.data()
    per, elbo = torch.empty(x.shape[0], dtype=torch.float64), torch.empty(x.shape[0], dtype=torch.float64)
    for r in range(2):  # rank 1 holds rows 1, 3, 5 and the sampler's padding, row 0 again (its draws count)
        rows = torch.tensor([r, r + 2, r + 4, (r + 6) % 7])
        own = importance_log_likelihood(sbn, x[rows], n_samples=worker.IMPORTANCE_K, seed=3 + r, distributed=False)
        kept = rows[:4 - r]  # the padded position dropped
        per[kept], elbo[kept] = own.per_example[:4 - r], own.per_example_elbo[:4 - r]
    torch.testing.assert_close(r0["importance"][3], per, rtol=0, atol=1e-12)
    torch.testing.assert_close(r0["importance"][4], elbo, rtol=0, atol=1e-12)
    assert r0["importance"][0] == pytest.approx(float(per.mean()), abs=1e-12)
    assert r0["importance"][1] == pytest.approx(float(per.std() / math.sqrt(x.shape[0])), abs=1e-12)
    code, printed = r0["cli_sbn"]
    assert code == 0 and json.loads(printed)["log_likelihood"]["mean"] == pytest.approx(float(per.mean()), abs=1e-12)
    assert r1["cli_sbn"] == [0, ""]  # only rank 0 prints


def test_pgm_eval_of_an_autoregressive_model_under_the_launcher_equals_one_process(ranks, files, one_process,
                                                                                  capsys):
    (r0, r1) = ranks
    assert pgm(["eval", str(files / "nade.pt"), "--data", str(files / "data.pt")]) == 0
    alone = json.loads(capsys.readouterr().out)["log_likelihood"]
    code, printed = r0["cli_nade"]
    split = json.loads(printed)["log_likelihood"]
    assert code == 0 and r1["cli_nade"] == [0, ""] and split["n"] == alone["n"] == 7
    assert split["mean"] == pytest.approx(alone["mean"], rel=1e-6) and split["sem"] == pytest.approx(alone["sem"],
                                                                                                     rel=1e-5)


def test_pgm_eval_of_a_dbn_under_the_launcher_splits_log_z_and_the_rows(ranks, files, one_process):
    """The top RBM's exact log Z over state ranges (the one-process value) and the rows of the
    importance estimate, rank r's draws seeded seed + r."""
    from inference.checkpoint import load_model
    from inference.dbn import set_dbn_prior
    from inference.evaluation import importance_log_likelihood

    (r0, r1) = ranks
    dbn, x = load_model(files / "dbn.pt"), worker.data()
    log_z = exact_log_partition(dbn.top)
    set_dbn_prior(dbn, log_z)
    per = torch.empty(x.shape[0], dtype=torch.float64)
    for r in range(2):  # rank 1 holds rows 1, 3, 5 and the sampler's padding, row 0 again
        rows = torch.tensor([r, r + 2, r + 4, (r + 6) % 7])
        own = importance_log_likelihood(dbn, x[rows], n_samples=worker.IMPORTANCE_K, seed=3 + r, distributed=False)
        per[rows[:4 - r]] = own.per_example[:4 - r]
    code, printed = r0["cli_dbn"]
    result = json.loads(printed)
    assert code == 0 and r1["cli_dbn"] == [0, ""]
    assert result["log_z"]["log_z"] == pytest.approx(log_z.log_z, abs=1e-12)
    assert result["log_likelihood"]["mean"] == pytest.approx(float(per.mean()), abs=1e-10)
