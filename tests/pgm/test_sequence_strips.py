"""Frame strips of sequences: real rows alone or each above its generated continuation."""

import matplotlib
import pytest
import torch

import pgm

matplotlib.use("Agg")


def test_strips_with_and_without_generated_rows(tmp_path):
    x = pgm.bouncing_balls(2, 5, side=12, n_balls=1, radius=2.0)
    both = pgm.plots.sequence_strips(x, x[:, :3], (12, 12), given=2, path=tmp_path / "both.png")
    alone = pgm.plots.sequence_strips(x, None, (12, 12), path=tmp_path / "alone.png")
    assert [t.get_text() for t in both.axes[0].get_yticklabels()] == ["real", "generated"] * 2
    assert [t.get_text() for t in alone.axes[0].get_yticklabels()] == ["real"] * 2
    assert (tmp_path / "both.png").stat().st_size > 0 and (tmp_path / "alone.png").stat().st_size > 0


@pytest.mark.parametrize("real, generated, match", [
    (torch.full((1, 3, 4), 2.0), None, r"real must hold values in \[0, 1\]"),
    (torch.zeros(2, 3, 4), torch.zeros(1, 3, 4), "same number of sequences"),
    (torch.zeros(1, 3, 5), None, r"real must have shape \(n >= 1, length, 4\)"),
])
def test_bad_input_is_refused_by_name(real, generated, match):
    with pytest.raises(ValueError, match=match):
        pgm.plots.sequence_strips(real, generated, (2, 2))
