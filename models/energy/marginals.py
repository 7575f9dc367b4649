"""Column means of a data set in float64 without a float64 copy of it."""

from __future__ import annotations

import torch

from pgm.checks import check_int

__all__ = ["column_means"]

#: Rows converted to float64 at a time: 4096 rows of 784 pixels are 26 MB.
ROWS = 4096


def column_means(data: torch.Tensor, rows: int = ROWS) -> torch.Tensor:
    r"""The mean of each column of ``data``, accumulated in float64, ``rows`` rows at a time.

    .. math::

        \bar x_j = \frac{1}{n} \sum_{i=1}^{n} x_{ij}

    ``data.double().mean(0)`` gives the same values but first copies the whole data set
    to float64, twice its float32 size (376 MB for 60,000 MNIST rows); here only one
    chunk is converted at a time. Binary data give exactly the same means (the sums are
    whole numbers), other data the same up to the order of the float64 additions.

    Parameters
    ----------
    data : Tensor, shape (n, d)
        A floating tensor with at least one row.
    rows : int, default 4096
        Rows converted to float64 at a time.

    Returns
    -------
    Tensor, shape (d,), float64, on ``data``'s device

    Raises
    ------
    TypeError
        ``data`` is not a floating tensor, or ``rows`` not an int.
    ValueError
        ``data`` is not 2-D or has no rows, or ``rows`` < 1.

    Examples
    --------
    >>> x = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0]])
    >>> column_means(x, rows=2)
    tensor([0.3333, 1.0000], dtype=torch.float64)
    """
    rows = check_int(rows, "rows", where="column_means")
    if not isinstance(data, torch.Tensor) or not torch.is_floating_point(data):
        got = f"a tensor of {data.dtype}" if isinstance(data, torch.Tensor) else type(data).__name__
        raise TypeError(f"column_means: data must be a floating torch.Tensor of shape (n, d), got {got}")
    if data.dim() != 2 or data.shape[0] == 0:
        raise ValueError(f"column_means: data must have shape (n, d) with n >= 1, got shape {tuple(data.shape)}")
    total = torch.zeros(data.shape[1], dtype=torch.float64, device=data.device)
    for chunk in data.split(rows):
        total += chunk.to(torch.float64).sum(0)
    return total / data.shape[0]
