r"""The deep convolutional GAN (Radford, Metz & Chintala 2016): a convolutional generator
and discriminator for square grey-level images stored as flat rows."""

from __future__ import annotations

import torch
from torch import nn

from pgm.checks import check_int, check_memory, check_seed, check_units

from .generator import GeneratorProgram, seeded

__all__ = ["DCGAN", "dcgan_layout"]

_INIT_STD = 0.02  # the paper: every weight from N(0, 0.02)


def dcgan_layout(image_size: int) -> tuple[int, int]:
    """``(base, n_up)``: the side of the generator's first feature map and the number of
    stride-2 layers; ``image_size = base · 2^n_up``, halving while the side stays even
    and the half is at least 2 (8 → (2, 2), 28 → (7, 2), 16 → (2, 3), 32 → (2, 4))."""
    image_size = check_int(image_size, "image_size", 4, "DCGAN")
    base, n_up = image_size, 0
    while base % 2 == 0 and base // 2 >= 2:
        base, n_up = base // 2, n_up + 1
    if n_up == 0:
        raise ValueError(f"DCGAN: image_size must be base · 2^k with k ≥ 1 and base ≥ 2 (such as 8, 16, 28, 32), "
                         f"got {image_size}")
    return base, n_up


class _Generator(nn.Module):
    """z (n, n_latent) [, one-hot y (n, K)] → images as rows (n, image_size²)."""

    def __init__(self, n_in, channels, base, n_up, image_size):
        super().__init__()
        self.image_size = image_size
        width = channels * 2 ** (n_up - 1)
        # "project and reshape": a transposed convolution from 1×1 to base×base
        layers = [nn.ConvTranspose2d(n_in, width, base, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, y=None):
        h = z if y is None else torch.cat([z, y], 1)
        return self.net(h[:, :, None, None]).flatten(1)


class _Discriminator(nn.Module):
    """Images as rows (n, image_size²) [, one-hot y (n, K) as constant planes] → logits (n,)."""

    def __init__(self, n_in, channels, base, n_up, image_size):
        super().__init__()
        self.image_size = image_size
        layers = [nn.Conv2d(n_in, channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no batch norm on the input layer
        width = channels
        for _ in range(n_up - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       nn.LeakyReLU(0.2, True)]
            width *= 2
        layers += [nn.Conv2d(width, 1, base, 1, 0)]  # base×base → one logit
        self.net = nn.Sequential(*layers)

    def forward(self, x, y=None):
        s = self.image_size
        h = x.reshape(-1, 1, s, s)
        if y is not None:
            h = torch.cat([h, y[:, :, None, None].expand(-1, -1, s, s)], 1)
        return self.net(h).flatten()


def _init(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, _INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, _INIT_STD)
            nn.init.zeros_(m.bias)


class DCGAN(GeneratorProgram, nn.Module):
    r"""A deep convolutional GAN (Radford, Metz & Chintala 2016) as a Pyro program.

    .. math::

        z \sim \mathcal{N}(0, I), \qquad v = G(z\,[, y]) \in [0, 1]^{s^2},
        \qquad D(v\,[, y]) \in \mathbb{R}\ \text{(a logit)},

    trained adversarially (:func:`inference.adversarial.train.fit_gan`, Adam with
    lr 2·10⁻⁴ and β₁ = 0.5 as in the paper). With image side s = base · 2^k
    (:func:`dcgan_layout`: 8 = 2 · 2², 28 = 7 · 2²):

    * **generator** — z (and a one-hot label) projected by a transposed convolution to a
      base × base map of channels · 2^(k−1) features, then k − 1 transposed convolutions
      (kernel 4, stride 2) halving the features and doubling the side, each followed by
      batch normalisation and ReLU, and a last stride-2 transposed convolution to one
      channel with a sigmoid (no batch norm); flattened to (n, s²), the data format of
      every other family;
    * **discriminator** — the mirror image: k strided convolutions (kernel 4, stride 2, no
      pooling) doubling the features from ``channels``, LeakyReLU(0.2), batch
      normalisation on all but the input layer, and a base × base convolution to one
      logit per row; labels enter as n_classes constant input planes.

    Weights are drawn from N(0, 0.02), batch-norm scales from N(1, 0.02), biases are zero.

    **Batch normalisation.** Training (``fit_gan``) runs both networks in train mode
    (batch statistics, as the paper). Everything else here — :meth:`sample`,
    :meth:`model`, :meth:`decoder` — evaluates the generator in eval mode, with the
    running statistics, so a sample does not depend on the other rows of its batch; and
    each restores the module's train/eval flags afterwards.

    Parameters
    ----------
    image_size : int, default 28
        Side s of the square images; rows have s² values in [0, 1].
    n_latent : int, default 10
    channels : int, default 64
        Features of the discriminator's first layer (and of the generator's last hidden one).
    n_classes : int, default 0
        > 0: a conditional DCGAN, G(z, y) and D(x, y).
    seed : int, optional
        Seed of the initialisation.

    Attributes
    ----------
    generator, discriminator : nn.Module
        ``generator(z, y=None)`` → (n, s²); ``discriminator(x, y=None)`` → logits (n,);
        ``y`` one-hot (n, n_classes).

    Examples
    --------
    >>> gan = DCGAN(8, n_latent=4, channels=8, seed=0)
    >>> gan.sample(3, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 64])
    >>> gan.discriminator(gan.sample(3)).shape
    torch.Size([3])
    """

    #: What data the model generates (values in [0, 1]).
    visible_kind = "bernoulli"

    def __init__(self, image_size: int = 28, n_latent: int = 10, channels: int = 64, n_classes: int = 0, *,
                 seed: int | None = None):
        super().__init__()
        where = "DCGAN"
        base, n_up = dcgan_layout(image_size)
        n_latent = check_int(n_latent, "n_latent", 1, where)
        channels = check_int(channels, "channels", 1, where)
        n_classes = check_int(n_classes, "n_classes", 0, where)
        if n_classes == 1:
            raise ValueError(f"{where}: n_classes must be 0 (unconditional) or at least 2, got 1")
        seed = check_seed(seed, where)
        top = channels * 2 ** (n_up - 1)
        check_memory(where, 2 * (n_latent + n_classes) * top * base * base + 2 * 16 * top * top
                     + channels * (1 + n_classes) * 16)
        self.image_size, self.n_latent, self.channels, self.n_classes, self.seed = \
            image_size, n_latent, channels, n_classes, seed
        self.n_visible = image_size * image_size
        self.base, self.n_up = base, n_up
        with seeded(seed):
            self.generator = _Generator(n_latent + n_classes, channels, base, n_up, image_size)
            self.discriminator = _Discriminator(1 + n_classes, channels, base, n_up, image_size)
            _init(self)

    def config(self) -> dict:
        return {"image_size": self.image_size, "n_latent": self.n_latent, "channels": self.channels,
                "n_classes": self.n_classes, "seed": self.seed}

    def check_images(self, x, name: str = "x") -> torch.Tensor:
        """``x`` as checked rows, reshaped to images (batch, 1, s, s)."""
        s = self.image_size
        return check_units(x, name, self.n_visible, unit_interval=True, dtype=self.dtype,
                           device=self.device).reshape(-1, 1, s, s)
