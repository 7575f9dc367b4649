r"""Sequence data: bouncing balls and the digits read row by row.

Sequences are float32 tensors of shape (n_sequences, length, frame): one binary frame of
``frame`` pixels per time step, row-major.

* :func:`bouncing_balls` — balls of equal mass moving at constant speed in a square box,
  bouncing elastically off the walls and off each other (Sutskever & Hinton, 2007, who
  rendered 3 balls to 30×30 frames: ``bouncing_balls(n, T, side=30, n_balls=3,
  radius=3.6, speed=1.5)``, where the radius and speed in pixels approximate theirs); each
  frame is the binary picture of the discs (theirs were grey, thresholded here).
* :func:`digit_row_sequences` — each 8×8 digit as a sequence of its 8 rows of 8 pixels.

References
----------
I. Sutskever and G. Hinton, "Learning multilevel distributed representations for
high-dimensional sequences", AISTATS 2007.
"""

from __future__ import annotations

import math

import torch

from .checks import check_float, check_int, check_seed

__all__ = ["bouncing_balls", "ball_trajectories", "digit_row_sequences"]


def ball_trajectories(n_sequences: int, length: int, side: int = 16, n_balls: int = 2, radius: float = 2.5,
                      speed: float = 1.0, seed: int = 0) -> torch.Tensor:
    r"""Centres of balls bouncing elastically in the box [0, side]², shape
    (n_sequences, length, n_balls, 2), float64, in pixel units.

    Each ball starts at a uniform position (no two discs overlapping) with velocity of
    norm ``speed`` in a uniform direction. A step moves every ball by its velocity,
    reflects it off a wall it crossed (x ← 2r − x below r, x ← 2(side − r) − x above
    side − r, flipping that velocity component), then for each pair of overlapping
    approaching balls i, j with unit normal n = (x_j − x_i) / ‖x_j − x_i‖ exchanges the
    velocity components along n, v_i ← v_i + ((v_j − v_i)·n) n, v_j ← v_j − ((v_j − v_i)·n) n
    (an elastic collision of equal masses: momentum and energy are kept). Centres stay in
    [r, side − r]. Batched over sequences; deterministic given ``seed``.
    """
    n_sequences, length, side, n_balls, radius, speed, seed = _check_balls(
        "ball_trajectories", n_sequences, length, side, n_balls, radius, speed, seed)
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    pos = _start_positions(n_sequences, side, n_balls, radius, gen)
    angle = torch.rand(n_sequences, n_balls, generator=gen, dtype=f64) * (2 * math.pi)
    vel = speed * torch.stack([angle.cos(), angle.sin()], -1)
    out = torch.empty(n_sequences, length, n_balls, 2, dtype=f64)
    lo, hi = radius, side - radius
    pairs = [(i, j) for i in range(n_balls) for j in range(i + 1, n_balls)]
    for t in range(length):
        out[:, t] = pos
        pos = pos + vel
        below, above = pos < lo, pos > hi
        pos = torch.where(below, 2 * lo - pos, torch.where(above, 2 * hi - pos, pos))
        vel = torch.where(below | above, -vel, vel)
        for i, j in pairs:  # a handful of pairs; batched over sequences
            d = pos[:, j] - pos[:, i]
            dist = d.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            n = d / dist
            approach = ((vel[:, j] - vel[:, i]) * n).sum(-1, keepdim=True)
            hit = (dist < 2 * radius) & (approach < 0)
            dv = torch.where(hit, approach * n, torch.zeros_like(n))
            vel = vel.clone()
            vel[:, i] = vel[:, i] + dv
            vel[:, j] = vel[:, j] - dv
    return out


def bouncing_balls(n_sequences: int, length: int, side: int = 16, n_balls: int = 2, radius: float = 2.5,
                   speed: float = 1.0, seed: int = 0) -> torch.Tensor:
    r"""Binary videos of balls bouncing in a box, shape (n_sequences, length, side * side).

    The balls move as in :func:`ball_trajectories`; pixel (row y, column x), with centre
    (x + ½, y + ½), is 1 where it lies within ``radius`` of a ball's centre:

    .. math::

        v_t[y \cdot \mathrm{side} + x] = \mathbb 1\big[\min_k \lVert (x + \tfrac12, y + \tfrac12)
        - p_{t,k} \rVert \le r\big].

    Parameters
    ----------
    n_sequences : int
        Number of independent videos.
    length : int
        Frames per video.
    side : int, default 16
        Frames are side × side pixels (the paper: 30).
    n_balls : int, default 2
        Balls per video (the paper: 3).
    radius : float, default 2.5
        Ball radius in pixels; at most a quarter of ``side`` so that the balls fit.
    speed : float, default 1.0
        Pixels moved per frame; less than side − 2 radius.
    seed : int, default 0
        Seeds the starting positions and directions: the same seed gives the same videos.

    Returns
    -------
    Tensor, float32, shape (n_sequences, length, side * side), values in {0, 1}

    Examples
    --------
    >>> x = bouncing_balls(4, 10, side=12, n_balls=2, radius=2.0)
    >>> x.shape
    torch.Size([4, 10, 144])
    """
    centres = ball_trajectories(n_sequences, length, side, n_balls, radius, speed, seed)
    grid = torch.arange(side, dtype=torch.float64) + 0.5
    gy, gx = torch.meshgrid(grid, grid, indexing="ij")
    pixels = torch.stack([gx.reshape(-1), gy.reshape(-1)], -1)  # (side², 2): (x, y) of each pixel
    frames = torch.zeros(centres.shape[0], centres.shape[1], side * side, dtype=torch.bool)
    for k in range(centres.shape[2]):  # a few balls
        d2 = ((pixels - centres[:, :, k, None, :]) ** 2).sum(-1)
        frames |= d2 <= float(centres.new_tensor(radius) ** 2)
    return frames.to(torch.float32)


def digit_row_sequences(split: str = "train", binarize: bool = True) -> torch.Tensor:
    """The bundled 8×8 digits as sequences of their rows, shape (n, 8, 8): frame t is row t
    (top to bottom) of a digit (:func:`pgm.load_digits`, same splits and binarization).

    Examples
    --------
    >>> digit_row_sequences("test").shape
    torch.Size([359, 8, 8])
    """
    from .datasets import load_digits

    x = load_digits(binarize=binarize, split=split)
    return x.reshape(x.shape[0], 8, 8).contiguous()


def _check_balls(where, n_sequences, length, side, n_balls, radius, speed, seed):
    n_sequences = check_int(n_sequences, "n_sequences", 1, where)
    length = check_int(length, "length", 1, where)
    side = check_int(side, "side", 2, where)
    n_balls = check_int(n_balls, "n_balls", 1, where)
    radius = check_float(radius, "radius", 0.0, side / 4, low_open=True, where=where)
    speed = check_float(speed, "speed", 0.0, side - 2 * radius, high_open=True, where=where)
    seed = check_seed(seed, where, optional=False)
    free = (side - 2 * radius) ** 2
    if n_balls * math.pi * radius ** 2 > 0.5 * free:
        raise ValueError(f"{where}: {n_balls} balls of radius {radius} do not fit loosely in a {side}x{side} box "
                         f"(their discs would cover more than half the free area); use fewer balls, a smaller "
                         f"radius or a larger side")
    return n_sequences, length, side, n_balls, radius, speed, seed


def _start_positions(n, side, n_balls, radius, gen, max_rounds: int = 10_000):
    """Uniform starting centres in [r, side − r]², no two closer than 2r; rejection
    sampling batched over sequences (the sequences with an overlap draw again)."""
    span = side - 2 * radius
    pos = radius + span * torch.rand(n, n_balls, 2, generator=gen, dtype=torch.float64)
    for _ in range(max_rounds):
        bad = _overlapping(pos, radius)
        if not bool(bad.any()):
            return pos
        fresh = radius + span * torch.rand(n, n_balls, 2, generator=gen, dtype=torch.float64)
        pos = torch.where(bad[:, None, None], fresh, pos)
    raise ValueError(f"bouncing_balls: could not place {n_balls} balls of radius {radius} apart in a {side}x{side} "
                     "box; use fewer balls or a smaller radius")


def _overlapping(pos, radius):
    """(n,) bool: whether any two discs of a sequence overlap."""
    d = torch.cdist(pos, pos)
    d = d + torch.eye(pos.shape[1], dtype=pos.dtype) * 4 * radius
    return (d < 2 * radius).flatten(1).any(1)
