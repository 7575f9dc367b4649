"""Epoch time of our DCGAN training against a plain PyTorch DCGAN loop of the same
architecture.

Both train the same networks (:class:`models.adversarial.DCGAN`: ``--image-size`` 8 on the
1,438 grey-level training digits, or 28 on them upsampled bilinearly; ``--channels``
features, ``--latent`` z) with Adam (lr 2·10⁻⁴, β₁ = 0.5) in batches of 64, one thread.
Ours is ``inference.adversarial.train.fit_gan(model, data, epochs=1, batch_size=64,
progress=False, monitor=0)``; the plain one is the loop of the standard PyTorch DCGAN
example: per batch, a discriminator step on the real rows (label 1) and on G(z) detached
(label 0) with the binary cross-entropy on logits, then a generator step on D(G(z)) with
label 1 (the non-saturating loss). Each epoch time is the best of ``--repeats`` one-epoch
runs, the two interleaved so that a busy spell hits both; the ratio is ours / plain
(target ≤ 1.1).

``fit_gan`` is the library's adversarial trainer; where it cannot be imported, only the
plain loop is timed, with a note.

``--device cuda`` runs both on the GPU (the data and both copies of the networks moved
there, the device synchronised at the end of each epoch before the clock is read).

Usage::

    python benchmarks/dcgan_overhead.py [--image-size 8] [--channels 32] [--repeats 5] [--threads 1]
    python benchmarks/dcgan_overhead.py --image-size 28 --channels 64 --device cuda
"""

from __future__ import annotations

import argparse
import copy
import inspect
import sys
import time

import torch
import torch.nn.functional as F

from _common import interleaved_epochs, machine_line, set_threads

from models.adversarial import DCGAN
from pgm import load_digits


def digits(image_size: int) -> torch.Tensor:
    x = load_digits(binarize=False)
    if image_size == 8:
        return x
    img = F.interpolate(x.reshape(-1, 1, 8, 8), size=(image_size, image_size), mode="bilinear", align_corners=False)
    return img.clamp(0, 1).flatten(1)


class PlainDCGAN:
    """The standard PyTorch DCGAN example's loop on copies of our two networks."""

    def __init__(self, model: DCGAN, seed: int = 0, batch_size: int = 64):
        self.g, self.d = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
        self.n_latent, self.batch_size = model.n_latent, batch_size
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.device = next(self.g.parameters()).device
        self.gen = torch.Generator(device=self.device).manual_seed(seed)

    def epoch(self, data: torch.Tensor) -> None:
        g, d, gen = self.g, self.d, self.gen
        g.train(), d.train()
        for idx in torch.randperm(data.shape[0], generator=gen, device=self.device).split(self.batch_size):
            real = data[idx]
            n = real.shape[0]
            ones, zeros = torch.ones(n, device=self.device), torch.zeros(n, device=self.device)
            # discriminator: real rows labelled 1, generated rows 0
            self.opt_d.zero_grad()
            loss_real = F.binary_cross_entropy_with_logits(d(real), ones)
            loss_real.backward()
            fake = g(torch.randn(n, self.n_latent, generator=gen, device=self.device))
            loss_fake = F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            loss_fake.backward()
            self.opt_d.step()
            # generator: the non-saturating loss, generated rows labelled 1
            self.opt_g.zero_grad()
            loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
            loss_g.backward()
            self.opt_g.step()


def library_trainer():
    """``fit_gan`` and the keywords it accepts, or ``(None, reason)``."""
    try:
        from inference.adversarial.train import fit_gan
    except ImportError as err:
        return None, f"inference.adversarial.train.fit_gan is not importable ({err})"
    return fit_gan, set(inspect.signature(fit_gan).parameters)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image-size", type=int, default=8)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--latent", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("dcgan_overhead: no CUDA device here (torch.cuda.is_available() is False)", file=sys.stderr)
        return None
    set_threads(args.threads)
    data = digits(args.image_size).to(device)
    model = DCGAN(args.image_size, n_latent=args.latent, channels=args.channels, seed=0).to(device)
    plain = PlainDCGAN(model)

    def synced(fn):
        def run():
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        return run

    title = (f"DCGAN {args.image_size}x{args.image_size}, {args.channels} channels, {data.shape[0]} rows, "
             f"batch 64, on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'the CPU'}: one epoch")
    fit_gan, accepted = library_trainer()
    if fit_gan is None:
        print(f"note: {accepted}: only the plain loop is timed")
        plain.epoch(data)
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            plain.epoch(data)
            best = min(best, time.perf_counter() - t0)
        print(f"{title}; best of {args.repeats}")
        print(machine_line())
        print(f"  plain {best * 1e3:7.1f} ms per epoch")
        return None
    options = {k: v for k, v in dict(epochs=1, batch_size=64, progress=False, monitor=0).items() if k in accepted}

    def ours():
        fit_gan(model, data, **options)

    return interleaved_epochs(synced(ours), synced(lambda: plain.epoch(data)), args.repeats, title)


if __name__ == "__main__":
    main()
