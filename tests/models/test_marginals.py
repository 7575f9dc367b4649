"""Column means of a data set accumulated in float64 block by block."""

import pytest
import torch

from models.energy import DBM, RBM
from models.energy.marginals import column_means


@pytest.mark.parametrize("rows", [1, 3, 7, 4096])
def test_column_means_equal_the_float64_mean_of_binary_data_exactly(rows):
    x = torch.bernoulli(torch.full((7, 5), 0.3), generator=torch.Generator().manual_seed(0))
    m = column_means(x, rows=rows)
    assert m.dtype == torch.float64 and m.shape == (5,)
    assert torch.equal(m, x.double().mean(0))


def test_column_means_of_grey_data_match_up_to_rounding():
    x = torch.rand(1000, 4, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(column_means(x, rows=64), x.double().mean(0), rtol=1e-14, atol=0)


def test_models_set_visible_biases_from_the_block_means():
    x = torch.bernoulli(torch.full((9, 6), 0.4), generator=torch.Generator().manual_seed(2))
    x[:, 0] = 0.0  # a column without ones: the clipped logit, not -inf
    expected = torch.logit(x.double().mean(0).clamp(1e-3, 1 - 1e-3)).float()
    assert torch.equal(RBM.from_data(x, 3, seed=0).b.detach(), expected)
    assert torch.equal(DBM.from_data(x, [3, 2], seed=0).biases[0].detach(), expected)


@pytest.mark.parametrize("bad,rows,exc,pattern", [
    (torch.zeros(0, 3), 4, ValueError, r"column_means: data must have shape \(n, d\) with n >= 1, got shape \(0, 3\)"),
    (torch.zeros(3), 4, ValueError, r"got shape \(3,\)"),
    ([[0.0, 1.0]], 4, TypeError, r"column_means: data must be a floating torch\.Tensor .* got list"),
    (torch.zeros(2, 3, dtype=torch.int64), 4, TypeError, r"got a tensor of torch\.int64"),
    (torch.zeros(2, 3), 0, ValueError, r"column_means: rows must be an int >= 1, got 0"),
])
def test_column_means_reject_bad_arguments(bad, rows, exc, pattern):
    with pytest.raises(exc, match=pattern):
        column_means(bad, rows=rows)
