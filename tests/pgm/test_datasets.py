"""Tests of pgm.datasets: digits splits, bars and stripes, IDX parsing."""

import gzip

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from pgm import bars_and_stripes, load_digits, load_mnist


# -- digits -------------------------------------------------------------------------------
def test_digits_shapes_and_dtypes():
    for split, n in (("train", 1438), ("test", 359), ("all", 1797)):
        x, y = load_digits(split=split, return_labels=True)
        assert x.shape == (n, 64) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
    assert isinstance(load_digits(), torch.Tensor)


def test_digits_values_and_split():
    bunch = sk_load_digits()
    perm = np.random.RandomState(0).permutation(1797)
    x, y = load_digits(binarize=False, split="test", return_labels=True)
    np.testing.assert_allclose(x.numpy(), (bunch.data[perm[1438:]] / 16).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), bunch.target[perm[1438:]])
    xb = load_digits(binarize=True, split="train")
    np.testing.assert_array_equal(xb.numpy(), (bunch.data[perm[:1438]] >= 8).astype(np.float32))
    assert set(torch.unique(xb).tolist()) == {0.0, 1.0}
    x_all, y_all = load_digits(binarize=False, split="all", return_labels=True)
    np.testing.assert_array_equal(y_all.numpy(), bunch.target)  # original order
    assert float(x_all.min()) == 0.0 and float(x_all.max()) == 1.0
    # train and test partition all
    train, test = load_digits(False, "train"), load_digits(False, "test")
    assert torch.equal(torch.cat([train, test]).sort(0).values, x_all.sort(0).values)


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', 'all', got 'valid'"):
        load_digits(split="valid")
    with pytest.raises(TypeError, match="binarize"):
        load_digits(binarize="yes")


def test_digits_dequantized_values_and_split():
    """(pixel + u) / 17 with u from RandomState(1).rand(1797, 64) in the original order."""
    bunch = sk_load_digits()
    u = np.random.RandomState(1).rand(1797, 64)
    want = ((bunch.data + u) / 17).astype(np.float32)
    perm = np.random.RandomState(0).permutation(1797)
    x_all, y_all = load_digits(binarize=False, dequantize=True, split="all", return_labels=True)
    np.testing.assert_array_equal(x_all.numpy(), want)
    np.testing.assert_array_equal(y_all.numpy(), bunch.target)
    for split, index in (("train", perm[:1438]), ("test", perm[1438:])):
        x, y = load_digits(binarize=False, dequantize=True, split=split, return_labels=True)
        assert x.dtype == torch.float32 and x.shape == (len(index), 64)
        np.testing.assert_array_equal(x.numpy(), want[index])  # the noise follows each digit
        np.testing.assert_array_equal(y.numpy(), bunch.target[index])
    assert float(x_all.min()) >= 0.0 and float(x_all.max()) < 1.0
    # each value stays in its pixel's cell [pixel/17, (pixel+1)/17): rounding down recovers it
    np.testing.assert_array_equal(np.floor(x_all.double().numpy() * 17 + 1e-6).clip(max=16), bunch.data)
    # not the plain grey levels, and the same values on every call
    assert not torch.allclose(x_all, load_digits(binarize=False, split="all"), atol=1e-3)
    assert torch.equal(load_digits(binarize=False, dequantize=True), load_digits(False, "train", dequantize=True))


def test_digits_dequantize_bad_combinations():
    with pytest.raises(ValueError, match="binarize=False with dequantize=True"):
        load_digits(dequantize=True)  # binarize defaults to True
    with pytest.raises(ValueError, match="dequantize=True .* binarize=True"):
        load_digits(binarize=True, dequantize=True, split="test")
    with pytest.raises(TypeError, match="dequantize must be True or False"):
        load_digits(binarize=False, dequantize=1)


# -- bars and stripes -----------------------------------------------------------------------
@pytest.mark.parametrize("side", [1, 2, 3, 4])
def test_bars_and_stripes_all_distinct(side):
    x = bars_and_stripes(side)
    assert x.dtype == torch.float32
    assert x.shape == (2 ** (side + 1) - 2, side * side)
    assert torch.unique(x, dim=0).shape[0] == x.shape[0]
    assert set(torch.unique(x).tolist()) <= {0.0, 1.0}
    img = x.reshape(-1, side, side)
    rows_constant = (img == img[:, :, :1]).all(dim=(1, 2))
    cols_constant = (img == img[:, :1, :]).all(dim=(1, 2))
    assert bool((rows_constant | cols_constant).all())


def test_bars_and_stripes_side3():
    x = bars_and_stripes(3)
    assert x.shape == (14, 9)
    # every one of the 2**9 images that is a bar or stripe pattern is present
    everything = torch.tensor([[(k >> i) & 1 for i in range(9)] for k in range(512)], dtype=torch.float32)
    img = everything.reshape(-1, 3, 3)
    keep = (img == img[:, :, :1]).all(dim=(1, 2)) | (img == img[:, :1, :]).all(dim=(1, 2))
    assert {tuple(r) for r in everything[keep].tolist()} == {tuple(r) for r in x.tolist()}
    assert torch.equal(x[1].reshape(3, 3), torch.tensor([[1.0, 1, 1], [0, 0, 0], [0, 0, 0]]))


def test_bars_and_stripes_bad_side():
    with pytest.raises(ValueError, match="side must be >= 1, got 0"):
        bars_and_stripes(0)
    with pytest.raises(TypeError, match="side must be an int"):
        bars_and_stripes(2.0)


# -- MNIST IDX files ------------------------------------------------------------------------
def idx_bytes(array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def write_idx(path, array, gz=False, **kw):
    data = idx_bytes(array, **kw)
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture
def tiny_mnist():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(5, 28, 28)).astype(np.uint8)
    images[0, 0, :3] = [127, 128, 255]
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("split, prefix", [("train", "train"), ("test", "t10k")])
def test_mnist_round_trip(tmp_path, tiny_mnist, gz, split, prefix):
    images, labels = tiny_mnist
    write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images, gz)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels, gz)
    x, y = load_mnist(tmp_path, split=split)
    assert x.shape == (5, 784) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == [3, 1, 4, 1, 5]
    np.testing.assert_allclose(x.numpy(), images.reshape(5, 784) / np.float32(255), rtol=1e-6)
    xb, _ = load_mnist(str(tmp_path), split=split, binarize=True)
    np.testing.assert_array_equal(xb.numpy(), (images.reshape(5, 784) >= 128).astype(np.float32))
    assert xb[0, :3].tolist() == [0.0, 1.0, 1.0]


def test_mnist_dequantized(tmp_path, tiny_mnist):
    """(pixel + u) / 256 with u fixed per file: the pixels come back by flooring, the values
    lie in [0, 1), two calls agree, and the two files' noise differs."""
    images, labels = tiny_mnist
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    x, _ = load_mnist(tmp_path, dequantize=True)
    assert x.dtype == torch.float32 and bool((x >= 0).all() and (x < 1).all())
    np.testing.assert_array_equal(np.floor(x.double().numpy() * 256), images.reshape(5, 784))
    assert torch.equal(x, load_mnist(tmp_path, dequantize=True)[0])
    assert not torch.equal(x, load_mnist(tmp_path, split="test", dequantize=True)[0])
    with pytest.raises(ValueError, match="pass binarize=False with dequantize=True"):
        load_mnist(tmp_path, binarize=True, dequantize=True)


def test_mnist_missing_files(tmp_path, tiny_mnist):
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                 "train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"):
        assert name in msg
    # images present, labels missing
    write_idx(tmp_path / "t10k-images-idx3-ubyte", tiny_mnist[0])
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path, split="test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_mnist_bad_magic(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels, magic_type=0x0D)  # float32 code
    with pytest.raises(ValueError, match="magic number 0x00000d01, expected 0x00000801"):
        load_mnist(tmp_path)
    # labels file swapped for an images file: wrong number of dimensions
    write_idx(tmp_path / "train-labels-idx1-ubyte", images)
    with pytest.raises(ValueError, match="magic number 0x00000803, expected 0x00000801"):
        load_mnist(tmp_path)


def test_mnist_truncated_and_inconsistent(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    full = idx_bytes(images)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(full[:-10])
    with pytest.raises(ValueError, match=r"truncated.*3920 data bytes, found 3910"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(full[:9])
    with pytest.raises(ValueError, match="16-byte header"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(full[:2])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(full + b"\x00")
    with pytest.raises(ValueError, match="longer than its header says"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", images[:4])
    with pytest.raises(ValueError, match="4 images but .* 5 labels"):
        load_mnist(tmp_path)


def test_mnist_corrupt_gzip(tmp_path, tiny_mnist):
    write_idx(tmp_path / "train-labels-idx1-ubyte", tiny_mnist[1])
    data = gzip.compress(idx_bytes(tiny_mnist[0]))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        load_mnist(tmp_path)


def test_mnist_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"split must be one of 'train', 'test', got 'all'"):
        load_mnist(tmp_path, split="all")
    with pytest.raises(TypeError, match="folder"):
        load_mnist(None)
