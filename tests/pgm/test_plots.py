"""Tests of pgm.plots: what each picture puts on its axes, the saved files, bad input."""

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pgm import plots

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


def saved(path):
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 1000
    return True


def image_of(fig, k=0):
    return fig.axes[k].get_images()[0].get_array()


def test_image_grid_tiles_every_image_and_keeps_values_without_normalize(tmp_path):
    x = torch.rand(5, 12)
    fig = plots.image_grid(x, (3, 4), tmp_path / "g.png", ncols=2, normalize=None, title="samples")
    canvas = image_of(fig)
    assert canvas.shape == (3 * 4 + 1, 2 * 5 + 1)  # 3 rows of 2 tiles, one-pixel gaps
    assert np.allclose(canvas[1:4, 1:5], x[0].reshape(3, 4).numpy())
    assert np.allclose(canvas[9:12, 1:5], x[4].reshape(3, 4).numpy())
    assert canvas.mask[9:12, 6:10].all()  # the sixth tile is empty
    assert fig.axes[0].get_title() == "samples" and saved(tmp_path / "g.png")


def test_image_grid_scales_real_images_jointly_and_accepts_3d_batches():
    x = torch.randn(4, 2, 2) * 3
    canvas = image_of(plots.image_grid(x, (2, 2), normalize="global"))
    vals = canvas.compressed()
    assert vals.min() == 0 and vals.max() == 1
    flat = x.reshape(4, 4).numpy()
    assert np.allclose(canvas[1:3, 1:3], ((flat[0] - flat.min()) / (flat.max() - flat.min())).reshape(2, 2))


def test_image_grid_asks_for_the_pixels_of_rows_joined_with_a_label():
    rows = torch.cat([torch.rand(3, 4), torch.eye(3)], 1)  # pixels then a one-hot label
    with pytest.raises(ValueError, match=r"images\[:, :4\]"):
        plots.image_grid(rows, (2, 2))


def test_filter_grid_draws_one_tile_per_unit_on_a_symmetric_scale_with_a_colour_bar(tmp_path):
    W = torch.randn(6, 5)
    fig = plots.filter_grid(W, (2, 3), tmp_path / "f.png", n=4)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "weight"
    im = fig.axes[0].get_images()[0]
    lo, hi = im.get_clim()
    assert hi == -lo == pytest.approx(float(W[:, :4].abs().max()))
    canvas = im.get_array()
    assert canvas.shape == (2 * 3 + 1, 2 * 4 + 1)  # 2x2 tiles of 2x3
    assert np.allclose(canvas[1:3, 1:4], W[:, 0].reshape(2, 3).numpy())
    assert "4 units" in fig.axes[0].get_title() and saved(tmp_path / "f.png")


def test_reconstruction_grid_puts_each_row_of_data_over_its_reconstructions(tmp_path):
    x, r = torch.rand(3, 4), torch.rand(3, 4)
    fig = plots.reconstruction_grid(x, r, (2, 2), tmp_path / "r.png", ncols=2)
    canvas = image_of(fig)
    assert canvas.shape == (4 * 3 + 1, 2 * 3 + 1)  # rows: data, recon, data, recon
    assert np.allclose(canvas[1:3, 1:3], x[0].reshape(2, 2).numpy())
    assert np.allclose(canvas[4:6, 1:3], r[0].reshape(2, 2).numpy())
    assert np.allclose(canvas[7:9, 1:3], x[2].reshape(2, 2).numpy())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["data", "reconstruction"] * 2 and saved(tmp_path / "r.png")


def test_plot_curves_joins_epochs_with_values_and_shades_bands(tmp_path):
    fig = plots.plot_curves({"ll": [-3.0, None, -2.0]}, tmp_path / "c.png", bands={"ll": ([-3.5, None, -2.5],
                                                                                       [-2.5, None, -1.5])})
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 3] and list(line.get_ydata()) == [-3.0, -2.0]
    assert len(ax.collections) == 1 and ax.get_xlabel() == "epoch" and saved(tmp_path / "c.png")


def test_training_curves_of_an_energy_models_history(tmp_path):
    from inference import History

    h = History()
    for e in range(1, 4):
        h.append(epoch=e, recon_error=5.0 - e, pseudo_log_likelihood=None, train_recon_error=None,
                 log_likelihood=-20.0 + e, log_z=10.0, log_likelihood_lower=-20.1 + e, log_likelihood_upper=-19.9 + e,
                 lr=0.1, momentum=0.5, hmc_accept=None, hmc_step_size=None, seconds=1.0)
    fig = plots.training_curves(h, tmp_path / "t.png")
    left, right = fig.axes
    assert [ln.get_label() for ln in left.get_lines()] == ["log-likelihood"]
    assert len(left.collections) == 1  # the AIS bracket of fit's evaluations, shaded
    assert [ln.get_label() for ln in right.get_lines()] == ["reconstruction error"]
    assert left.get_ylabel() == "nats per example" and right.get_ylabel() == "squared error per example"
    assert saved(tmp_path / "t.png")


def test_training_curves_of_a_directed_history_and_a_bracket_band():
    from inference import DirectedHistory

    h = DirectedHistory()
    for e in range(1, 3):
        h.append(epoch=e, objective=-30.0 + e, elbo=-31.0 + e, log_likelihood=None, lr=0.01, seconds=1.0)
    fig = plots.training_curves(h)
    assert len(fig.axes) == 1
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["ELBO", "training objective"]
    table = {"epoch": [1, 2], "log_likelihood": [-3.0, -2.0], "log_likelihood_lower": [-3.2, -2.1],
             "log_likelihood_upper": [-2.9, -1.95]}
    ax = plots.training_curves(table).axes[0]
    assert len(ax.collections) == 1  # the shaded bracket


def test_training_curves_of_a_greedy_dbn_history():
    from inference import GreedyHistory, History

    layers = []
    for _ in range(2):
        h = History()
        for e in (1, 2):
            h.append(epoch=e, recon_error=3.0 / e, pseudo_log_likelihood=None, train_recon_error=None,
                     log_likelihood=None, log_z=None, log_likelihood_lower=None, log_likelihood_upper=None,
                     lr=0.1, momentum=0.5, hmc_accept=None, hmc_step_size=None, seconds=1.0)
        layers.append(h)
    bounds = [{"layer": l, "estimate": -20.0 + l, "estimate_lower": -20.5 + l, "estimate_upper": -19.5 + l,
               "bound": -21.0 + l} for l in (1, 2)]
    fig = plots.training_curves(GreedyHistory(layers, bounds))
    left, right = fig.axes
    assert left.get_xlabel() == "layers trained" and len(left.collections) == 1
    assert [ln.get_label() for ln in right.get_lines()] == ["layer 1", "layer 2"]


def test_effective_sample_size_is_kish_and_n_for_equal_weights():
    lw = np.log(np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 3.0, 0.0 + 1e-300, 2.0]]))
    ess = plots.effective_sample_size(lw)
    assert ess[0] == pytest.approx(4.0) and ess[1] == pytest.approx(36 / 14)
    assert plots.effective_sample_size(lw + 800.0)[1] == pytest.approx(36 / 14)  # no overflow


def test_ais_diagnostics_shows_the_histogram_and_the_ess(tmp_path):
    betas = np.linspace(0, 1, 5)
    lw = np.cumsum(np.random.default_rng(0).normal(size=(5, 40)), 0) * betas[:, None]
    fig = plots.ais_diagnostics(betas, lw, tmp_path / "a.png", bins=8)
    hist, ess = fig.axes
    assert len(hist.patches) == 8 and "log-weight" in hist.get_xlabel() and hist.get_ylabel() == "chains"
    line = ess.get_lines()[0]
    assert line.get_ydata()[0] == pytest.approx(40) and ess.get_xlabel() == "inverse temperature β"
    assert np.allclose(line.get_ydata(), plots.effective_sample_size(lw)) and saved(tmp_path / "a.png")


def test_swap_acceptance_draws_a_labelled_bar_per_pair(tmp_path):
    fig = plots.swap_acceptance(torch.tensor([1.0, 0.5, 0.25]), torch.tensor([0.3, float("nan")]), tmp_path / "s.png")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.3, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1.00↔0.50", "0.50↔0.25"]
    assert [t.get_text() for t in ax.texts] == ["0.30", "n/a"] and saved(tmp_path / "s.png")


def test_recall_strip_shows_pattern_probe_and_sweeps(tmp_path):
    p = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1]])
    probe = p.clone()
    probe[:, 0] *= -1
    frames = torch.stack([probe, p, p])  # recalled after one sweep
    frames[-1, 1, 3] = 1  # the second probe ends elsewhere
    fig = plots.recall_strip(p, frames, (2, 2), tmp_path / "h.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["pattern", "probe", "1", "2"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["recalled", "missed"]
    assert np.allclose(image_of(fig)[1:3, 4:6], ((probe[0] + 1) / 2).reshape(2, 2).numpy())
    assert "1 of 2" in ax.get_title() and saved(tmp_path / "h.png")


def test_every_picture_draws_into_a_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 4)
    assert plots.image_grid(torch.rand(2, 4), (2, 2), ax=axes[0]) is fig
    assert plots.reconstruction_grid(torch.rand(2, 4), torch.rand(2, 4), (2, 2), ax=axes[1]) is fig
    assert plots.swap_acceptance([1.0, 0.5], [0.5], ax=axes[2]) is fig
    assert plots.plot_curves({"a": [1, 2]}, ax=axes[3]) is fig
