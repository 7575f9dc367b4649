"""The sequence data: bouncing balls and digit rows."""

from __future__ import annotations

import pytest
import torch

from pgm import load_digits
from pgm.sequences import ball_trajectories, bouncing_balls, digit_row_sequences


def test_bouncing_balls_shape_binary_and_deterministic():
    x = bouncing_balls(6, 15, side=12, n_balls=2, radius=2.0, seed=3)
    assert x.shape == (6, 15, 144) and x.dtype == torch.float32
    assert bool(((x == 0) | (x == 1)).all())
    assert torch.equal(x, bouncing_balls(6, 15, side=12, n_balls=2, radius=2.0, seed=3))
    assert not torch.equal(x, bouncing_balls(6, 15, side=12, n_balls=2, radius=2.0, seed=4))
    assert bool((x.sum(-1) > 0).all())  # every frame shows a ball


def test_balls_stay_in_the_box_keep_their_speed_and_do_not_interpenetrate():
    side, r, speed = 16, 2.0, 1.0
    c = ball_trajectories(40, 60, side=side, n_balls=3, radius=r, speed=speed, seed=0)
    assert bool(((c >= r) & (c <= side - r)).all())
    steps = c[:, 1:] - c[:, :-1]
    # away from walls and collisions a ball moves by its constant speed; elastic collisions of equal
    # masses and wall reflections keep the total kinetic energy: the sum of squared speeds
    # (measured between frames without a bounce it equals n_balls * speed²)
    energy = (steps ** 2).sum((-1, -2))
    assert float(energy.max()) <= 3 * speed ** 2 + 1e-9
    assert float((energy - 3 * speed ** 2).abs().lt(1e-9).double().mean()) > 0.5
    gap = torch.cdist(c.reshape(-1, 3, 2), c.reshape(-1, 3, 2)) + torch.eye(3) * 10
    # discs overlap by at most one step's approach (2 · speed) before they bounce: never pass through
    assert float(gap.min()) >= 2 * r - 2 * speed


def test_disc_pixels_are_those_within_the_radius():
    c = ball_trajectories(2, 3, side=10, n_balls=1, radius=2.0, seed=1)
    x = bouncing_balls(2, 3, side=10, n_balls=1, radius=2.0, seed=1).reshape(2, 3, 10, 10)
    ys, xs = torch.meshgrid(torch.arange(10) + 0.5, torch.arange(10) + 0.5, indexing="ij")
    inside = ((xs - c[1, 2, 0, 0]) ** 2 + (ys - c[1, 2, 0, 1]) ** 2) <= 4.0
    assert torch.equal(x[1, 2].bool(), inside)


def test_digit_rows_are_the_digits_rows():
    x = digit_row_sequences("test")
    assert x.shape == (359, 8, 8)
    assert torch.equal(x.reshape(359, 64), load_digits(split="test"))


@pytest.mark.parametrize("kwargs, match", [
    ({"n_sequences": 0}, "n_sequences"),
    ({"length": 2.5}, "length"),
    ({"radius": 5.0}, "radius"),
    ({"speed": 20.0}, "speed"),
    ({"n_balls": 9}, "do not fit"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments_are_named(kwargs, match):
    args = {"n_sequences": 2, "length": 3, **kwargs}
    with pytest.raises((TypeError, ValueError), match=match):
        bouncing_balls(**args)
